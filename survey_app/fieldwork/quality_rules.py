"""Quality flags as pure functions: one interview's own signals, and the signals that
only show across a canvasser's interviews (a day, a wave, a community).

No database here: ``quality.py`` reads the wave's interviews into ``Interview`` records,
calls these, and stores the flags. Every threshold is a field of ``Thresholds`` with its
documented default (docs/quality.md says why each value); a wave may override any of them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from scipy.stats import fisher_exact

from instruments import Instrument, ItemType

FLAG_LABELS = {
    "too_fast": "用时过短",
    "clock_skew": "设备时间异常",
    "straight_line": "满意度题答案完全一致",
    "repeated_pattern": "答案模式重复",
    "burst": "短时间内访问过多",
    "odd_hours": "非正常访问时段",
    "outside_wave": "不在本轮日期内",
    "far_position": "位置远离本楼其他访问",
    "same_position": "多户位置完全相同",
    "shared_device": "同一设备多名调查员",
    "rate_outlier": "满意率显著偏离本社区其他调查员",
    "dont_know_outlier": "说不清比例显著偏离本社区其他调查员",
    "backcheck_contradiction": "回访核查结果不一致",
}


@dataclass(frozen=True)
class Thresholds:
    """The flags' thresholds (defaults documented in docs/quality.md)."""

    too_fast_seconds_per_answer: float = 2.0
    straightline_min_items: int = 6
    straightline_ignore: tuple[str, ...] = ("satisfied",)
    repeat_min: int = 5
    burst_per_hour: int = 6
    earliest_hour: int = 8
    latest_hour: int = 21
    far_metres: float = 300.0
    same_position_min: int = 3
    outlier_min_n: int = 10
    outlier_alpha: float = 0.05

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None) -> Thresholds:
        """Defaults with a wave's overrides; ValueError naming an unknown or bad one."""
        base = cls()
        if not overrides:
            return base
        kinds = {f.name: type(getattr(base, f.name)) for f in fields(cls)}
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            if name not in kinds:
                raise ValueError(f"未知的阈值 {name!r}")
            kind = kinds[name]
            try:
                if kind is tuple:
                    values = value if isinstance(value, list | tuple) else str(value).split(",")
                    changes[name] = tuple(str(v).strip() for v in values if str(v).strip())
                else:
                    changes[name] = kind(value)
            except (TypeError, ValueError):
                raise ValueError(f"阈值 {name} 的值 {value!r} 无效") from None
            if kind is not tuple and changes[name] < 0:
                raise ValueError(f"阈值 {name} 不能为负数")
        return replace(base, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Interview:
    """What the flags read of one interview."""

    id: int
    canvasser_id: int | None
    community_id: int
    household_id: int | None
    building_id: int | None
    answers: Mapping[str, Any]
    started_at: datetime | None
    submitted_at: datetime | None
    device: str | None = None
    latitude: float | None = None
    longitude: float | None = None


Flags = dict[int, dict[str, dict[str, Any]]]  # interview id -> code -> detail


def _add(flags: Flags, interview_id: int, code: str, **detail) -> None:
    flags.setdefault(interview_id, {})[code] = detail


# --- the instrument's satisfaction scale --------------------------------------------------


_MEMO: dict[tuple[str, int], tuple[Instrument, Any]] = {}


def _memo(kind: str, instrument: Instrument, make):
    """Per-instrument values computed once (a wave pass asks for them per interview)."""
    key = (kind, id(instrument))
    hit = _MEMO.get(key)
    if hit is None or hit[0] is not instrument:
        hit = _MEMO[key] = (instrument, make(instrument))
    return hit[1]


def satisfaction_items(instrument: Instrument) -> list[str]:
    """The items on the satisfaction scale: those sharing the choice list of the item the
    满意率 indicator (key ``satisfaction``, else the first whose key starts with it) reads."""
    return _memo("satisfaction", instrument, _satisfaction_items)


def _satisfaction_items(instrument: Instrument) -> list[str]:
    indicator = next(
        (i for i in instrument.indicators if i.key == "satisfaction"),
        next((i for i in instrument.indicators if i.key.startswith("satisf")), None),
    )
    if indicator is None:
        return []
    scale = instrument.item(indicator.item).choices
    if scale is None:
        return []
    return [
        it.name for it in instrument.items if it.type is ItemType.SINGLE and it.choices == scale
    ]


def straight_lined(
    instrument: Instrument, answers: Mapping[str, Any], t: Thresholds
) -> dict[str, Any] | None:
    """One answer to every satisfaction item (at least ``straightline_min_items``
    answered), unless it is one of ``straightline_ignore`` (uniform 满意 is what a city
    near 99% expects)."""
    given = [answers[name] for name in satisfaction_items(instrument) if name in answers]
    if len(given) < max(t.straightline_min_items, 2) or len(set(given)) != 1:
        return None
    if given[0] in t.straightline_ignore:
        return None
    return {"code": given[0], "items": len(given)}


def answered(answers: Mapping[str, Any]) -> int:
    return sum(1 for v in answers.values() if v not in (None, "", []))


def too_fast(
    answers: Mapping[str, Any], started: datetime | None, submitted: datetime | None, t: Thresholds
) -> dict[str, Any] | None:
    if started is None or submitted is None:
        return None
    seconds = (submitted - started).total_seconds()
    n = answered(answers)
    if n and 0 <= seconds < t.too_fast_seconds_per_answer * n:
        return {
            "seconds_per_answer": round(seconds / n, 1),
            "threshold": t.too_fast_seconds_per_answer,
        }
    return None


# --- one interview --------------------------------------------------------------------------


def interview_flags(
    interview: Interview,
    instrument: Instrument | None,
    t: Thresholds,
    *,
    tz: ZoneInfo,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> dict[str, dict[str, Any]]:
    """The flags an interview earns on its own: too fast, straight-lined, at an odd hour,
    outside the wave's dates."""
    out: dict[str, dict[str, Any]] = {}
    fast = too_fast(interview.answers, interview.started_at, interview.submitted_at, t)
    if fast:
        out["too_fast"] = fast
    if instrument is not None:
        line = straight_lined(instrument, interview.answers, t)
        if line:
            out["straight_line"] = line
    moment = interview.started_at or interview.submitted_at
    if moment is not None:
        local = moment.astimezone(tz)
        if not t.earliest_hour <= local.hour < t.latest_hour:
            out["odd_hours"] = {"local_time": local.strftime("%H:%M"),
                                "allowed": f"{t.earliest_hour:02d}:00–{t.latest_hour:02d}:00"}  # fmt: skip
        day = local.date()
        if (starts_on and day < starts_on) or (ends_on and day > ends_on):
            out["outside_wave"] = {"date": day.isoformat(),
                                   "wave": f"{starts_on or ''}–{ends_on or ''}"}  # fmt: skip
    return out


# --- across interviews ------------------------------------------------------------------------


def _pattern(instrument: Instrument | None, answers: Mapping[str, Any]) -> tuple:
    """The closed answers (every choice, yes/no and number item; profile included)."""
    if instrument is None:
        return tuple(sorted((k, str(v)) for k, v in answers.items()))
    closed = _memo("closed", instrument, lambda inst: [
        it.name for it in inst.items
        if it.type in (ItemType.SINGLE, ItemType.MULTIPLE, ItemType.YESNO, ItemType.NUMBER)
    ])  # fmt: skip
    return tuple(
        (name, tuple(sorted(v)) if isinstance(v, list) else v)
        for name in closed
        if (v := answers.get(name)) not in (None, "", [])
    )


def repeated_patterns(
    interviews: Iterable[Interview], instrument: Instrument | None, t: Thresholds
) -> Flags:
    """One canvasser's identical closed-answer patterns in ``repeat_min`` or more
    interviews of the wave."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for iv in interviews:
        groups[(iv.canvasser_id, _pattern(instrument, iv.answers))].append(iv.id)
    flags: Flags = {}
    for ids in groups.values():
        if len(ids) >= max(t.repeat_min, 2):
            for i in ids:
                _add(flags, i, "repeated_pattern", same_as=len(ids) - 1, threshold=t.repeat_min)
    return flags


def bursts(interviews: Iterable[Interview], t: Thresholds) -> Flags:
    """More than ``burst_per_hour`` interviews by one canvasser within 60 minutes."""
    by_canvasser: dict[int | None, list[Interview]] = defaultdict(list)
    for iv in interviews:
        if iv.submitted_at is not None:
            by_canvasser[iv.canvasser_id].append(iv)
    flags: Flags = {}
    hour = timedelta(hours=1)
    for ivs in by_canvasser.values():
        ivs.sort(key=lambda iv: iv.submitted_at)
        start = 0
        for end in range(len(ivs)):
            while ivs[end].submitted_at - ivs[start].submitted_at >= hour:
                start += 1
            if end - start + 1 > t.burst_per_hour:
                for iv in ivs[start : end + 1]:
                    _add(flags, iv.id, "burst", in_one_hour=end - start + 1,
                         threshold=t.burst_per_hour)  # fmt: skip
    return flags


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def positions(interviews: Iterable[Interview], t: Thresholds) -> Flags:
    """Positions far (``far_metres``) from the median of the building's other interviews,
    and one exact position shared by ``same_position_min`` or more households in more than
    one building."""
    placed = [iv for iv in interviews if iv.latitude is not None and iv.longitude is not None]
    flags: Flags = {}
    by_building: dict[int | None, list[Interview]] = defaultdict(list)
    for iv in placed:
        by_building[iv.building_id].append(iv)
    for ivs in by_building.values():
        if len(ivs) < 3:
            continue
        for iv in ivs:
            others = [o for o in ivs if o.id != iv.id]
            lat, lon = median(o.latitude for o in others), median(o.longitude for o in others)
            distance = metres(iv.latitude, iv.longitude, lat, lon)
            if distance > t.far_metres:
                _add(flags, iv.id, "far_position", metres=round(distance), threshold=t.far_metres)
    same: dict[tuple[float, float], list[Interview]] = defaultdict(list)
    for iv in placed:
        same[(round(iv.latitude, 5), round(iv.longitude, 5))].append(iv)
    for ivs in same.values():
        households = {iv.household_id for iv in ivs}
        if len(households) >= t.same_position_min and len({iv.building_id for iv in ivs}) > 1:
            for iv in ivs:
                _add(flags, iv.id, "same_position", households=len(households),
                     threshold=t.same_position_min)  # fmt: skip
    return flags


def device_id(device: str | None) -> str | None:
    """The tablet's own id inside the device string (``dev:<id>``, made once per browser
    by the canvass app); the user-agent alone names a model, not a tablet."""
    if not device:
        return None
    for part in device.split():
        if part.startswith("dev:") and len(part) > 8:
            return part[4:]
    return None


def shared_devices(interviews: Iterable[Interview]) -> Flags:
    """One tablet (by its id) used by two or more canvassers in the wave."""
    users: dict[str, set[int | None]] = defaultdict(set)
    ivs = list(interviews)
    for iv in ivs:
        dev = device_id(iv.device)
        if dev:
            users[dev].add(iv.canvasser_id)
    flags: Flags = {}
    for iv in ivs:
        dev = device_id(iv.device)
        if dev and len(users[dev]) > 1:
            _add(flags, iv.id, "shared_device", device=dev, canvassers=len(users[dev]))
    return flags


@dataclass(frozen=True)
class Outlier:
    """A canvasser's share against their community's other canvassers (Fisher's exact
    test, two-sided), flagged when ``p`` is below ``alpha`` / number of tests."""

    code: str
    canvasser_id: int
    community_id: int
    n: int
    share: float
    others_n: int
    others_share: float
    p: float
    threshold: float

    def detail(self) -> dict[str, Any]:
        return {"n": self.n, "share": round(self.share, 4), "others_n": self.others_n,
                "others_share": round(self.others_share, 4), "p": self.p,
                "threshold": self.threshold}  # fmt: skip


def outliers(
    interviews: Iterable[Interview], instrument: Instrument | None, t: Thresholds
) -> list[Outlier]:
    """Canvassers whose 满意率 or 说不清 share on the overall satisfaction item differs
    from the rest of their community beyond chance. Each canvasser with at least
    ``outlier_min_n`` interviews, against the others' (also at least that many), two tests
    each; Bonferroni: flagged when p < ``outlier_alpha`` / number of tests in the wave."""
    if instrument is None:
        return []
    indicator = next((i for i in instrument.indicators if i.key == "satisfaction"), None)
    if indicator is None:
        return []
    dont_know = {c.code for c in instrument.choice_lists.get(
        instrument.item(indicator.item).choices or "", ()) if c.dont_know}  # fmt: skip
    counts: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for iv in interviews:
        answer = iv.answers.get(indicator.item)
        if answer in (None, "") or iv.canvasser_id is None:
            continue
        cell = counts[(iv.community_id, iv.canvasser_id)]
        cell["n"] += 1
        cell["satisfied"] += answer in indicator.positive
        cell["dont_know"] += answer in dont_know
    tests = []
    for (community, canvasser), mine in counts.items():
        others = Counter()
        for (c2, k2), cell in counts.items():
            if c2 == community and k2 != canvasser:
                others.update(cell)
        if mine["n"] < t.outlier_min_n or others["n"] < t.outlier_min_n:
            continue
        for code, key in (("rate_outlier", "satisfied"), ("dont_know_outlier", "dont_know")):
            table = [[mine[key], mine["n"] - mine[key]], [others[key], others["n"] - others[key]]]
            p = float(fisher_exact(table)[1])
            tests.append((code, canvasser, community, mine, others, key, p))
    threshold = t.outlier_alpha / len(tests) if tests else 0.0
    return [
        Outlier(
            code,
            canvasser,
            community,
            mine["n"],
            mine[key] / mine["n"],
            others["n"],
            others[key] / others["n"],
            p,
            threshold,
        )  # fmt: skip
        for code, canvasser, community, mine, others, key, p in tests
        if p < threshold
    ]


def describe(code: str, detail: Mapping[str, Any] | None) -> str:
    """A flag's evidence in words for the interview page."""
    d = dict(detail or {})
    texts = {
        "too_fast": lambda: (
            f"每题平均 {d.get('seconds_per_answer')} 秒(阈值 {d.get('threshold')} 秒)"
        ),
        "straight_line": lambda: f"{d.get('items')} 道满意度题全部答“{d.get('code')}”",
        "repeated_pattern": lambda: f"与该调查员另外 {d.get('same_as')} 份问卷的全部选择题答案相同",
        "burst": lambda: f"一小时内完成 {d.get('in_one_hour')} 份(阈值 {d.get('threshold')} 份)",
        "odd_hours": lambda: f"当地时间 {d.get('local_time')}(合理时段 {d.get('allowed')})",
        "outside_wave": lambda: f"访问日期 {d.get('date')},本轮日期 {d.get('wave')}",
        "far_position": lambda: (
            f"距同楼其他访问的中位位置 {d.get('metres')} 米(阈值 {d.get('threshold')} 米)"
        ),
        "same_position": lambda: f"{d.get('households')} 户的位置完全相同",
        "shared_device": lambda: f"设备 {d.get('device')} 被 {d.get('canvassers')} 名调查员使用",
        "backcheck_contradiction": lambda: (
            "回访核查:"
            + (
                "住户表示本轮没有人来访问"
                if d.get("visited") is False
                else "多道核查题答案与原问卷不同"
            )
        ),
    }
    maker = texts.get(code)
    return maker() if maker else ""
