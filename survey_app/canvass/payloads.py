"""What a tablet sends: visits and responses parsed from JSON into checked, normalised values.

Every error names the field (or the questionnaire item) so the canvasser's outbox can say
what is wrong. The normalised form is also what a submission's content hash is taken of,
so a replay that differs only in spacing, key order or time-zone notation is the same
submission, while any change of meaning is a different one (409).

Parsing is where every value that the database, JSON or a spreadsheet could choke on is
refused, each with its own 422 (issue 13.3): one bad item must never fail its whole batch,
since the tablet retries a 5xx forever and its outbox would never drain. Refused here:
control characters, U+0000 and lone surrogates in any text; NaN and infinite numbers;
times outside :data:`EARLIEST`..now + :data:`FUTURE`; ids outside 1..:data:`ID_MAX` (the
range of an ``integer`` column on PostgreSQL, within SQLite's); answers that are not a
scalar or a flat list; free text longer than :data:`TEXT_MAX`. Positions are rounded to
:data:`POSITION_DECIMALS` places (about 10 m: what finding a door again needs, no more):
the visit's and the interview's ``latitude``/``longitude``, and the latitude and longitude
of every answer to a geopoint question ("lat lon [alt acc]", XLSForm; inside repeats too —
altitude and accuracy are kept as sent). The rounding happens before the content hash is
taken, so a resend of the same interview — identical, or differing only beyond the 4th
decimal — is a replay (200) of the same stored content, never a conflict.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from flask import has_app_context

import instruments

from .. import instrument_registry
from ..errors import ServiceError
from ..ids import ID_MAX
from ..models import VisitOutcome
from ..retention import REMOVED
from ..text import bad_character

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEVICE_MAX = 255
NOTE_MAX = 500
TIMINGS_MAX = 500
TIMING_MS_MAX = 24 * 3600 * 1000  # one question for a whole day is not a timing
TEXT_MAX = 2000  # characters of one free-text answer (the tablet is told: wave_instrument)
ITEM_NAME_MAX = 64
CHOICES_MAX = 100  # codes in one multiple-choice answer, or instances of one repeat
NESTING_MAX = 4  # a repeat's instances are objects; repeats may nest, a little
NUMBER_MAX = 2**53  # integers JSON and JavaScript agree on
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)  # before this service existed
FUTURE = timedelta(days=1)  # a tablet clock ahead by more than this is wrong, not early
INTERVIEW_MAX = timedelta(days=7)  # started → submitted
POSITION_DECIMALS = 4  # 0.0001° ≈ 11 m of latitude
# 完成 is recorded by submitting the questionnaire, never as a bare visit.
VISIT_OUTCOMES = tuple(o.value for o in VisitOutcome if o is not VisitOutcome.COMPLETED)


class Invalid(ServiceError):
    """A submission that cannot be stored as sent (422), naming the field or item."""

    status = 422

    def __init__(self, field: str, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or [{"item": field, "message": message}]


@dataclass(frozen=True)
class VisitSubmission:
    uuid: str
    assignment_id: int
    outcome: str
    visited_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    note: str | None = None
    appointment_at: datetime | None = None  # 预约再访
    refusal: str | None = None  # soft / hard, with outcome refused


@dataclass(frozen=True)
class ResponseSubmission:
    uuid: str
    assignment_id: int
    instrument_key: str
    instrument_version: str
    answers: dict[str, Any]
    started_at: datetime
    submitted_at: datetime
    timings: dict[str, int]
    device: str | None
    latitude: float | None = None  # where the interview was done (kept on its 完成 visit)
    longitude: float | None = None

    @cached_property  # the fields never change (frozen); a revision asks twice
    def content_hash(self) -> str:
        """sha256 of the submission's canonical JSON: equal hashes mean a replay.

        The canonical JSON is ``json.dumps(fields, sort_keys=True, ensure_ascii=False,
        separators=(",", ":"))`` with the two times as :func:`iso` text: stored rows' hashes
        depend on these exact bytes (tests/app/data/content_hashes.json). The encoder is
        made once, not by every ``json.dumps`` call."""
        data = {name: getattr(self, name) for name in _HASHED_FIELDS}  # no deep copy
        data["started_at"] = iso(data["started_at"])
        data["submitted_at"] = iso(data["submitted_at"])
        return hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# The C encoder that _CANONICAL.encode builds on every call, built once (−1.4 µs a
# submission). Without circular-reference markers: one markers dict would be shared by
# threads (gthread workers), and a parsed payload cannot be circular.
_CANONICAL_ITER = (
    json.encoder.c_make_encoder(  # markers, default, encoder, indent, separators, sort, skip, nan
        None,
        _CANONICAL.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        True,
        False,
        True,
    )
    if json.encoder.c_make_encoder is not None
    else None
)


def _canonical(data: dict) -> str:
    if _CANONICAL_ITER is None:  # pragma: no cover - a Python without the C accelerator
        return _CANONICAL.encode(data)
    return "".join(_CANONICAL_ITER(data, 0))


_HASHED_FIELDS = tuple(f.name for f in fields(ResponseSubmission))


def iso(moment: datetime) -> str:
    if moment.tzinfo is UTC:  # as parsed: the same text, without a conversion
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc(moment: datetime) -> datetime:
    """The moment as an aware UTC datetime (naive values, as SQLite returns them, are UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _uuid(data: dict) -> str:
    value = data.get("uuid")
    if not isinstance(value, str) or not UUID_RE.match(value.strip().lower()):
        raise Invalid("uuid", "uuid 缺失或格式不对(应为设备生成的 UUID)")
    return value.strip().lower()


def _int(data: dict, field: str) -> int:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(field, f"{field} 应为整数")
    if not 1 <= value <= ID_MAX:
        raise Invalid(field, f"{field} 超出范围(1–{ID_MAX})")
    return value


def _checked_text(field: str, value: str) -> str:
    """``value`` if every character of it may be stored, else Invalid naming ``field``."""
    bad = bad_character(value)
    if bad is not None:
        raise Invalid(field, f"{field} 含有不允许的字符 {bad}(控制字符或无效编码)")
    return value


def _text(data: dict, field: str, *, max_len: int, required: bool = True) -> str | None:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise Invalid(field, f"缺少 {field}")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(field, f"{field} 应为文字")
    return _checked_text(field, value)[:max_len]


def _moment(data: dict, field: str) -> datetime:
    value = data.get(field)
    if not isinstance(value, str):
        raise Invalid(field, f"缺少 {field}(ISO 8601 时间)")
    try:
        moment = utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise Invalid(field, f"{field} 不是有效的 ISO 8601 时间:{value[:40]!r}") from None
    if not EARLIEST <= moment <= datetime.now(UTC) + FUTURE:
        raise Invalid(
            field, f"{field} 不在合理的时间范围内({EARLIEST:%Y-%m-%d} 至今):请检查平板的日期"
        )
    return moment


def _coordinate(data: dict, field: str, limit: float) -> float | None:
    value = data.get(field)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or abs(value) > limit  # before isfinite: a huge int overflows a float
        or not math.isfinite(value)
    ):
        raise Invalid(field, f"{field} 超出范围")
    return round(float(value), POSITION_DECIMALS)


