"""Insight for the secretary page: which areas most affect 满意率 (``analysis.key_drivers``)
and whether a change since the last wave is real (``analysis.trends``), said in words.

Drivers need each interview's answers together (the running sums keep indicators apart),
so they are computed from the counted interviews of the community — and, when the
community has too few dissatisfied residents to rank any area, of its street, then of the
city (labelled as such). The community's result is cached per (wave, interviews and
their review state), a street's or the city's for ``WIDE_TTL`` seconds, so a page view
after the first costs one indexed count; a street or city larger than ``MAX_ROWS``
interviews is not computed on a page request.

Design: weight 1 per interview, PSU = building (strata = street for the city). The
pages' rates use the wave's own design (weights 1/π × non-response); for ranking areas the
unweighted, building-clustered view is enough and never narrower than a household-level
design.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

import instruments
from analysis.drivers import key_drivers
from analysis.trends import change_from_estimates, trend_test

from ..fieldwork import design as wave_design
from ..fieldwork.review import counts_rule, including_test_data, is_counted, not_test_data
from ..models import Community, Design, Household, Response, ReviewState, Street, Wave, WaveStatus
from .indicators import IndicatorInfo
from .rates import Rate

OUTCOME = "satisfaction"
MAX_ROWS = 30_000
#: Seconds a street's or the city's ranking is reused before it is looked at again.
WIDE_TTL = 600
_CACHE_SIZE = 256
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class AreaLine:
    """One of the areas that most affect 满意率, ready to say in words."""

    info: IndicatorInfo
    rate: float
    dissatisfied_share: float
    satisfied_if_satisfied: float
    satisfied_if_not: float
    gain: float
    clear: bool  # the difference's interval excludes 0 (not just sampling noise)


@dataclass(frozen=True)
class Drivers:
    """The top areas and where they come from.

    ``scope`` is ``community``, ``street`` or ``city`` (whose interviews were used), or
    None when even the widest scope has too few; ``community_n`` the community's own
    interviews.
    """

    scope: str | None
    scope_name: str
    n: int
    community_n: int
    top: tuple[AreaLine, ...]


@dataclass(frozen=True)
class ChangeWords:
    """The change of one rate since the previous wave: points (signed), significant."""

    points: float
    significant: bool
    previous_wave: str


def drivers_for(
    *,
    session: Session,
    community: Community,
    street: Street,
    wave: Wave,
    instrument,
    catalog: list[IndicatorInfo],
) -> Drivers | None:
    """The three areas that most affect 满意率 for ``community`` (or its street / the city
    when it has too few interviews). None when the questionnaire has no area items."""
    areas = [i for i in catalog if i.kind == "area"]
    if instrument is None or not areas or OUTCOME not in {i.key for i in catalog}:
        return None
    scopes = [
        ("community", community.name, [Community.id == community.id], None),
        ("street", street.name, [Community.street_id == street.id], None),
        ("city", "", [], "street_id"),
    ]
    community_n = 0
    for scope, name, where, strata in scopes:
        if scope == "community":
            count, fingerprint = _count(session, wave, where)
            community_n = count
            key = (wave.id, scope, name, count, fingerprint, including_test_data())
            result = _cached(key)
        else:  # for reference only: kept WIDE_TTL seconds, not counted on every view
            key = (wave.id, scope, name, including_test_data())
            result = _cached(key, ttl=WIDE_TTL)
        if result is None:
            count = count if scope == "community" else _count(session, wave, where)[0]
            if count == 0 or count > MAX_ROWS:
                _store(key, ((), count))
                continue
            if scope == "community":  # coded once per interview (and revision), kept
                frame = _community_interviews(session, wave, community.id, instrument)
            else:
                frame = _interviews(session, wave, where, instrument)
            result = _rank(frame, areas, strata)
            _store(key, result)
        top, n = result
        if top:
            return Drivers(scope, name, n, community_n, top)
    return Drivers(None, "", 0, community_n, ())


def change_since(previous: Rate | None, current: Rate | None, *, previous_wave: str):
    """The change of ``current`` since ``previous`` in percentage points and whether it
    is significant (independent samples per wave, as the pages estimate them); None when
    either wave has no estimate.

    A wave where every answer was yes (or no) has a linearised SE of 0; its SE is then
    taken from its exact interval, (high − low)/(2·t_df), so a change from "all yes" is
    never declared significant on a zero variance.
    """
    if previous is None or current is None:
        return None
    if previous.estimate is None or current.estimate is None:
        return None
    change = change_from_estimates(
        (previous.estimate, _se(previous), previous.df),
        (current.estimate, _se(current), current.df),
        level=current.level,
    )
    return ChangeWords(round(change.diff * 100, 1), change.significant, previous_wave)


@dataclass(frozen=True)
class TrendWords:
    """The trend of one rate over the community's closed waves (``analysis.trend_test``):
    its direction when significant, else none ("flat"), and the average change per wave
    in percentage points."""

    info: IndicatorInfo
    waves: int
    direction: str  # up / down / flat, or boundary: not tested (a wave all yes or all no)
    significant: bool
    points_per_wave: float
    p_value: float


MIN_TREND_WAVES = 3


def trends_for(
    *, session: Session, community: Community, waves: list[Wave], catalog: list[IndicatorInfo]
) -> list[TrendWords]:
    """Whether each headline rate of ``community`` rises or falls over its closed waves
    (at least ``MIN_TREND_WAVES``): a survey logistic GLM of the answer on the wave's
    position with PSU-clustered SEs, each wave its own sample (``analysis.trend_test``).
    Each closed wave's frozen sums give one row per respondent (yes rows, then no
    rows, per building) with the wave's weight, stratum and PSU, as its rates use.

    A wave where every answer was yes (or no) puts the logistic model at its boundary,
    where its linearised test is not to be trusted (on 100% → 94.8% → 100% it finds a
    "significant" rise of 0.1 points a wave): such a rate is said not tested
    (``boundary``), never up, down or flat."""
    closed = [w for w in waves if w.status in (WaveStatus.CLOSED, WaveStatus.ARCHIVED)]
    if len(closed) < MIN_TREND_WAVES:
        return []
    frames = []
    for k, wave in enumerate(closed):
        inputs = wave_design.wave_inputs(session=session, wave=wave, community_id=community.id)
        t = inputs.totals[inputs.totals["community_id"] == community.id]
        t = t[np.isfinite(t["weight"].astype(float)) & (t["n"] > 0)]
        if t.empty:
            continue
        by_building = inputs.design in (None, Design.TWO_STAGE)
        n = t["n"].to_numpy(np.int64)
        rep = np.repeat(np.arange(len(t)), n)
        i = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)
        building = t["building_id"].to_numpy(np.int64)[rep]
        frames.append(
            pd.DataFrame(
                {
                    "indicator": t["indicator"].to_numpy(object)[rep],
                    "y": (i < t["positive"].to_numpy(np.int64)[rep]).astype(float),
                    "w": t["weight"].to_numpy(float)[rep],
                    "wave": k,
                    "stratum": "c",
                    "psu": building if by_building else building * 100_000 + i,
                }
            )
        )
    if not frames:
        return []
    data = pd.concat(frames, ignore_index=True)
    level = closed[-1].confidence
    out = []
    for info in catalog:
        part = data[data["indicator"] == info.key].rename(columns={"y": info.key})
        if part["wave"].nunique() < MIN_TREND_WAVES:
            continue
        shares = part.groupby("wave")[info.key].mean()
        if ((shares == 0) | (shares == 1)).any():
            nan = float("nan")
            out.append(TrendWords(info, int(part["wave"].nunique()), "boundary", False, nan, nan))
            continue
        found = trend_test(part, indicators=[info.key], weight="w", wave="wave",
                           order=list(range(len(closed))), strata="stratum", cluster="psu",
                           linked=False, level=level)  # fmt: skip
        whole = [r for r in found if r.domain is None]
        if not whole:
            continue
        r = whole[0]
        direction = ("up" if r.slope > 0 else "down") if r.significant else "flat"
        out.append(TrendWords(info, r.waves, direction, r.significant,
                              round(r.per_wave * 100, 1), r.p_value))  # fmt: skip
    return out


def _se(rate: Rate) -> float:
    se = rate.se or 0.0
    if se > 0 and rate.estimate not in (0.0, 1.0):
        return se
    t = float(stats.t.ppf(0.5 + rate.level / 2, max(rate.df, 1)))
    return max(se, ((rate.ci_high or 1.0) - (rate.ci_low or 0.0)) / (2 * t))


# --- data -----------------------------------------------------------------------------------


def _count(session: Session, wave: Wave, where) -> tuple[int, tuple]:
    """Interviews in scope, and a fingerprint that changes when any of them changes
    (a new one, a revision, a review decision, the wave's counting rule)."""
    rejected = func.sum(case((Response.review_state == ReviewState.REJECTED, 1), else_=0))
    pending = func.sum(case((Response.review_state == ReviewState.PENDING, 1), else_=0))
    stmt = (
        sa_select(
            func.count(Response.id),
            func.max(Response.id),
            func.sum(Response.revision),
            rejected,
            pending,
        )
        .select_from(Response)
        .join(Community, Community.id == Response.community_id)
        .where(Response.wave_id == wave.id, not_test_data(), *where)
    )
    count, *rest = session.connection().execute(stmt).one()
    return int(count or 0), (counts_rule(session, wave.id), *(int(x or 0) for x in rest))


def _interviews(session: Session, wave: Wave, where, instrument) -> pd.DataFrame:
    """The counted interviews: street, building and every indicator coded 0/1/NaN."""
    rule = counts_rule(session, wave.id)
    stmt = (
        sa_select(
            Response.answers, Response.review_state, Community.street_id,
            Household.building_id,
        )
        .select_from(Response)
        .join(Community, Community.id == Response.community_id)
        .outerjoin(Household, Household.id == Response.household_id)
        .where(Response.wave_id == wave.id, not_test_data(), *where)
        .order_by(Response.id)
    )  # fmt: skip
    records = []
    for answers, state, street_id, building_id in session.connection().execute(stmt):
        if not is_counted(state, rule):
            continue
        values = instruments.indicator_values(instrument, answers or {})
        records.append(_record(street_id, building_id, values, len(records)))
    return pd.DataFrame.from_records(records)


def _record(street_id, building_id, values: dict, position: int) -> dict:
    # An interview without a household counts as its own PSU within the community.
    psu = f"b{building_id}" if building_id is not None else f"r{position}"
    return {"street_id": street_id, "psu": psu, **values}


#: Per engine: (wave, community, rehearsal view, questionnaire) → {response id: (revision,
#: indicator values)} of the counted interviews, so that the drivers after a new interview
#: code that one, not the community's hundreds again (70–130 ms at ~800 interviews).
_coded: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CODED_COMMUNITIES = 512
_ANSWERS_AT_ONCE = 500


def _community_interviews(session: Session, wave: Wave, community_id: int, instrument):
    """:func:`_interviews` of one community — the same frame, row for row — with each
    interview's answers read and coded once per revision (an interview's answers change
    only with a new revision; its review state, read every time, decides if it counts)."""
    rule = counts_rule(session, wave.id)
    stmt = (
        sa_select(Response.id, Response.revision, Response.review_state, Community.street_id,
                  Household.building_id)
        .select_from(Response)
        .join(Community, Community.id == Response.community_id)
        .outerjoin(Household, Household.id == Response.household_id)
        .where(Response.wave_id == wave.id, not_test_data(), Community.id == community_id)
        .order_by(Response.id)
    )  # fmt: skip
    rows = [r for r in session.connection().execute(stmt).all() if is_counted(r[2], rule)]
    engine = session.get_bind()
    slot = (wave.id, community_id, including_test_data(), instrument.key, str(instrument.version))
    with _lock:
        store = _coded.setdefault(engine, OrderedDict())
        known = store.get(slot, {})
    wanted = [rid for rid, revision, *_ in rows if known.get(rid, (None,))[0] != revision]
    answers = {}
    for i in range(0, len(wanted), _ANSWERS_AT_ONCE):
        chunk = wanted[i : i + _ANSWERS_AT_ONCE]
        found = sa_select(Response.id, Response.answers).where(Response.id.in_(chunk))
        answers.update(session.connection().execute(found).all())
    coded = {}
    records = []
    for rid, revision, _, street_id, building_id in rows:
        if rid in answers:
            entry = (revision, instruments.indicator_values(instrument, answers[rid] or {}))
        else:
            entry = known[rid]
        coded[rid] = entry
        records.append(_record(street_id, building_id, entry[1], len(records)))
    with _lock:
        store = _coded.setdefault(engine, OrderedDict())
        store[slot] = coded  # only the counted ones: a rejected one is coded again if back
        store.move_to_end(slot)
        while len(store) > _CODED_COMMUNITIES:
            store.popitem(last=False)
    return pd.DataFrame.from_records(records)


def _rank(frame: pd.DataFrame, areas: list[IndicatorInfo], strata: str | None):
    present = [a for a in areas if a.key in frame.columns]
    if frame.empty or OUTCOME not in frame.columns or not present:
        return (), len(frame)
    data = frame.assign(w=1.0)
    for col in [OUTCOME, *(a.key for a in present)]:
        data[col] = pd.to_numeric(data[col], errors="coerce").astype(float)
    result = key_drivers(
        data, outcome=OUTCOME, areas=[a.key for a in present], weight="w",
        strata=strata, cluster="psu", model=False,
    )  # fmt: skip
    info = {a.key: a for a in present}
    top = tuple(
        AreaLine(
            info=info[e.area],
            rate=e.rate,
            dissatisfied_share=1 - e.rate,
            satisfied_if_satisfied=e.satisfied_if_satisfied,
            satisfied_if_not=e.satisfied_if_not,
            gain=e.gain,
            clear=e.lift_ci_low > 0,
        )
        for e in result.top(3)
    )
    return top, int(np.sum(np.isfinite(data[OUTCOME].to_numpy())))


def _cached(key, ttl: float | None = None):
    with _lock:
        if key in _cache:
            stored, value = _cache[key]
            if ttl is None or time.monotonic() - stored < ttl:
                _cache.move_to_end(key)
                return value
    return None


def _store(key, value) -> None:
    with _lock:
        _cache[key] = (time.monotonic(), value)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
