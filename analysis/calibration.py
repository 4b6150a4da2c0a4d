"""Variance after calibration (raking, post-stratification): regression residuals.

Calibrated weights w = g·w₀ make the weighted totals of the calibration variables M (cell
indicators of every margin) equal known population totals, so those totals carry no
sampling error. The linearised score of p̂ must then be replaced by its residual from the
w₀-weighted least-squares regression on M (Deville & Särndal 1992; Lumley's survey package
does exactly this for ``calibrate()`` designs, via ``qr.resid``):

    u_i = 1{i in domain} (y_i − p̂) / Σ_domain w,   β = (M'W₀M)⁺ M'W₀u,
    score_i = w_i (u_i − M_i β).

The regression runs over the whole sample, so a domain's residuals are non-zero wherever a
calibration cell is shared with the domain. By linearity we residualise the two unit
variables 1{domain}·y and 1{domain} once and combine them with p̂ later, which gives the
sufficient sums ``res_wy`` and ``res_w`` per (domain, PSU). M'W₀M is block diagonal over
connected groups of cells (e.g. one block per community when the margins are given per
community), so the pseudo-inverse is taken block by block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

if TYPE_CHECKING:
    from analysis.weighting import Calibration


def residual_totals(
    cal: Calibration,
    w: np.ndarray,
    valid: np.ndarray,
    wy: np.ndarray,
    domain: np.ndarray,
    psu: np.ndarray,
    n_dom: int,
    n_psu: int,
) -> pd.DataFrame:
    """PSU sums of calibration residuals for every domain and the whole sample.

    Returns
    -------
    pandas.DataFrame
        Columns ``target`` (domain code, ``n_dom`` for the whole sample), ``psu``,
        ``res_w``, ``res_wy``; only non-zero cells.
    """
    n = len(w)
    if len(cal.base_weights) != n:
        raise ValueError(
            f"calibration is for {len(cal.base_weights)} rows but the data have {n}: "
            "rake or post-stratify the same rows you estimate from"
        )
    w0 = cal.base_weights
    cells = _cell_columns(cal)
    k = cal.n_columns
    y = np.divide(wy, w, out=np.zeros(n), where=w != 0)
    # Unit-to-target incidence: each unit to its domain and to the whole sample.
    rows = np.concatenate([np.flatnonzero(domain >= 0), np.arange(n)])
    targets = np.concatenate([domain[domain >= 0], np.full(n, n_dom)])
    gram = _gram(cells, w0, k)
    pinv = _block_pinv(gram)
    per_psu = sparse.csr_matrix(
        (np.tile(w, len(cells)), (np.tile(psu, len(cells)), np.concatenate(cells))),
        shape=(n_psu, k),
    )
    out = {}
    for name, v in (("res_w", valid.astype(float)), ("res_wy", np.where(valid, y, 0.0))):
        rhs = sparse.csr_matrix(
            (
                np.tile((w0 * v)[rows], len(cells)),
                (np.concatenate([c[rows] for c in cells]), np.tile(targets, len(cells))),
            ),
            shape=(k, n_dom + 1),
        )
        beta = pinv @ rhs
        plain = sparse.csr_matrix(((w * v)[rows], (psu[rows], targets)), shape=(n_psu, n_dom + 1))
        out[name] = (plain - per_psu @ beta).tocoo()
    both = (abs(out["res_w"]) + abs(out["res_wy"])).tocoo()
    r, c = both.row, both.col
    return pd.DataFrame(
        {
            "target": c,
            "psu": r,
            "res_w": np.asarray(out["res_w"].tocsr()[r, c]).ravel(),
            "res_wy": np.asarray(out["res_wy"].tocsr()[r, c]).ravel(),
        }
    )


def residualize(cal: Calibration, u: np.ndarray) -> np.ndarray:
    """Residuals ``u - M β`` of the w₀-weighted regression of ``u`` on the cells."""
    cells = _cell_columns(cal)
    w0 = cal.base_weights
    k = cal.n_columns
    pinv = _block_pinv(_gram(cells, w0, k))
    xtwu = np.zeros(k)
    for c in cells:
        xtwu += np.bincount(c, weights=w0 * u, minlength=k)
    beta = pinv @ xtwu
    fitted = sum(beta[c] for c in cells)
    return u - fitted


def _cell_columns(cal: Calibration) -> list[np.ndarray]:
    offsets = np.cumsum((0,) + cal.n_cells[:-1])
    return [codes + off for codes, off in zip(cal.cells, offsets, strict=True)]


def _gram(cells, w0, k):
    rows = np.concatenate([a for a in cells for _ in cells])
    cols = np.concatenate([b for _ in cells for b in cells])
    vals = np.tile(w0, len(cells) ** 2)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(k, k))


def _block_pinv(gram: sparse.csr_matrix) -> sparse.csr_matrix:
    n_blocks, label = csgraph.connected_components(gram, directed=False)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n_blocks + 1))
    dense = gram.tocsr()
    rows, cols, vals = [], [], []
    for b in range(n_blocks):
        idx = order[bounds[b] : bounds[b + 1]]
        block = dense[idx][:, idx].toarray()
        inv = np.linalg.pinv(block, rcond=1e-12, hermitian=True)
        rows.append(np.repeat(idx, len(idx)))
        cols.append(np.tile(idx, len(idx)))
        vals.append(inv.ravel())
    k = gram.shape[0]
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(k, k)
    )
