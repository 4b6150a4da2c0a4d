"""The design a wave was drawn with, as estimation needs it.

For each design (docs/methodology.md, "Designs of a wave"):

============  =============  ===============  ==========================================
design        stratum        PSU              population sizes (fpc)
============  =============  ===============  ==========================================
census        community      household        N eligible households of the community
srs           community      household        N households of the community
systematic    community      household        N (treated as srs: implicit strata ignored)
upload        community      household        N when the probabilities are k/N, else none
two-stage     community      building         B buildings (equal probability); none for PPS
(none)        street         building         none (waves from before designs, weight 1)
============  =============  ===============  ==========================================

Weights: 1/π × a non-response adjustment within weighting classes community × building:
a class's eligible sampled households (released, not found vacant or ineligible) carry
Σ 1/π, spread over its respondents; a class with no respondent gives its share to the
community's other classes. So the weights of a community sum to its eligible households
(estimated; exactly N − vacant − ineligible for a census).

The running sums ``IndicatorTotal`` count respondents and yes-answers per building;
since every weight is constant within a building (π is, by construction of every design,
and the upload requires it), Σw and Σwy per building are w_b·n and w_b·yes — exact.

A closed wave's inputs are frozen (:func:`snapshot`, stored on the wave) so its figures
never change unless recomputed on request (audited).
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from flask import has_request_context, request
from sqlalchemy import Integer, cast, event, func, literal_column, null, true, union_all
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from ..models import (
    Assignment,
    AuditLog,
    Building,
    Community,
    Design,
    Household,
    IndicatorTotal,
    Response,
    ReviewEvent,
    Visit,
    VisitOutcome,
    Wave,
    WaveCommunity,
    WaveStatus,
)
from . import review

ONE_STAGE = {Design.CENSUS, Design.SRS, Design.SYSTEMATIC, Design.UPLOAD}
INELIGIBLE = (VisitOutcome.VACANT.value, VisitOutcome.INELIGIBLE.value)


@dataclass(frozen=True)
class WaveInputs:
    """Everything the estimates of one wave need (JSON-able: see :func:`snapshot`).

    ``totals``: indicator, community_id, street_id, building_id, n, positive, weight.
    ``communities``: per community id, {households N, buildings B, sampled, eligible,
    respondents, street_id}. ``design`` None for waves from before designs.
    ``street_psus``: waves from before designs, when ``totals`` holds some indicators
    only: per street, its buildings with an interview (n_h of the street strata, which
    every indicator shares); None: count them in ``totals``.
    """

    wave_id: int
    design: str | None
    pps: bool
    totals: pd.DataFrame
    communities: dict[int, dict] = field(default_factory=dict)
    street_psus: dict[int, int] | None = None
    #: What the inputs were built from — versions of the per-community counts and sums
    #: (:func:`by_community`), or the frozen stamp — equal only while they are the same
    #: (None: not kept, e.g. a rehearsal view or one community's inputs).
    stamp: tuple | None = field(default=None, compare=False)

    def psus_per_street(self) -> dict[int, int]:
        if self.street_psus is not None:
            return self.street_psus
        return _buildings_per_street(self.totals)

    @property
    def response_rates(self) -> dict[int, float | None]:
        return {
            c: (v["respondents"] / v["eligible"] if v["eligible"] else None)
            for c, v in self.communities.items()
        }


def wave_inputs(
    *,
    session: Session,
    wave: Wave,
    community_id: int | None = None,
    indicators: Sequence[str] | None = None,
) -> WaveInputs:
    """The wave's estimation inputs: frozen ones for a closed wave, live ones otherwise;
    one community's only when ``community_id`` is given (its stratum is its own, except
    in waves from before designs, whose strata are streets: then all of them); the sums of
    ``indicators`` only when given (the whole-wave facts are the same either way). In a
    rehearsal view (test data included) always live, every indicator, nothing reused."""
    if review.including_test_data():
        indicators = None
    inputs = _frozen(session, wave)
    if inputs is not None:
        keep = np.ones(len(inputs.totals), dtype=bool)
        if indicators is not None:
            keep &= inputs.totals["indicator"].isin(list(indicators)).to_numpy()
        communities = inputs.communities
        if community_id is not None and inputs.design is not None:
            keep &= (inputs.totals["community_id"] == community_id).to_numpy()
            communities = {k: v for k, v in communities.items() if k == community_id}
        if not keep.all():
            inputs = WaveInputs(
                inputs.wave_id,
                inputs.design,
                inputs.pps,
                inputs.totals[keep].reset_index(drop=True),
                communities,
                inputs.psus_per_street() if inputs.design is None else None,
                inputs.stamp,
            )
        return inputs
    if wave.design is None and community_id is not None:
        # Strata are streets: the community's street is its stratum (n_h counts every
        # building of the street), and nothing outside the street is needed; the counts
        # (respondents, eligible) only for the community itself, the one domain shown.
        street_id = session.exec(
            select(Community.street_id).where(Community.id == community_id)
        ).first()
        ids = session.exec(select(Community.id).where(Community.street_id == street_id)).all()
        return _live(
            session,
            wave,
            community_ids=list(ids) or [community_id],
            indicators=indicators,
            street_id=street_id,
            counted=[community_id],
        )
    ids = None if community_id is None else [community_id]
    return _live(session, wave, community_ids=ids, indicators=indicators)


def _frozen_stamp(session: Session, wave: Wave) -> tuple:
    """What changes when a closed wave's frozen inputs may: closing and recomputing both
    set ``frozen_at`` (on the wave's row, already read), so neither the stored snapshot —
    megabytes of JSON at city scale — nor anything else is read to find out; new
    interviews, reviews and sign-ins (audited) leave it alone."""
    return (wave.status, wave.closed_at, wave.frozen_at)


def _frozen(session: Session, wave: Wave) -> WaveInputs | None:
    """A closed wave's frozen inputs (None: not closed, or closed without a snapshot),
    parsed once while :func:`_frozen_stamp` stays the same."""
    if wave.status not in (WaveStatus.CLOSED, WaveStatus.ARCHIVED):
        return None
    if review.including_test_data():  # a rehearsal view: live
        return None
    return _remember(
        session,
        (wave.id, "frozen"),
        _frozen_stamp(session, wave),
        lambda: (
            replace(from_snapshot(wave.frozen), stamp=("frozen", *frozen_key(wave)))
            if wave.frozen
            else None
        ),
        None,
    )


def is_frozen(session: Session, wave: Wave) -> bool:
    """The wave is closed with its inputs frozen (figures come from the snapshot)."""
    return _frozen(session, wave) is not None


def snapshot(*, session: Session, wave: Wave) -> dict:
    """The wave's inputs as JSON (stored on the wave at close), counted afresh."""
    return to_snapshot(_live(session, wave, fresh=True))


def to_snapshot(inputs: WaveInputs) -> dict:
    """``inputs`` as JSON: a missing number (NaN, e.g. the building size of a wave from
    before designs) is null — PostgreSQL's JSON has no NaN."""

    def plain(column: pd.Series) -> list:
        if pd.api.types.is_float_dtype(column):
            return [None if v != v else v for v in column.tolist()]
        return column.tolist()

    return {
        "wave_id": inputs.wave_id,
        "design": inputs.design,
        "pps": inputs.pps,
        "totals": {c: plain(inputs.totals[c]) for c in inputs.totals.columns},
        "communities": {str(k): v for k, v in inputs.communities.items()},
        "responses": int(sum(v["respondents"] for v in inputs.communities.values())),
    }


def _snapshot_column(values: list):
    """One column of a snapshot's totals, with the dtype ``pd.DataFrame`` would infer
    from the list, built faster (a closed wave's snapshot is parsed on the first result
    page after a restart: 75,000 rows a wave at city scale, ~60 -> ~25 ms): numbers
    through numpy, text with the dtype pandas infers for one of its values."""
    if values and all(type(v) is str for v in values):
        return pd.Series(values, dtype=pd.Series(values[:1]).dtype)
    array = np.array(values)
    # Anything else (None among floats, bools, huge ints): pandas infers as before.
    return array if array.dtype.kind in "if" else values


def from_snapshot(data: dict) -> WaveInputs:
    totals = pd.DataFrame({c: _snapshot_column(v) for c, v in data["totals"].items()})
    for column in ("weight", "building_size"):  # null: NaN again
        if column in totals.columns:
            totals[column] = totals[column].astype(float)
    if totals.empty:
        totals = _empty_totals()
    return WaveInputs(
        wave_id=data["wave_id"],
        design=data["design"],
        pps=bool(data.get("pps")),
        totals=totals,
        communities={int(k): v for k, v in data["communities"].items()},
    )


def _empty_totals() -> pd.DataFrame:
    cols = ["indicator", "community_id", "street_id", "building_id", "n", "positive", "weight"]
    return pd.DataFrame({c: [] for c in cols})


def _live(
    session: Session,
    wave: Wave,
    community_ids: list[int] | None = None,
    indicators: Sequence[str] | None = None,
    street_id: int | None = None,
    fresh: bool = False,
    counted: list[int] | None = None,
) -> WaveInputs:
    """Live inputs of the whole wave, or of ``community_ids`` only (all of ``street_id``:
    read through the (wave, street) index). The whole wave's sums and counts are kept per
    community (:func:`by_community`) unless ``fresh``; ``counted``: the communities whose
    counts are needed (default all of ``community_ids``)."""
    whole = community_ids is None and not fresh and not review.including_test_data()
    stamp = None
    sums = None
    if whole:
        sums, version = _kept_sums(session, wave, indicators)
        totals = _assemble(sums, indicators)
        communities, counted_version = _kept_counts(session, wave)
        stamp = (version, counted_version)
    else:
        totals = _read_totals(session, wave, community_ids, indicators, street_id)
        communities = _communities(session, wave, counted or community_ids)
    community_id = community_ids[0] if community_ids is not None else None
    if wave.design is None:
        totals["weight"] = 1.0
        totals["building_size"] = np.nan
    else:
        if community_id is None and not fresh:
            weights, sizes = {}, {}
            per, weights_version = _kept_weights(session, wave)
            stamp = None if stamp is None or weights_version is None else (*stamp, weights_version)
            for w, m in per.values():
                weights.update(w)
                sizes.update(m)
        else:
            weights, sizes = _class_weights(
                session, wave, None if community_id is None else [community_id]
            )
        keys = list(zip(totals["community_id"], totals["building_id"], strict=True))
        totals["weight"] = [weights.get(k, np.nan) for k in keys]
        totals["building_size"] = [float(sizes.get(k, np.nan)) for k in keys]
        totals = totals[np.isfinite(totals["weight"].astype(float))]
    street_psus = None
    if wave.design is None and indicators is not None:
        if sums is not None:  # kept per community too; a building is in one community
            psus, psus_version = _kept_psus(session, wave)
            stamp = None if stamp is None else (*stamp, psus_version)
            street_psus = {}
            for part in psus.values():
                for sid, count in part.items():
                    street_psus[sid] = street_psus.get(sid, 0) + count
        else:
            street_psus = _street_psus(session, wave, street_id)
    if stamp is not None and None in stamp:
        stamp = None
    return WaveInputs(
        wave_id=wave.id,
        design=wave.design,
        pps=bool((wave.design_options or {}).get("pps", wave.design == Design.TWO_STAGE)),
        totals=totals.reset_index(drop=True),
        communities=communities,
        street_psus=street_psus,
        # The wave's settings and rule are in the versions: a change of them counts anew.
        stamp=stamp,
    )


def live_stamp(
    session: Session, wave: Wave, indicators: Sequence[str] | None = None
) -> tuple | None:
    """The :attr:`WaveInputs.stamp` the whole wave's live inputs of ``indicators`` would
    have now (None: not kept — a rehearsal view), without building them: what they give
    is reused under it."""
    if review.including_test_data():
        return None
    stamp = (_kept_sums(session, wave, indicators)[1], _kept_counts(session, wave)[1])
    if wave.design is not None:
        stamp = (*stamp, _kept_weights(session, wave)[1])
    elif indicators is not None:
        stamp = (*stamp, _kept_psus(session, wave)[1])
    return None if None in stamp else stamp


def _kept_sums(session: Session, wave: Wave, indicators: Sequence[str] | None):
    # Kept per community: after an interview only its community's sums are read again.
    key = None if indicators is None else tuple(indicators)
    return by_community_versioned(
        session, wave, ("sums", key), lambda ids: _sums_of(session, wave, ids, key)
    )


def _kept_psus(session: Session, wave: Wave):
    return by_community_versioned(session, wave, "psus", lambda ids: _psus_of(session, wave, ids))


def _kept_counts(session: Session, wave: Wave):
    return by_community_versioned(
        session, wave, "communities", lambda ids: _communities(session, wave, ids)
    )


def _kept_weights(session: Session, wave: Wave):
    return by_community_versioned(
        session, wave, "weights", lambda ids: _weights_of(session, wave, ids)
    )


_TOTALS_COLUMNS = ["indicator", "community_id", "street_id", "building_id", "n", "positive"]


def _read_totals(session, wave, community_ids, indicators, street_id) -> pd.DataFrame:
    """The running sums of the wave (of ``community_ids``, ``indicators``, ``street_id``
    when given), as read; with the test data's in a rehearsal view."""
    t = IndicatorTotal
    stmt = select(t.indicator, t.community_id, t.street_id, t.building_id, t.n, t.positive).where(
        _wave_of_sums(wave, by_community=community_ids is not None and street_id is None),
        t.n > 0,
    )
    if street_id is not None:
        stmt = stmt.where(t.street_id == street_id)
    if community_ids is not None:
        stmt = stmt.where(t.community_id.in_(community_ids))
    if indicators is not None:
        stmt = stmt.where(t.indicator.in_(list(indicators)))
    rows = session.connection().execute(stmt).all()
    if review.including_test_data():  # a rehearsal view: the test data's sums as well
        from . import rehearse

        rows = rehearse.with_test_totals(session, wave, rows, community_ids)
    if rows:  # by columns: a frame from a list of result rows is ten times slower
        return pd.DataFrame(dict(zip(_TOTALS_COLUMNS, zip(*rows, strict=True), strict=True)))
    return _empty_totals().drop(columns="weight")


def _wave_of_sums(wave: Wave, *, by_community: bool):
    """``indicatortotal.wave_id = ?``; for a few communities' rows written so that no
    index can serve it (``wave_id + 0``): SQLite, without statistics, would otherwise
    scan the wave's (wave, street, building) index — all 75,000 rows of a city-scale
    wave (65 ms) — rather than look the communities up in theirs (~150 rows each)."""
    column = IndicatorTotal.wave_id
    return (column + 0 if by_community else column) == wave.id


@dataclass(frozen=True)
class _Sums:
    """One community's running sums (of some indicators), ordered by indicator then
    building; ``spans``: each indicator's rows."""

    street_id: np.ndarray
    building_id: np.ndarray
    n: np.ndarray
    positive: np.ndarray
    spans: dict[str, tuple[int, int]]


def _sums_of(
    session: Session,
    wave: Wave,
    community_ids: list[int] | None,
    indicators: Sequence[str] | None = None,
) -> dict[int, _Sums]:
    """Per community (of ``community_ids``, or all) its :class:`_Sums` of ``indicators``
    (None: all). Ordered by value, not as read, so that a community read alone gives what
    the whole wave read gives."""
    t = IndicatorTotal
    stmt = select(t.community_id, t.indicator, t.street_id, t.building_id, t.n, t.positive).where(
        _wave_of_sums(wave, by_community=community_ids is not None), t.n > 0
    )
    if community_ids is not None:
        stmt = stmt.where(t.community_id.in_(community_ids))
    if indicators is not None:
        stmt = stmt.where(t.indicator.in_(list(indicators)))
    rows = session.connection().execute(stmt).all()
    if not rows:
        return {}
    comm, ind, street, building, n, positive = (np.asarray(c) for c in zip(*rows, strict=True))
    codes, names = pd.factorize(ind, sort=True)
    building = building.astype(np.int64)
    order = np.lexsort((building, codes, comm.astype(np.int64)))
    comm, codes, street = comm[order], codes[order], street[order].astype(np.int64)
    building, n, positive = (
        building[order],
        n[order].astype(np.int64),
        positive[order].astype(np.int64),
    )
    out = {}
    starts = np.flatnonzero(np.r_[True, comm[1:] != comm[:-1]])
    ends = np.r_[starts[1:], len(comm)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        c = codes[a:b]
        cut = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        stop = np.r_[cut[1:], b - a]
        spans = {str(names[c[i]]): (int(i), int(j)) for i, j in zip(cut, stop, strict=True)}
        out[int(comm[a])] = _Sums(
            street_id=street[a:b].copy(),
            building_id=building[a:b].copy(),
            n=n[a:b].copy(),
            positive=positive[a:b].copy(),
            spans=spans,
        )
    return out


def _psus_of(session: Session, wave: Wave, community_ids: list[int] | None) -> dict[int, dict]:
    """Per community (of ``community_ids``, or all): its buildings with an interview
    (any indicator) per street — n_h of a street stratum is the sum over its communities,
    a building being in one — for waves from before designs, whose sums are read one
    indicator at a time."""
    t = IndicatorTotal
    stmt = (
        select(t.community_id, t.street_id, func.count(func.distinct(t.building_id)))
        .where(_wave_of_sums(wave, by_community=community_ids is not None), t.n > 0)
        .group_by(t.community_id, t.street_id)
    )
    if community_ids is not None:
        stmt = stmt.where(t.community_id.in_(community_ids))
    out: dict[int, dict] = {}
    for cid, sid, count in session.connection().execute(stmt).all():
        out.setdefault(int(cid), {})[int(sid)] = int(count)
    return out


def _assemble(sums: dict[int, _Sums], indicators: Sequence[str] | None) -> pd.DataFrame:
    """The totals frame of ``indicators`` (None: all) from the kept sums, in one order
    (community, then indicator as asked or by name, then building) whatever was read
    when: the same sums give the same frame, and the same figures to the last bit."""
    names, comms, streets, lengths = [], [], [], []
    buildings, ns, positives = [], [], []
    for cid in sorted(sums):
        part = sums[cid]
        for name in indicators if indicators is not None else sorted(part.spans):
            span = part.spans.get(name)
            if span is None:
                continue
            a, b = span
            names.append(name)
            comms.append(cid)
            streets.append(part.street_id[a:b])
            lengths.append(b - a)
            buildings.append(part.building_id[a:b])
            ns.append(part.n[a:b])
            positives.append(part.positive[a:b])
    if not lengths:
        return _empty_totals().drop(columns="weight")
    lengths = np.asarray(lengths, dtype=np.int64)
    return pd.DataFrame(
        {
            "indicator": np.repeat(np.asarray(names, dtype=object), lengths),
            "community_id": np.repeat(np.asarray(comms, dtype=np.int64), lengths),
            "street_id": np.concatenate(streets),
            "building_id": np.concatenate(buildings),
            "n": np.concatenate(ns),
            "positive": np.concatenate(positives),
        }
    )


def _buildings_per_street(totals: pd.DataFrame) -> dict[int, int]:
    seen = totals.groupby("street_id")["building_id"].nunique()
    return {int(k): int(v) for k, v in seen.items()}


def _street_psus(session: Session, wave: Wave, street_id: int | None = None) -> dict[int, int]:
    """Buildings with an interview per street (all indicators; the (wave, street,
    building, n) index answers it alone)."""
    t = IndicatorTotal
    stmt = (
        select(t.street_id, func.count(func.distinct(t.building_id)))
        .where(t.wave_id == wave.id, t.n > 0)
        .group_by(t.street_id)
    )
    if street_id is not None:
        stmt = stmt.where(t.street_id == street_id)
    return {int(k): int(v) for k, v in session.connection().execute(stmt).all()}


# --- whole-wave counts, reused while nothing changed -------------------------------------

#: Seconds whole-wave counts are reused at most, for changes made in place that the
#: fingerprint does not see (a household taken off the frame, a retention purge).
FRESH_FOR = 120.0
_cache_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per engine


def fingerprint(session: Session, wave: Wave) -> tuple:
    """What changes whenever a whole-wave count may: the largest ids of interviews, review
    steps (every approval, rejection and resubmission adds one), visits, assignments,
    households and audit entries (primary-key look-ups, not counts), the wave's released
    replicates, frame, design, target and level, and its counting rule (closing or
    recomputing a wave's frozen inputs writes the audit log)."""
    newest = [
        select(func.max(model.id)).scalar_subquery()
        for model in (Response, ReviewEvent, Visit, Assignment, Household, AuditLog)
    ]
    ids = tuple(session.connection().execute(select(*newest)).one())
    _log_marks(session, ids)
    return (*ids, *_wave_facts(session, wave))


def _wave_facts(session: Session, wave: Wave) -> tuple:
    """The wave's settings and counting rule: any change recounts everything."""
    rule = _memo(session, ("rule", wave.id), lambda: review.counts_rule(session, wave.id))
    return (wave.released, wave.frame_hash, wave.status, wave.closed_at, wave.design,
            wave.target, wave.confidence, repr(wave.design_options), rule)  # fmt: skip


def cached(session: Session, wave: Wave, name: str, compute: Callable[[], object]):
    """``compute()`` for a whole-wave count ``name``, reused while :func:`fingerprint`
    is unchanged and for at most :data:`FRESH_FOR` seconds: at 1,000,000 interviews the
    counts cost hundreds of milliseconds a page, the fingerprint a few look-ups."""
    return _remember(session, (wave.id, name), fingerprint(session, wave), compute, FRESH_FOR)


def kept(session: Session, wave: Wave, name, key: tuple, compute: Callable[[], object]):
    """``compute()`` reused while ``key`` — e.g. the :attr:`WaveInputs.stamp` it is
    built from — is the same, for at most :data:`FRESH_FOR` seconds."""
    return _remember(session, (wave.id, name), key, compute, FRESH_FOR)


def frozen_key(wave: Wave) -> tuple:
    """What a closed wave's figures from its frozen inputs depend on: the snapshot (its
    stamp), the wave's target, level and design."""
    return (wave.status, wave.closed_at, wave.frozen_at, wave.target, wave.confidence,
            wave.design)  # fmt: skip


def frozen_cached(session: Session, wave: Wave, name, compute: Callable[[], object]):
    """``compute()`` for figures of a closed wave's frozen inputs (:func:`snapshot`): they
    change only with the snapshot, the wave's target and level — the key — so no query."""
    return _remember(session, (wave.id, "frozen", name), frozen_key(wave), compute, None)


# --- per-community counts of the whole wave, brought up to date community by community ---

#: Seconds between a row taking its id and its transaction committing, at most: on
#: PostgreSQL a row with a smaller id than the newest one seen may still appear that long
#: after (sequences hand out ids before commit), so changes are looked for again over that
#: window. SQLite has one writer at a time: its rows appear in id order (0).
SETTLE = 60.0
#: Seconds per-community counts are kept at most before a full recount (a backstop for a
#: change made in place that neither a new row nor the audit log shows).
RECOUNT_EVERY = 600.0
#: More changed communities than this: one grouped count of the wave is cheaper.
MAX_CHANGED = 50
#: Audited actions whose effect on the counts shows as new rows of the tables
#: :func:`_new_rows` reads (interviews, visits, review steps, assignments,
#: households) — or that have none; any other audited action recounts everything.
ROW_ACTIONS = frozenset({
    "submit", "record", "resubmit", "review_approve", "review_reject", "review_reopen",
    "record_backcheck", "draw_backchecks", "wave.assign", "wave.reassign", "export",
    "feedback.advance", "sign-in", "sign-in-failed", "sign-out", "change-password", "lock",
})  # fmt: skip
_marks_logs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per engine
_versions = itertools.count(1)  # process-wide: a version is never reused


@dataclass
class _PerCommunity:
    facts: tuple
    counted_at: float  # the last full count
    marks: tuple  # the newest ids when last brought up to date
    settled: tuple | None  # every row with ids up to these is reflected (None: unknown)
    data: dict
    seen: frozenset = frozenset()  # (table number, id) of rows after ``settled`` counted
    version: int = 0  # a new number whenever ``data`` may have changed


def _log_marks(session: Session, marks: tuple) -> None:
    """Remember when the newest ids were seen, for :func:`_settled_marks`."""
    engine = session.get_bind()
    now = time.monotonic()
    with _cache_lock:
        log = _marks_logs.setdefault(engine, [])
        if not log or log[-1][1] != marks:
            log.append((now, marks))
        while len(log) > 1 and log[1][0] <= now - SETTLE:
            log.pop(0)  # the next one is old enough: this one is never needed again


def _settled_marks(session: Session) -> tuple | None:
    """Newest ids seen at least :data:`SETTLE` seconds ago: every row up to them is
    committed by now. None when this process has not been looking that long."""
    now = time.monotonic()
    engine = session.get_bind()
    settle = 0.0 if engine.dialect.name == "sqlite" else SETTLE
    with _cache_lock:
        log = _marks_logs.get(engine, [])
        old = [marks for t, marks in log if t <= now - settle]
    return old[-1] if old else None


_MEMO = "survey_app.fieldwork.design"


def _memo(session: Session, key, compute: Callable[[], object]):
    """``compute()`` once per request (and transaction of ``session``, and what it has
    flushed): the newest ids, the rows after them and the counting rule are looked up once
    for all of a page's per-community counts, each of which asks for them (~15 round trips
    a view on PostgreSQL). Outside a request — commands, tests — every time."""
    if not has_request_context():
        return compute()
    scope = (request._get_current_object(), session.get_transaction())
    memo = session.info.get(_MEMO)
    if memo is None or memo[0] != scope or scope[1] is None:
        value = compute()
        # compute() may have begun the transaction: the scope is the one it ran in.
        session.info[_MEMO] = ((scope[0], session.get_transaction()), {key: value})
        return value
    if key not in memo[1]:
        memo[1][key] = compute()
    return memo[1][key]


@event.listens_for(OrmSession, "after_flush")
def _forget_memo(session, flush_context) -> None:
    session.info.pop(_MEMO, None)


def _newest_ids(session: Session) -> tuple:
    """The newest id of interviews, review steps, visits, assignments, households and
    audit entries (0: none), logged for :func:`_settled_marks`."""

    def look() -> tuple:
        ids = tuple(x or 0 for x in session.connection().execute(select(*[
            select(func.max(model.id)).scalar_subquery()
            for model in (Response, ReviewEvent, Visit, Assignment, Household, AuditLog)
        ])).one())  # fmt: skip
        _log_marks(session, ids)
        return ids

    return _memo(session, "ids", look)


def _new_rows(session: Session, since: tuple) -> tuple[list, list]:
    """Rows after the ids ``since`` (range scans of the primary keys): (table number, id,
    community, wave) of interviews, review steps, visits, assignments and households, and
    (id, action) of audit entries."""
    r, e, v, a, h, log = (x or 0 for x in since)
    audits = (
        session.connection()
        .execute(select(AuditLog.id, AuditLog.action).where(AuditLog.id > log))
        .all()
    )
    # The wave is checked by the caller, not in SQL: SQLite, without statistics, would
    # otherwise read the wave's rows to find the few new ones.
    parts = [
        select(literal_column("0"), Response.id, Response.community_id, Response.wave_id).where(
            Response.id > r
        ),
        select(literal_column("1"), ReviewEvent.id, Response.community_id, Response.wave_id)
        .join(Response, ReviewEvent.response_id == Response.id)
        .where(ReviewEvent.id > e),
        select(literal_column("2"), Visit.id, Assignment.community_id, Assignment.wave_id)
        .join(Assignment, Visit.assignment_id == Assignment.id)
        .where(Visit.id > v),
        select(
            literal_column("3"), Assignment.id, Assignment.community_id, Assignment.wave_id
        ).where(Assignment.id > a),
        select(
            literal_column("4"), Household.id, Household.community_id, cast(null(), Integer)
        ).where(Household.id > h),
    ]
    return session.connection().execute(union_all(*parts)).all(), audits


def by_community(
    session: Session,
    wave: Wave,
    name,
    compute: Callable[[list[int] | None], dict[int, object]],
) -> dict[int, object]:
    """:func:`by_community_versioned` without the version."""
    return by_community_versioned(session, wave, name, compute)[0]


def by_community_versioned(
    session: Session,
    wave: Wave,
    name,
    compute: Callable[[list[int] | None], dict[int, object]],
) -> tuple[dict[int, object], int | None]:
    """Whole-wave counts kept per community, and their version — a number that changes
    whenever they may have (a community counted again, a full count), so that what is
    built from them can be kept under it (None in a rehearsal view: nothing kept).

    ``compute(None)`` counts every community,
    ``compute(ids)`` only those (its answer has no entry for one with nothing to count).
    Counted in full once, then only the communities a new row since points to are counted
    again (:func:`_new_rows`, index-backed ``WHERE community_id IN …``); in
    full again when the wave's settings or counting rule change, an audited action may
    have changed counts in place, many communities changed, or after
    :data:`RECOUNT_EVERY` seconds. Not kept in a rehearsal view."""
    if review.including_test_data():
        return compute(None), None
    ids = _newest_ids(session)
    facts = _wave_facts(session, wave)
    engine = session.get_bind()
    slot = (wave.id, "by community", name)
    now = time.monotonic()
    with _cache_lock:
        store = _caches.setdefault(engine, OrderedDict())
        entry = store.get(slot)
        if entry is not None:
            store.move_to_end(slot)
    settled = _settled_marks(session)
    usable = entry is not None and entry.facts == facts and now - entry.counted_at < RECOUNT_EVERY
    if usable and entry.marks == ids and entry.settled in (None, ids):
        # Nothing new (in a process's first SETTLE seconds: as far as it can tell).
        return entry.data, entry.version
    if usable and entry.settled is not None:
        rows, audits = _memo(
            session, ("new", entry.settled), lambda: _new_rows(session, entry.settled)
        )
        unknown = any(
            action not in ROW_ACTIONS and not action.startswith("held.")
            for i, action in audits
            if (5, i) not in entry.seen
        )
        changed = {
            int(c)
            for t, i, c, w in rows
            if (t, i) not in entry.seen and w in (wave.id, None) and c is not None
        }
        if not unknown and len(changed) <= MAX_CHANGED:
            data, version = entry.data, entry.version
            if changed:  # a new dict: the one handed out before stays as it was
                data, version = dict(entry.data), next(_versions)
                fresh = compute(sorted(changed))
                for cid in changed:
                    if cid in fresh:
                        data[cid] = fresh[cid]
                    else:
                        data.pop(cid, None)
            # Rows up to the ids seen SETTLE seconds ago were committed before this scan;
            # those after them already looked at are remembered, not recounted again.
            keep = _each(max, entry.settled, settled) if settled is not None else entry.settled
            keep = _each(min, keep, ids)
            seen = frozenset((t, i) for t, i, _, _ in rows if i > keep[t]) | frozenset(
                (5, i) for i, _ in audits if i > keep[5]
            )
            done = _PerCommunity(facts, entry.counted_at, ids, keep, data, seen, version)
            _store_entry(engine, slot, done)
            return data, version
    seen: frozenset = frozenset()
    if settled is not None:
        # The rows after ``settled`` seen now are in the count below: not recounted next.
        settled = _each(min, settled, ids)
        rows, audits = _memo(session, ("new", settled), lambda: _new_rows(session, settled))
        seen = frozenset((t, i) for t, i, _, _ in rows) | frozenset((5, i) for i, _ in audits)
    data = compute(None)
    version = next(_versions)
    _store_entry(engine, slot, _PerCommunity(facts, now, ids, settled, data, seen, version))
    return data, version


def _each(pick, a: tuple, b: tuple) -> tuple:
    """``pick`` (min or max) of two tuples of newest ids, id by id (None: no row, 0)."""
    return tuple(pick(x or 0, y or 0) for x, y in zip(a, b, strict=True))


def _store_entry(engine, slot, entry) -> None:
    with _cache_lock:
        store = _caches.setdefault(engine, OrderedDict())
        store[slot] = entry
        store.move_to_end(slot)
        while len(store) > _CACHE_ENTRIES:
            store.popitem(last=False)


_CACHE_ENTRIES = 4096  # per engine: every community's page of a few waves


def _remember(session: Session, slot, key, compute, fresh_for: float | None):
    if review.including_test_data():  # a rehearsal view's figures are never kept
        return compute()
    engine = session.get_bind()
    now = time.monotonic()
    with _cache_lock:
        store = _caches.setdefault(engine, OrderedDict())
        hit = store.get(slot)
        if hit is not None and hit[0] == key and (fresh_for is None or now - hit[1] < fresh_for):
            store.move_to_end(slot)
            return hit[2]
    value = compute()
    with _cache_lock:
        store = _caches.setdefault(engine, OrderedDict())
        store[slot] = (key, now, value)
        store.move_to_end(slot)
        while len(store) > _CACHE_ENTRIES:
            store.popitem(last=False)
    return value


#: Up to this many communities, :func:`_communities` counts ineligible households from
#: their assignments; beyond, from the ineligible visits (fewer rows than a wave's sample).
_FEW_COMMUNITIES = 20


def _communities(
    session: Session, wave: Wave, community_ids: list[int] | None = None
) -> dict[int, dict]:
    """Per community (of ``community_ids``, or all): N, B (from the draw), sampled,
    eligible and respondents."""
    out: dict[int, dict] = {}
    streets = dict(session.exec(select(Community.id, Community.street_id)).all())
    only = WaveCommunity.community_id.in_(community_ids) if community_ids is not None else true()
    for wc in session.exec(select(WaveCommunity).where(WaveCommunity.wave_id == wave.id, only)):
        out[wc.community_id] = {"households": wc.households, "buildings": wc.buildings}
    released = Assignment.released if wave.design is not None else Assignment.id.is_not(None)
    if community_ids is not None:
        released = released & Assignment.community_id.in_(community_ids)
    sampled = dict(
        session.exec(
            select(Assignment.community_id, func.count())
            .where(Assignment.wave_id == wave.id, released)
            .group_by(Assignment.community_id)
        ).all()
    )
    if community_ids is not None and len(community_ids) <= _FEW_COMMUNITIES:
        # A few communities: their assignments by index, each probed for such a visit.
        stmt = (
            select(Assignment.community_id, func.count(func.distinct(Assignment.id)))
            .join(Visit, Visit.assignment_id == Assignment.id)
            .where(Assignment.wave_id == wave.id, released, Visit.outcome.in_(INELIGIBLE))
        )
    else:
        # Many or all: from the few vacant/ineligible visits (ix_visit_outcome) to their
        # assignments by key; driven from the assignments, SQLite probed the visit index
        # for each of a wave's 500,000 (0.5 s), this reads ~15,000 entries (~25 ms).
        bad = select(Visit.assignment_id).where(Visit.outcome.in_(INELIGIBLE)).distinct().subquery()
        stmt = (
            select(Assignment.community_id, func.count())
            .select_from(bad)
            .join(Assignment, Assignment.id == bad.c.assignment_id)
            .where(Assignment.wave_id == wave.id, released)
        )
    ineligible = dict(session.exec(stmt.group_by(Assignment.community_id)).all())
    respondents = dict(
        session.exec(
            select(Response.community_id, func.count())
            .where(
                Response.wave_id == wave.id,
                review.counted_condition(wave.id),
                Response.community_id.in_(community_ids) if community_ids is not None else true(),
            )
            .group_by(Response.community_id)
        ).all()
    )
    for cid in set(out) | set(sampled) | set(respondents):
        entry = out.setdefault(cid, {"households": 0, "buildings": 0})
        entry["street_id"] = streets.get(cid)
        entry["sampled"] = int(sampled.get(cid, 0))
        entry["eligible"] = int(sampled.get(cid, 0) - ineligible.get(cid, 0))
        entry["respondents"] = int(respondents.get(cid, 0))
    if wave.design is None:  # no frame snapshot: today's frame
        for cid, n in household_counts(session=session, community_ids=list(out)).items():
            out[cid]["households"] = int(n)
    return out


def _weights_of(session: Session, wave: Wave, community_ids: list[int] | None) -> dict:
    """:func:`_class_weights` per community: {community id: (weights, sizes)}."""
    weights, sizes = _class_weights(session, wave, community_ids)
    out: dict[int, tuple[dict, dict]] = {}
    for key, w in weights.items():
        out.setdefault(key[0], ({}, {}))[0][key] = w
    for key, m in sizes.items():
        out.setdefault(key[0], ({}, {}))[1][key] = m
    return out


def _class_weights(session: Session, wave: Wave, community_ids: list[int] | None = None):
    """w = 1/π × eligible Σ1/π / respondents' Σ1/π, per (community, building) class;
    and M_b, the households of each building at the draw (two-stage). Each community's
    are its own (classes lie within a community)."""
    only = Assignment.community_id.in_(community_ids) if community_ids is not None else true()
    rows = session.exec(
        select(
            Assignment.id,
            Assignment.community_id,
            Household.building_id,
            Assignment.inclusion_prob,
            Assignment.pool_size,
        )
        .join(Household, Assignment.household_id == Household.id)
        .where(Assignment.wave_id == wave.id, Assignment.released, only)
    ).all()
    if not rows:
        return {}, {}
    frame = pd.DataFrame(rows, columns=["id", "community_id", "building_id", "prob", "pool"])
    frame["base"] = 1.0 / frame["prob"].astype(float)
    bad = set(
        session.exec(
            select(Visit.assignment_id)
            .join(Assignment, Visit.assignment_id == Assignment.id)
            .where(Assignment.wave_id == wave.id, Visit.outcome.in_(INELIGIBLE), only)
        ).all()
    )
    mine = Response.community_id.in_(community_ids) if community_ids is not None else true()
    answered = set(
        session.exec(
            select(Response.assignment_id).where(
                Response.wave_id == wave.id, review.counted_condition(wave.id), mine
            )
        ).all()
    )
    frame["eligible"] = ~frame["id"].isin(bad - answered)
    frame["responded"] = frame["id"].isin(answered)
    frame["e"] = frame["base"].where(frame["eligible"], 0.0)
    frame["r"] = frame["base"].where(frame["responded"], 0.0)
    cls = frame.groupby(["community_id", "building_id"]).agg(
        e=("e", "sum"), r=("r", "sum"), base=("base", "first"), pool=("pool", "max")
    )
    sizes = {(int(c), int(b)): v for (c, b), v in cls["pool"].items()}
    out = {}
    for _, part in cls.groupby(level=0):
        covered = part.loc[part["r"] > 0, "e"].sum()
        if covered <= 0:
            continue
        spread = part["e"].sum() / covered  # classes without respondents: to the others
        for (c, b), row in part[part["r"] > 0].iterrows():
            out[(int(c), int(b))] = float(row["base"] * row["e"] / row["r"] * spread)
    return out, sizes


# --- the analysis totals -------------------------------------------------------------


def estimation_table(inputs: WaveInputs, domain: pd.Series | None) -> pd.DataFrame:
    """Per-PSU sums for :func:`analysis.estimate_from_totals` on the wave's design.

    ``domain``: a label per row of ``inputs.totals`` (None: the whole sample; numbers
    with NaN for the whole sample keep the table numeric, which ``analysis`` factorises
    several times faster than text). One-stage designs have the household as PSU: a
    building's n respondents are its households' scores, the alike ones one row with a
    ``copies`` count (:func:`_household_rows`). Strata are numbered :func:`stratum_code`.
    ``sum_y`` (the unweighted yes count) lets ``analysis`` bound the rate by what the
    households not heard from allow, whatever the weights."""
    t = inputs.totals
    if t.empty:
        return pd.DataFrame()
    if domain is None:
        dom = np.full(len(t), np.nan)
    elif pd.api.types.is_numeric_dtype(domain):
        dom = np.asarray(domain, dtype=float)
    else:
        dom = np.asarray(domain, dtype=object)
    w = t["weight"].to_numpy(float)
    n = t["n"].to_numpy(np.int64)
    yes = t["positive"].to_numpy(np.int64)
    if inputs.design is None:
        return pd.DataFrame(
            {
                "indicator": t["indicator"].to_numpy(object),
                "domain": dom,
                "stratum": stratum_code(inputs.wave_id, t["street_id"].to_numpy(np.int64)),
                "psu": t["building_id"].to_numpy(),
                "n": n,
                "sum_w": n * w,
                "sum_wy": yes * w,
                "sum_y": yes,
            }
        )
    stratum = stratum_code(inputs.wave_id, t["community_id"].to_numpy(np.int64))
    if inputs.design == Design.TWO_STAGE:
        return pd.DataFrame(
            {
                "indicator": t["indicator"].to_numpy(object),
                "domain": dom,
                "stratum": stratum,
                "psu": t["building_id"].to_numpy(),
                "n": n,
                "sum_w": n * w,
                "sum_wy": yes * w,
                "sum_w2": n * w * w,
                "sum_y": yes,  # unweighted: the bounds a known N sets
                # Within-building variance (R's multistage): households are the SSUs.
                "ssu_aa": yes * w * w,
                "ssu_ab": yes * w * w,
                "ssu_bb": n * w * w,
                "ssu_n": n.astype(float),
                "ssu_pop": t["building_size"].to_numpy(float),
            }
        )
    return _household_rows(t, dom, stratum, w, n, yes)


def _household_rows(t, dom, stratum, w, n, yes) -> pd.DataFrame:
    """One-stage designs: household PSUs, alike ones collapsed into one row with ``copies``.

    Within a building the i-th respondent (0-based) of an indicator answered it when
    i < n and said yes when i < yes (the running sums keep no more, and the estimate
    needs no more: the weight is the building's). So the households of a building fall
    into runs between the breakpoints {0, yes, n of each indicator}, every household of a
    run alike in every column; a run is one PSU label (building × 100000 + its first
    household) standing for its length in households. ``analysis`` gives exactly the
    figures of one row per household (tests/analysis/test_copies.py).
    """
    bid = t["building_id"].to_numpy(np.int64)
    # Breakpoints per building, sorted and distinct; a run goes from one to the next.
    pb = np.concatenate([bid, bid, bid])
    pv = np.concatenate([np.zeros(len(bid), dtype=np.int64), yes, n])
    order = np.lexsort((pv, pb))
    pb, pv = pb[order], pv[order]
    new = np.ones(len(pb), dtype=bool)
    new[1:] = (pb[1:] != pb[:-1]) | (pv[1:] != pv[:-1])
    pb, pv = pb[new], pv[new]
    same = pb[1:] == pb[:-1]
    run_b, run_start = pb[:-1][same], pv[:-1][same]
    run_len = (pv[1:] - pv[:-1])[same]
    # Each row of totals against every run of its building (runs are sorted by building).
    lo = np.searchsorted(run_b, bid, side="left")
    hi = np.searchsorted(run_b, bid, side="right")
    rep = np.repeat(np.arange(len(t)), hi - lo)
    run = np.repeat(lo, hi - lo) + (
        np.arange(len(rep)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
    )
    start = run_start[run]
    answered = start < n[rep]
    rep, run, start = rep[answered], run[answered], start[answered]
    y = (start < yes[rep]).astype(float)
    wr = w[rep]
    return pd.DataFrame(
        {
            "indicator": t["indicator"].to_numpy(object)[rep],
            "domain": dom[rep],
            "stratum": stratum[rep],
            "psu": bid[rep] * 100000 + start,
            "n": np.ones(len(rep), dtype=np.int64),
            "sum_w": wr,
            "sum_wy": wr * y,
            "sum_w2": wr * wr,
            "sum_y": y,
            "copies": run_len[run],
        }
    )


def stratum_code(wave_id: int, unit_id):
    """A stratum's number: the wave and its community (its street before designs)."""
    return np.asarray(unit_id, dtype=np.int64) + np.int64(wave_id) * 10_000_000


def fpc(inputs: WaveInputs) -> dict[str, float] | None:
    """N_h per stratum, in R's convention (population PSUs of the stratum), or None."""
    unequal = inputs.design in (Design.TWO_STAGE, Design.UPLOAD) and inputs.pps
    if inputs.design is None or unequal:
        return None
    out = {}
    for cid, c in inputs.communities.items():
        if inputs.design == Design.TWO_STAGE:
            size = c["buildings"]
        elif inputs.design == Design.CENSUS:
            size = c["households"] - (c["sampled"] - c["eligible"])
        else:
            size = c["households"]
        # One-stage: never fewer than the households heard (the frame may have shrunk).
        floor = 1 if inputs.design == Design.TWO_STAGE else c["respondents"]
        out[int(stratum_code(inputs.wave_id, cid))] = float(max(size, floor, 1))
    return out


def population(inputs: WaveInputs) -> dict[int, int]:
    """Households per community (eligible ones for a census): the domain's N."""
    out = {}
    for cid, c in inputs.communities.items():
        size = c["households"]
        if inputs.design == Design.CENSUS:
            size -= c["sampled"] - c["eligible"]
        out[cid] = int(size)
    return out


def household_counts(*, session: Session, community_ids: list[int]) -> dict[int, int]:
    if not community_ids:
        return {}
    return dict(
        session.exec(
            select(Household.community_id, func.count())
            .where(Household.community_id.in_(community_ids), Household.active)
            .group_by(Household.community_id)
        ).all()
    )


def design_columns(*, session: Session, wave: Wave) -> dict[int, dict]:
    """Per assignment id: weight, stratum, PSU (None: the interview is its own PSU),
    fpc, fpc_ssu and population, for the raw export. Empty for waves from before
    designs (the export then writes street strata, building PSUs and weight 1)."""
    inputs = wave_inputs(session=session, wave=wave)
    if inputs.design is None:
        return {}
    t = inputs.totals.drop_duplicates(["community_id", "building_id"])
    weights = {(c, b): (w, m) for c, b, w, m in zip(t["community_id"], t["building_id"], t["weight"],
                                                    t["building_size"], strict=True)}  # fmt: skip
    sizes = fpc(inputs) or {}
    households = population(inputs)
    two_stage = inputs.design == Design.TWO_STAGE
    rows = session.exec(
        select(
            Assignment.id,
            Assignment.community_id,
            Household.building_id,
            Building.code,
            Community.code,
        )
        .join(Household, Assignment.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .join(Community, Assignment.community_id == Community.id)
        .where(Assignment.wave_id == wave.id, Assignment.released)
    ).all()
    out = {}
    for aid, cid, bid, bcode, ccode in rows:
        weight, size = weights.get((cid, bid), (None, None))
        out[aid] = {
            "weight": weight,
            "stratum": ccode,
            "psu": f"{ccode}/{bcode}" if two_stage else None,
            "fpc": sizes.get(int(stratum_code(inputs.wave_id, cid))),
            "fpc_ssu": int(size) if two_stage and size == size and size is not None else None,
            "population": households.get(cid),
        }
    return out