def _timings(data: dict) -> dict[str, int]:
    value = data.get("timings") or {}
    if not isinstance(value, dict) or len(value) > TIMINGS_MAX:
        raise Invalid("timings", "timings 应为 {题目: 毫秒} 对象")
    if _plain_timings(value):
        return dict(value)
    out = {}
    for name, ms in value.items():
        if (
            isinstance(ms, bool)
            or not isinstance(ms, int | float)
            or not 0 <= ms <= TIMING_MS_MAX  # before isfinite: a huge int overflows a float
            or not math.isfinite(ms)
        ):
            raise Invalid("timings", f"timings 中的“{name[:64]}”应为 0 到 {TIMING_MS_MAX} 的毫秒数")
        out[_checked_text("timings", name)[:ITEM_NAME_MAX]] = int(ms)
    return out


def _answers(data: dict) -> dict[str, Any]:
    """The answers, each a scalar, a flat list of codes, or (a repeat) a list of such
    objects — nested at most :data:`NESTING_MAX` deep — that can be stored as sent."""
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise Invalid("answers", "answers 应为 {题目: 答案} 对象")
    if not _plain_answers(answers):
        _answer_object("answers", answers, depth=0)  # finds (and names) what is wrong
    return answers


# What a tablet sends almost always: texts and codes, plain numbers, timings in whole ms.
# The two checks below accept such payloads in one pass with one search for a bad
# character over all their texts joined (a newline between them, itself allowed); anything
# else — or any doubt — goes through the item-by-item checks above, which name the item,
# so a refusal and its message are the same as without them.


def _plain_timings(timings: dict) -> bool:
    """Whether ``_timings`` would keep ``timings`` as they are (whole ms, short names)."""
    for name, ms in timings.items():
        if (
            name.__class__ is not str
            or len(name) > ITEM_NAME_MAX
            or ms.__class__ is not int
            or not 0 <= ms <= TIMING_MS_MAX
        ):
            return False
    return bad_character("\n".join(timings)) is None


