"""What a tablet sends: visits and responses parsed from JSON into checked, normalised values.

Every error names the field (or the questionnaire item) so the canvasser's outbox can say
what is wrong. The normalised form is also what a submission's content hash is taken of,
so a replay that differs only in spacing, key order or time-zone notation is the same
submission, while any change of meaning is a different one (409).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from ..errors import ServiceError
from ..models import VisitOutcome

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEVICE_MAX = 255
NOTE_MAX = 500
TIMINGS_MAX = 500
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

    @property
    def content_hash(self) -> str:
        """sha256 of the submission's canonical JSON: equal hashes mean a replay."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # no deep copy
        for key in ("started_at", "submitted_at"):
            data[key] = iso(data[key])
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(moment: datetime) -> str:
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
    return value[:max_len]


def _moment(data: dict, field: str) -> datetime:
    value = data.get(field)
    if not isinstance(value, str):
        raise Invalid(field, f"缺少 {field}(ISO 8601 时间)")
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise Invalid(field, f"{field} 不是有效的 ISO 8601 时间:{value!r}") from None


def _coordinate(data: dict, field: str, limit: float) -> float | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
        raise Invalid(field, f"{field} 超出范围")
    return float(value)


def _timings(data: dict) -> dict[str, int]:
    value = data.get("timings") or {}
    if not isinstance(value, dict) or len(value) > TIMINGS_MAX:
        raise Invalid("timings", "timings 应为 {题目: 毫秒} 对象")
    out = {}
    for name, ms in value.items():
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0:
            raise Invalid("timings", f"timings.{name} 应为非负的毫秒数")
        out[str(name)[:64]] = int(ms)
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
            f"未知的走访结果 {outcome!r}(应为 {'、'.join(VISIT_OUTCOMES)};完成的访问请提交问卷)",
        )
    return VisitSubmission(
        uuid=_uuid(data),
        assignment_id=_int(data, "assignment_id"),
        outcome=outcome,
        visited_at=_moment(data, "visited_at"),
        latitude=_coordinate(data, "latitude", 90),
        longitude=_coordinate(data, "longitude", 180),
        note=_text(data, "note", max_len=NOTE_MAX, required=False),
    )


def parse_response(data: Any) -> ResponseSubmission:
    """A completed questionnaire as the tablet sends it; raise Invalid naming the field."""
    data = _object(data)
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise Invalid("answers", "answers 应为 {题目: 答案} 对象")
    return ResponseSubmission(
        uuid=_uuid(data),
        assignment_id=_int(data, "assignment_id"),
        instrument_key=_text(data, "instrument_key", max_len=64),
        instrument_version=_text(data, "instrument_version", max_len=32),
        answers=answers,
        started_at=_moment(data, "started_at"),
        submitted_at=_moment(data, "submitted_at"),
        timings=_timings(data),
        device=_text(data, "device", max_len=DEVICE_MAX, required=False),
        latitude=_coordinate(data, "latitude", 90),
        longitude=_coordinate(data, "longitude", 180),
    )


def same_visit(stored, sub: VisitSubmission) -> bool:
    """Whether a stored Visit row holds exactly this submission (a replay)."""
    return (
        stored.assignment_id == sub.assignment_id
        and stored.outcome == sub.outcome
        and iso(stored.visited_at) == iso(sub.visited_at)
        and stored.latitude == sub.latitude
        and stored.longitude == sub.longitude
        and (stored.note or None) == sub.note
    )
