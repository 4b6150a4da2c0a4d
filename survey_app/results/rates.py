"""Rates from running sums: one indicator in one domain (a community, a street, the city)
as an estimate, a confidence interval and a verdict against the target.

Every figure comes from :func:`analysis.estimate_from_totals` fed with the running
``IndicatorTotal`` sums (one row per wave × indicator × building), never from the
responses themselves, so the result pages stay fast with millions of responses stored.

Design: **the wave's own** (:mod:`..fieldwork.design`): strata = communities, PSUs =
households (census, srs, systematic, upload) or buildings (two-stage, with the
within-building stage), weights = 1/π × the non-response adjustment within community ×
building, the finite population (N households of each community, B buildings for
two-stage) — and, per community, N for the finite-population facts (the rate can never
be claimed above what the households not heard from allow: ``analysis`` bounds it from
the unweighted yes counts the sums carry, whatever the weights, exactly as
``survey-estimate --population`` does on the raw export). Waves from before designs
keep strata = 街道, PSU = 楼栋, weight 1, and have no N.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import defer
from sqlmodel import Session, select

import analysis
from analysis.planning import best_lower_bound

from ..errors import ServiceError
from ..fieldwork import design as wave_design
from ..models import Community, Wave, WaveStatus
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
    # What decided the verdict (analysis: exact_finite / all_yes_df / interval), with N
    # and what the households not heard from allow; the response rate of the domain.
    why: str | None = None
    verdict_method: str | None = None
    population: int | None = None
    rate_if_unheard_no: float | None = None
    rate_if_unheard_yes: float | None = None
    needed_n_met: int | None = None
    needed_n_not_met: int | None = None
    needed_status: str | None = None
    respondents: int | None = None
    eligible: int | None = None

    @property
    def key(self) -> str:
        return self.indicator.key

    @property
    def response_rate(self) -> float | None:
        if not self.eligible:
            return None
        return min(1.0, (self.respondents or 0) / self.eligible)

    @property
    def nonresponse_open(self) -> bool:
        """The households not heard from could carry the rate either side of the target."""
        lo, hi = self.rate_if_unheard_no, self.rate_if_unheard_yes
        return (
            lo is not None
            and hi is not None
            and lo < self.target <= hi
            and self.verdict == "undetermined"
        )


@dataclass(frozen=True)
class DomainFacts:
    """What the page says beside a domain's rate: its households N (None when unknown),
    completed interviews and eligible sampled households."""

    population: int | None
    respondents: int
    eligible: int


def wave_rows(
    *,
    session: Session,
    wave: Wave,
    indicators: Sequence[str],
    community_id: int | None = None,
    domains: Sequence[str] = ("community", "street", "city"),
) -> tuple[dict[tuple[str, object], analysis.EstimateRow], dict[object, DomainFacts]]:
    """Estimates of ``indicators`` on the wave's own design, keyed by (indicator, label)
    with labels ``c<community id>``, ``s<street id>`` and None (the whole wave), and the
    facts of each domain. With ``community_id`` only that community's domain. The whole
    wave's are reused while their inputs are the same (:attr:`WaveInputs.stamp`: the
    sums and counts kept per community); a closed wave's, from its frozen inputs, for as
    long as those stay the same."""
    rows, facts, _ = wave_rows_stamped(session=session, wave=wave, indicators=indicators,
                                       community_id=community_id, domains=domains)  # fmt: skip
    return rows, facts


def wave_rows_stamped(
    *,
    session: Session,
    wave: Wave,
    indicators: Sequence[str],
    community_id: int | None = None,
    domains: Sequence[str] = ("community", "street", "city"),
):
    """:func:`wave_rows` and what they were built from (equal stamps: equal figures;
    None: not kept, e.g. in a rehearsal view or for one community of an open wave)."""
    if wave_design.is_frozen(session, wave):
        key = ("rows", tuple(indicators), tuple(domains), community_id)
        rows, facts = wave_design.frozen_cached(
            session,
            wave,
            key,
            lambda: _wave_rows(session, wave, indicators, community_id, domains),
        )
        return rows, facts, ("frozen", *wave_design.frozen_key(wave), key)
    if community_id is not None:
        return (*_wave_rows(session, wave, indicators, community_id, domains), None)
    stamp = wave_design.live_stamp(session, wave, indicators)
    if stamp is None:
        return (*_wave_rows(session, wave, indicators, None, domains), None)
    # Kept while the per-community sums and counts are the same: a sign-in, or an
    # interview of another wave, leaves them (and so the estimates) as they were.
    rows, facts = wave_design.kept(
        session,
        wave,
        ("rows", tuple(indicators), tuple(domains)),
        stamp,
        lambda: _wave_rows(session, wave, indicators, None, domains),
    )
    return rows, facts, stamp


def _wave_rows(session, wave, indicators, community_id, domains):
    inputs = wave_design.wave_inputs(
        session=session, wave=wave, community_id=community_id, indicators=indicators
    )
    totals = inputs.totals[inputs.totals["indicator"].isin(list(indicators))].reset_index(drop=True)
    if community_id is not None:
        totals = totals.copy()
        domains = ("community",)
    facts = _facts(inputs)
    if totals.empty:
        return {}, facts
    sub = wave_design.WaveInputs(
        inputs.wave_id, inputs.design, inputs.pps, totals, inputs.communities, inputs.street_psus
    )
    # Numeric domain labels (community id, minus the street id; NaN the whole wave) keep
    # the table numeric: analysis factorises numbers several times faster than text.
    labels = {
        "community": totals["community_id"].astype(float),
        "street": -totals["street_id"].astype(float),
    }
    parts = [wave_design.estimation_table(sub, labels[d]) for d in domains if d in labels]
    if community_id is None or inputs.design is None:
        parts.append(wave_design.estimation_table(sub, None))
    table = pd.concat(parts, ignore_index=True)
    if community_id is not None and inputs.design is None:
        # Legacy design: strata are streets, every PSU of the street counts (n_h).
        table = table[table["domain"].isna() | (table["domain"] == float(community_id))]
    population = {
        (_numeric(label) if label else None): f.population
        for label, f in facts.items()
        if f.population
    }
    counts = None
    if inputs.design is None:
        counts = {
            int(wave_design.stratum_code(inputs.wave_id, sid)): v
            for sid, v in inputs.psus_per_street().items()
        }
    try:
        result = analysis.estimate_from_totals(
            table,
            psu_counts=counts,
            method=METHOD,
            level=wave.confidence,
            target=wave.target,
            fpc=wave_design.fpc(sub),
            population=population or None,
        )
    except (analysis.AnalysisInputError, ValueError) as err:
        raise ServiceError(f"无法计算估计值:{err}") from err
    return {(r.indicator, _label(r.domain)): r for r in result.rows}, facts


def _numeric(label: str) -> float:
    """``c12`` → 12.0, ``s3`` → -3.0 (the labels the estimation table uses)."""
    return float(label[1:]) if label[0] == "c" else -float(label[1:])


def _label(domain) -> str | None:
    if domain is None or (isinstance(domain, float) and np.isnan(domain)):
        return None
    value = int(domain)
    return f"c{value}" if value > 0 else f"s{-value}"


def _facts(inputs: wave_design.WaveInputs) -> dict[object, DomainFacts]:
    """Per domain label: N (known for every community of it), respondents, eligible."""
    pop = wave_design.population(inputs) if inputs.design is not None else {}
    out: dict[object, DomainFacts] = {}
    groups: dict[object, list[int]] = {None: []}
    for cid, c in inputs.communities.items():
        groups.setdefault(f"c{cid}", []).append(cid)
        groups.setdefault(f"s{c.get('street_id')}", []).append(cid)
        groups[None].append(cid)
    for label, ids in groups.items():
        known = [pop.get(c) for c in ids]
        out[label] = DomainFacts(
            population=int(sum(known)) if known and all(known) else None,
            respondents=sum(inputs.communities[c]["respondents"] for c in ids),
            eligible=sum(inputs.communities[c]["eligible"] for c in ids),
        )
    return out


def to_rate(
    row: analysis.EstimateRow | None,
    info: IndicatorInfo,
    *,
    domain: str | None,
    level: float,
    target: float,
    households: int | None = None,
    facts: DomainFacts | None = None,
) -> Rate:
    """An :class:`analysis.EstimateRow` (or None: no interviews) as a :class:`Rate`."""
    extra = {}
    if facts is not None:
        extra = {"respondents": facts.respondents, "eligible": facts.eligible}
    if row is None or row.n == 0:
        known = facts is not None and facts.population is not None
        reason = None if known else _never_reason(None, None, households, level, target)
        return Rate(info, domain, 0, None, None, None, None, None, 0, VERDICT_NO_DATA, None,
                    reason, level, target, population=facts.population if known else None,
                    **extra)  # fmt: skip
    rate = Rate(
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
        never_reason=None,
        level=level,
        target=target,
        flags=tuple(row.flags),
        why=getattr(row, "why", None),
        verdict_method=getattr(row, "verdict_method", None),
        population=getattr(row, "population", None),
        rate_if_unheard_no=getattr(row, "rate_if_unheard_no", None),
        rate_if_unheard_yes=getattr(row, "rate_if_unheard_yes", None),
        needed_n_met=getattr(row, "needed_n_met", None),
        needed_n_not_met=getattr(row, "needed_n_not_met", None),
        needed_status=getattr(row, "needed_status", None),
        **extra,
    )
    if rate.verdict == "undetermined":
        known = rate.population is not None
        status = rate.needed_status
        if status == "beyond_population":
            reason = "beyond_households"
        elif status == "never":
            reason = "never_settles"
        elif known:
            reason = None  # with N known, hearing every household settles it
        else:
            reason = _never_reason(row.n, row.needed_n, households, level, target)
        rate = replace(rate, never_reason=reason)
    return rate


def _never_reason(n, needed_n, households, level, target) -> str | None:
    """Why an undetermined verdict cannot be settled by this community alone when its
    size is not known to the estimate: ``too_small`` (even every household answering yes
    could not show the target with an infinite-population interval), ``beyond_households``
    or ``never_settles``."""
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
    # Not the frozen inputs (megabytes at city scale): read only where estimated from.
    stmt = select(Wave).where(Wave.status != WaveStatus.DRAFT).options(defer(Wave.frozen))
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
    """Every indicator of ``catalog`` for ``community`` in each of ``waves``, each wave
    on its own design: ``{wave_id: {indicator: Rate}}``. The caller checks the user may
    see the community."""
    out: dict[int, dict[str, Rate]] = {}
    keys = [i.key for i in catalog]
    for w in waves:
        rows, facts = wave_rows(session=session, wave=w, indicators=keys, community_id=community.id)
        label = f"c{community.id}"
        fact = facts.get(label)
        out[w.id] = {
            info.key: to_rate(
                rows.get((info.key, label)),
                info,
                domain=f"w{w.id}",
                level=w.confidence,
                target=w.target,
                households=households,
                facts=fact,
            )
            for info in catalog
        }
    return out