def _plain_answers(answers: dict) -> bool:
    """Whether ``_answer_object`` would accept ``answers`` (only when no answer is a
    repeat's instances: those take the item-by-item path)."""
    texts: list[str] = list(answers)
    for name, value in answers.items():
        if name.__class__ is not str or len(name) > ITEM_NAME_MAX:
            return False
        kind = value.__class__
        if kind is str:
            if len(value) > TEXT_MAX:
                return False
            texts.append(value)
        elif kind is list:
            if len(value) > CHOICES_MAX:
                return False
            for element in value:
                if element.__class__ is not str or len(element) > TEXT_MAX:
                    return False
            texts += value
        elif kind is int or kind is float:
            if not -NUMBER_MAX <= value <= NUMBER_MAX:  # False for NaN too
                return False
        elif value is not None and kind is not bool:
            return False
    return bad_character("\n".join(texts)) is None


def _answer_object(item: str, answers: dict, *, depth: int) -> None:
    for name, value in answers.items():
        if len(name) > ITEM_NAME_MAX or bad_character(name) is not None:
            raise Invalid(item, f"题目名称无效:{name[:ITEM_NAME_MAX]!r}")
        _answer_value(name if depth == 0 else item, value, depth=depth)


def _answer_value(item: str, value: Any, *, depth: int) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if len(value) > TEXT_MAX:
            raise Invalid(item, f"第“{item}”题:回答超过 {TEXT_MAX} 字,请精简")
        _checked_text(item, value)
    elif isinstance(value, int | float):
        # abs() first: math.isfinite of an integer too large for a float raises.
        if abs(value) > NUMBER_MAX or not math.isfinite(value):
            raise Invalid(item, f"第“{item}”题:数值无效或超出范围")
    elif isinstance(value, list) and depth < NESTING_MAX:
        if len(value) > CHOICES_MAX:
            raise Invalid(item, f"第“{item}”题:答案条目过多(最多 {CHOICES_MAX} 条)")
        for element in value:
            if isinstance(element, dict):
                _answer_object(item, element, depth=depth + 1)
            elif isinstance(element, list):
                raise Invalid(item, f"第“{item}”题:选项列表中只能是选项编码")
            else:
                _answer_value(item, element, depth=depth + 1)
    else:
        raise Invalid(item, f"第“{item}”题:答案应为文字、数字、选项列表或重复组的条目")


_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # what a geopoint's numbers may be (runner)
_GEOPOINTS: dict[str, frozenset[str]] = {}  # instrument content hash → its geopoint items


def _geopoint_items(key: str, version: str) -> frozenset[str]:
    """The names of the questionnaire's geopoint items (none when it is unknown: the
    answers are then refused by the check against the questionnaire anyway)."""
    if not has_app_context():  # parsing alone, outside the app (unit tests): no registry
        return frozenset()
    instrument = instrument_registry.get_instrument(key, version)
    if instrument is None:
        return frozenset()
    names = _GEOPOINTS.get(instrument.content_hash)
    if names is None:
        names = frozenset(
            i.name for i in instrument.items if i.type is instruments.ItemType.GEOPOINT
        )
        _GEOPOINTS[instrument.content_hash] = names
    return names


def round_geopoint(value: Any) -> Any:
    """A geopoint answer "lat lon [alt acc]" with latitude and longitude rounded to
    :data:`POSITION_DECIMALS` places; anything else as it is (the questionnaire check
    refuses what is not a geopoint)."""
    if not isinstance(value, str):
        return value
    parts = value.split()
    if not 2 <= len(parts) <= 4 or not all(_DECIMAL.fullmatch(p) for p in parts[:2]):
        return value
    return " ".join([_degrees(parts[0]), _degrees(parts[1]), *parts[2:]])


def _degrees(text: str) -> str:
    rounded = f"{round(float(text), POSITION_DECIMALS):.{POSITION_DECIMALS}f}"
    rounded = rounded.rstrip("0").rstrip(".")
    return "0" if rounded == "-0" else rounded


def _round_geopoints(answers: Any, names: frozenset[str]) -> Any:
    """``answers`` with every geopoint answer rounded (inside repeats' instances too)."""
    if not names:
        return answers
    if isinstance(answers, dict):
        return {
            name: round_geopoint(value) if name in names else _round_geopoints(value, names)
            for name, value in answers.items()
        }
    if isinstance(answers, list):
        return [_round_geopoints(v, names) for v in answers]
    return answers


def _geopoints_rounded(answers: dict, key: str, version: str) -> dict:
    """``answers`` with the questionnaire's geopoint answers rounded. The questionnaire is
    looked up only when rounding could change something: a top-level text that rounds to
    another text, or a repeat's instances (the usual payload has neither)."""
    for value in answers.values():
        kind = value.__class__
        if kind is str:
            if " " in value and round_geopoint(value) != value:
                break
        elif kind is list and any(element.__class__ is not str for element in value):
            break
    else:
        return answers
    return _round_geopoints(answers, _geopoint_items(key, version))


