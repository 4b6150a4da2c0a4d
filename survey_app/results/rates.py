"""Rates from running sums: one indicator in one domain (a community, a street, the city)
as an estimate, a confidence interval and a verdict against the target.

Every figure comes from :func:`analysis.estimate_from_totals` fed with the running
``IndicatorTotal`` sums (one row per wave × indicator × building), never from the
responses themselves, so the result pages stay fast with millions of responses stored.

Design (the same for every result page, see docs/results.md): strata = 街道 (street),
PSU = 楼栋 (building), weight 1 per completed interview, domains = 社区 (community). n_h,
the PSUs of a stratum, counts every building of the street with a completed interview in
the wave — not only those of the community shown — as domain estimation requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

import analysis
from analysis.planning import best_lower_bound

from ..errors import ServiceError
from ..models import Community, IndicatorTotal, Wave, WaveStatus
from .indicators import HEADLINE, IndicatorInfo

METHOD = "korn-graubard"
VERDICT_NO_DATA = "no_data"


@dataclass(frozen=True)
class Rate:
    """One indicator in one domain, ready to say in words.

    ``verdict`` is ``met`` / ``not_met`` / ``undetermined`` or ``no_data``; ``needed_n``
    the further completed interviews that would settle an undetermined verdict;
    ``never_reason`` says why the domain cannot settle it on its own, if so (see
    :func:`_never_reason`).
    """

    indicator: IndicatorInfo
    domain: str | None
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    deff: float | None
    df: int
    verdict: str
    needed_n: int | None
    never_reason: str | None
    level: float
    target: float
    flags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.indicator.key


def totals_frame(
    *,
    session: Session,
    wave_ids: Sequence[int],
    indicators: Sequence[str] | None = None,
    community_id: int | None = None,
) -> pd.DataFrame:
    """The running sums: wave_id, indicator, community_id, street_id, building_id, n,
    positive (rows with n > 0 only)."""
    t = IndicatorTotal.__table__.c
    stmt = sa_select(
        t.wave_id, t.indicator, t.community_id, t.street_id, t.building_id, t.n, t.positive
    ).where(t.wave_id.in_(list(wave_ids)), t.n > 0)
    if indicators is not None:
        stmt = stmt.where(t.indicator.in_(list(indicators)))
    if community_id is not None:
        stmt = stmt.where(t.community_id == community_id)
    rows = session.connection().execute(stmt).all()
    columns = ["wave_id", "indicator", "community_id", "street_id", "building_id", "n", "positive"]
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    # Column-wise construction: from_records on 10,000s of Row objects is 10x slower.
    data = dict(zip(columns, zip(*rows, strict=True), strict=True))
    frame = pd.DataFrame({c: np.asarray(v) for c, v in data.items()})
    frame["indicator"] = frame["indicator"].astype(object)
    return frame


def psu_counts(
    *, session: Session, wave_ids: Sequence[int], street_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], int]:
    """n_h: buildings with at least one completed interview, per (wave, street)."""
    t = IndicatorTotal.__table__.c
    stmt = (
        sa_select(t.wave_id, t.street_id, func.count(func.distinct(t.building_id)))
        .where(t.wave_id.in_(list(wave_ids)), t.n > 0)
        .group_by(t.wave_id, t.street_id)
    )
    if street_ids is not None:
        stmt = stmt.where(t.street_id.in_(list(street_ids)))
    return {(w, s): c for w, s, c in session.connection().execute(stmt).all()}


def estimate_domains(
    parts: Sequence[tuple[pd.DataFrame, object]],
    counts: dict[tuple[int, int], int],
    *,
    level: float,
    target: float,
) -> dict[tuple[str, object], analysis.EstimateRow]:
    """Run :func:`analysis.estimate_from_totals` on sums labelled by domain.

    ``parts`` pairs a totals frame with its domain labels (a Series aligned with the frame,
    or None for the whole sample). Strata are (wave, street), so several waves can be
    estimated in one call: another wave's strata add nothing to a domain's variance.
    Returns the rows keyed by (indicator, domain label).
    """
    frames = []
    for frame, domain in parts:
        if frame.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "indicator": frame["indicator"].to_numpy(),
                    "domain": domain if domain is None else np.asarray(domain, dtype=object),
                    "stratum": _stratum(frame["wave_id"], frame["street_id"]),
                    "psu": frame["building_id"].to_numpy(),
                    "n": frame["n"].to_numpy(),
                    "sum_w": frame["n"].to_numpy(dtype=float),
                    "sum_wy": frame["positive"].to_numpy(dtype=float),
                }
            )
        )
    if not frames:
        return {}
    table = pd.concat(frames, ignore_index=True)
    n_h = pd.Series({f"{w}:{s}": c for (w, s), c in counts.items()}, dtype="int64")
    try:
        result = analysis.estimate_from_totals(
            table, psu_counts=n_h, method=METHOD, level=level, target=target
        )
    except (analysis.AnalysisInputError, ValueError) as err:
        raise ServiceError(f"无法计算估计值:{err}") from err
    return {(r.indicator, r.domain): r for r in result.rows}


def _stratum(wave_ids: pd.Series, street_ids: pd.Series) -> np.ndarray:
    return (wave_ids.astype(str) + ":" + street_ids.astype(str)).to_numpy(dtype=object)


def to_rate(
    row: analysis.EstimateRow | None,
    info: IndicatorInfo,
    *,
    domain: str | None,
    level: float,
    target: float,
    households: int | None = None,
) -> Rate:
    """An :class:`analysis.EstimateRow` (or None: no interviews) as a :class:`Rate`."""
    if row is None or row.n == 0:
        reason = _never_reason(None, None, households, level, target)
        return Rate(
            info,
            domain,
            0,
            None,
            None,
            None,
            None,
            None,
            0,
            VERDICT_NO_DATA,
            None,
            reason,
            level,
            target,
        )
    reason = None
    if row.verdict == "undetermined":
        reason = _never_reason(row.n, row.needed_n, households, level, target)
    return Rate(
        indicator=info,
        domain=domain,
        n=row.n,
        estimate=_finite(row.estimate),
        ci_low=_finite(row.ci_low),
        ci_high=_finite(row.ci_high),
        se=_finite(row.se),
        deff=_finite(row.deff),
        df=row.df,
        verdict=row.verdict,
        needed_n=row.needed_n,
        never_reason=reason,
        level=level,
        target=target,
        flags=tuple(row.flags),
    )


def _never_reason(n, needed_n, households, level, target) -> str | None:
    """Why an undetermined verdict cannot be settled by this community alone, if so:
    ``too_small`` (even every household answering yes could not show the target),
    ``beyond_households`` (more interviews needed than households) or ``never_settles``
    (the estimate sits on the target)."""
    if households is not None and best_lower_bound(max(households, 1), level=level) < target:
        return "too_small"
    if n is None:
        return None
    if needed_n is None:
        return "never_settles"
    if households is not None and n + needed_n > households:
        return "beyond_households"
    return None


def _finite(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return float(value)


def waves_with_data(*, session: Session, upto: Wave | None = None) -> list[Wave]:
    """Open and closed waves in time order (up to and including ``upto``)."""
    stmt = select(Wave).where(Wave.status != WaveStatus.DRAFT)
    waves = sorted(session.exec(stmt).all(), key=wave_order)
    if upto is not None:
        waves = [w for w in waves if wave_order(w) <= wave_order(upto)]
    return waves


def wave_order(wave: Wave) -> tuple:
    """Waves sort by start date, then creation (a wave without dates sorts by its id)."""
    return (wave.starts_on or date.max, wave.id)


def headline(catalog: Iterable[IndicatorInfo]) -> list[IndicatorInfo]:
    found = {i.key: i for i in catalog}
    return [found[k] for k in HEADLINE if k in found]


def community_rates(
    *,
    session: Session,
    community: Community,
    waves: Sequence[Wave],
    catalog: Sequence[IndicatorInfo],
    households: int | None = None,
) -> dict[int, dict[str, Rate]]:
    """Every indicator of ``catalog`` for ``community`` in each of ``waves``:
    ``{wave_id: {indicator: Rate}}``. The caller checks the user may see the community."""
    if not waves:
        return {}
    wave_ids = [w.id for w in waves]
    totals = totals_frame(
        session=session,
        wave_ids=wave_ids,
        indicators=[i.key for i in catalog],
        community_id=community.id,
    )
    counts = psu_counts(session=session, wave_ids=wave_ids, street_ids=[community.street_id])
    out: dict[int, dict[str, Rate]] = {}
    groups: dict[tuple[float, float], list[Wave]] = {}
    for w in waves:
        groups.setdefault((w.confidence, w.target), []).append(w)
    for (level, target), group in groups.items():
        ids = [w.id for w in group]
        part = totals[totals["wave_id"].isin(ids)]
        rows = estimate_domains(
            [(part, "w" + part["wave_id"].astype(str))], counts, level=level, target=target
        )
        for w in group:
            out[w.id] = {
                info.key: to_rate(
                    rows.get((info.key, f"w{w.id}")),
                    info,
                    domain=f"w{w.id}",
                    level=level,
                    target=target,
                    households=households,
                )
                for info in catalog
            }
    return out