def as_held(data: dict) -> dict:
    """A parsed payload as kept for an analyst (``HeldSubmission``): as sent, but with its
    positions and geopoint answers rounded as parsing rounds them — rounding twice changes
    nothing, so accepting it later stores the same submission (the same content hash)."""
    out = dict(data)
    for name in ("latitude", "longitude"):
        value = out.get(name)
        if isinstance(value, float) and math.isfinite(value):
            out[name] = round(value, POSITION_DECIMALS)
    key, version = out.get("instrument_key"), out.get("instrument_version")
    if isinstance(out.get("answers"), dict) and isinstance(key, str) and version is not None:
        out["answers"] = _round_geopoints(out["answers"], _geopoint_items(key, str(version)))
    return out


def _object(data: Any) -> dict:
    if not isinstance(data, dict):
        raise Invalid("body", "提交内容应为 JSON 对象")
    return data


def parse_visit(data: Any) -> VisitSubmission:
    """A visit (走访结果) as the tablet sends it; raise Invalid naming the field."""
    data = _object(data)
    outcome = data.get("outcome")
    if outcome not in VISIT_OUTCOMES:
        raise Invalid(
            "outcome",
            f"未知的走访结果 {str(outcome)[:40]!r}(应为 {'、'.join(VISIT_OUTCOMES)};完成的访问请提交问卷)",
        )
    return VisitSubmission(
        uuid=_uuid(data),
        assignment_id=_int(data, "assignment_id"),
        outcome=outcome,
        visited_at=_moment(data, "visited_at"),
        latitude=_coordinate(data, "latitude", 90),
        longitude=_coordinate(data, "longitude", 180),
        note=_text(data, "note", max_len=NOTE_MAX, required=False),
        appointment_at=_appointment(data),
        refusal=_refusal(data, outcome),
    )


REFUSALS = ("soft", "hard")
APPOINTMENT_AHEAD = timedelta(days=366)


def _appointment(data: dict) -> datetime | None:
    """预约再访: a moment in the coming year (it is in the future, unlike other times)."""
    value = data.get("appointment_at")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid("appointment_at", "appointment_at 应为 ISO 8601 时间")
    try:
        moment = utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise Invalid(
            "appointment_at", f"appointment_at 不是有效的 ISO 8601 时间:{value[:40]!r}"
        ) from None
    if not EARLIEST <= moment <= datetime.now(UTC) + APPOINTMENT_AHEAD:
        raise Invalid("appointment_at", "预约时间应在一年之内")
    return moment


def _refusal(data: dict, outcome: str) -> str | None:
    value = data.get("refusal")
    if value is None:
        return None
    if value not in REFUSALS or outcome != VisitOutcome.REFUSED:
        raise Invalid("refusal", "refusal 只用于拒访,应为 soft(婉拒)或 hard(坚决拒访)")
    return value


def parse_response(data: Any) -> ResponseSubmission:
    """A completed questionnaire as the tablet sends it; raise Invalid naming the field."""
    data = _object(data)
    started_at, submitted_at = _moment(data, "started_at"), _moment(data, "submitted_at")
    if submitted_at - started_at > INTERVIEW_MAX:
        raise Invalid("submitted_at", "访问开始与提交相隔超过 7 天:请检查平板的日期")
    uuid, assignment_id = _uuid(data), _int(data, "assignment_id")
    key = _text(data, "instrument_key", max_len=64)
    version = _text(data, "instrument_version", max_len=32)
    return ResponseSubmission(
        uuid=uuid,
        assignment_id=assignment_id,
        instrument_key=key,
        instrument_version=version,
        answers=_geopoints_rounded(_answers(data), key, version),
        started_at=started_at,
        submitted_at=submitted_at,
        timings=_timings(data),
        device=_text(data, "device", max_len=DEVICE_MAX, required=False),
        latitude=_coordinate(data, "latitude", 90),
        longitude=_coordinate(data, "longitude", 180),
    )


def same_visit(stored, sub: VisitSubmission) -> bool:
    """Whether a stored Visit row holds exactly this submission (a replay).

    A visit whose position and note the retention rule deleted (its note then says
    :data:`~survey_app.retention.REMOVED`) is compared on what it still holds: the tablet
    replaying it after the purge gets 200, not a conflict."""
    purged = stored.note == REMOVED
    return (
        stored.assignment_id == sub.assignment_id
        and stored.outcome == sub.outcome
        and iso(stored.visited_at) == iso(sub.visited_at)
        and (purged or _rounded(stored.latitude) == sub.latitude)
        and (purged or _rounded(stored.longitude) == sub.longitude)
        and (purged or (stored.note or None) == sub.note)
        and _same_moment(stored.appointment_at, sub.appointment_at)
        and (stored.refusal or None) == sub.refusal
    )


def _rounded(value: float | None) -> float | None:
    """A stored position as parsing rounds it (rows from before the rounding hold more)."""
    return None if value is None else round(value, POSITION_DECIMALS)


def _same_moment(a: datetime | None, b: datetime | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and iso(a) == iso(b))
