"""The canvasser's tablet: what it downloads to work offline for a day.

``assignments`` is the list of the canvasser's households in every open wave, grouped
by wave and building, with each one's state; ``wave_instrument`` the questionnaire that wave answers,
in the browser's form (expressions as ASTs, see docs/instruments.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlmodel import Session, select

from .. import audit, instrument_registry
from ..errors import Forbidden, NotFound, ServiceError
from ..fieldwork import assignments as fieldwork_assignments
from ..fieldwork import waves
from ..models import Assignment, AuditLog, Community, User, Visit, VisitOutcome, Wave
from ..models._types import utcnow
from .payloads import NOTE_MAX, TEXT_MAX, iso, utc

# A household recorded 空置 or 不符合条件, or refused hard, is closed: not offered again
# unless reopened with a reason.
CLOSING_OUTCOMES = (VisitOutcome.VACANT.value, VisitOutcome.INELIGIBLE.value)


def assignments(*, session: Session, user: User, today: date | None = None) -> dict[str, Any]:
    """The user's assigned households in every open wave (JSON-ready).

    ``waves`` lists each open wave where the user has households — its id, name,
    label, questionnaire, max attempts, dates and ``buildings`` — newest first. For
    tablets that know one wave only, ``wave`` and ``buildings`` repeat the first of them
    (or the newest open wave when the user has none). Every household carries its
    ``wave_id``."""
    day = (today or date.today()).isoformat()
    listed = []
    for wave in waves.open_waves(session=session):
        groups = fieldwork_assignments.assignments_for(session=session, user=user, wave=wave)
        if groups:
            listed.append({**_wave(wave), "buildings": _buildings(groups, wave)})
    if not listed:
        wave = waves.current_wave(session=session)
        return {"wave": _wave(wave) if wave else None, "buildings": [], "waves": [], "today": day}
    add_work_list_details(
        session=session, user=user, buildings=[b for w in listed for b in w["buildings"]]
    )
    first = listed[0]
    return {
        "wave": {k: v for k, v in first.items() if k != "buildings"},
        "buildings": first["buildings"],
        "waves": listed,
        "today": day,
    }


def add_work_list_details(*, session: Session, user: User, buildings: list[dict]) -> None:
    """Add to each household (dicts with ``assignment_id``) what the work list shows: the
    assignment date, the community, the visit history (date, outcome, refusal kind, note,
    appointment), the standing appointment, the last refusal's kind and whether it was
    reopened after being closed."""
    rows = [h for b in buildings for h in b["households"]]
    ids = [h["assignment_id"] for h in rows]
    if not ids:
        return
    info = {
        a_id: (assigned_on, name)
        for a_id, assigned_on, name in session.exec(
            select(Assignment.id, Assignment.assigned_on, Community.name)
            .join(Community, Assignment.community_id == Community.id)
            .where(Assignment.id.in_(ids))
        ).all()
    }
    history: dict[int, list[Visit]] = {}
    for visit in session.exec(
        select(Visit).where(Visit.assignment_id.in_(ids)).order_by(Visit.attempt)
    ).all():
        history.setdefault(visit.assignment_id, []).append(visit)
    reopened = _reopened_at(session, ids)
    for h in rows:
        visits = history.get(h["assignment_id"], [])
        assigned_on, community = info.get(h["assignment_id"], (None, None))
        last = visits[-1] if visits else None
        h.update(
            assigned_on=assigned_on.isoformat() if assigned_on else None,
            community=community,
            history=[_visit(v, user) for v in visits],
            appointment_at=iso(last.appointment_at) if last and last.appointment_at else None,
            last_refusal=last.refusal if last else None,
            reopened=bool(last and h["assignment_id"] in reopened
                          and reopened[h["assignment_id"]] >= utc(last.visited_at)),
        )  # fmt: skip


def _visit(visit: Visit, user: User) -> dict[str, Any]:
    return {
        "attempt": visit.attempt,
        "at": iso(visit.visited_at),
        "outcome": visit.outcome,
        "refusal": visit.refusal,
        "note": visit.note,
        "appointment_at": iso(visit.appointment_at) if visit.appointment_at else None,
        "mine": visit.canvasser_id == user.id,
    }


def _reopened_at(session: Session, ids: list[int]) -> dict[int, Any]:
    """When each closed household was last reopened (from the audit log)."""
    out: dict[int, Any] = {}
    for entity_id, at in session.exec(
        select(AuditLog.entity_id, AuditLog.at).where(
            AuditLog.action == "reopen",
            AuditLog.entity == "assignment",
            AuditLog.entity_id.in_([str(i) for i in ids]),
        )
    ).all():
        moment = utc(at)
        key = int(entity_id)
        out[key] = max(out.get(key, moment), moment)
    return out


def reopen(*, session: Session, user: User, assignment_id: int, reason: Any) -> dict[str, Any]:
    """Reopen a closed household (空置 / 不符合条件 / 坚决拒访) so it is offered again;
    the reason is required and kept in the audit log with who and when."""
    if not isinstance(reason, str) or not reason.strip():
        raise ServiceError("请填写重新开放的原因。")
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("没有这条分配记录。")
    if assignment.canvasser_id != user.id and user.role != "admin":
        raise Forbidden("该户不在分配给您的任务中。")
    last = session.exec(
        select(Visit).where(Visit.assignment_id == assignment_id).order_by(Visit.attempt.desc())
    ).first()
    closed = last is not None and (
        last.outcome in CLOSING_OUTCOMES
        or (last.outcome == VisitOutcome.REFUSED.value and last.refusal == "hard")
    )
    if not closed:
        raise ServiceError("该户没有关闭,无需重新开放。")
    audit.record(
        session=session, action="reopen", entity="assignment", entity_id=assignment_id,
        user_id=user.id, detail={"reason": reason.strip()[:NOTE_MAX], "after": last.outcome},
    )  # fmt: skip
    session.commit()
    return {"assignment_id": assignment_id, "reopened_at": iso(utcnow())}


def _buildings(groups, wave: Wave) -> list[dict[str, Any]]:
    return [
        {"code": code, "households": [{**asdict(h), "wave_id": wave.id} for h in households]}
        for code, households in groups.items()
    ]


def _wave(wave: Wave) -> dict[str, Any]:
    return {
        "id": wave.id,
        "name": wave.name,
        "max_attempts": wave.max_attempts,
        "instrument_key": wave.instrument_key,
        "instrument_version": str(wave.instrument_version),
        "label": wave.name,
        "starts_on": wave.starts_on.isoformat() if wave.starts_on else None,
        "ends_on": wave.ends_on.isoformat() if wave.ends_on else None,
    }


def current_wave(*, session: Session) -> Wave | None:
    return waves.current_wave(session=session)


def open_instruments(*, session: Session) -> list[tuple[str, str]]:
    """The questionnaires of every open wave (the tablet keeps them all offline)."""
    found = {
        (w.instrument_key, str(w.instrument_version)) for w in waves.open_waves(session=session)
    }
    return sorted(found)


def wave_instrument(*, key: str, version: str) -> dict[str, Any]:
    """The questionnaire ``key`` version ``version`` for the browser; 404 if not loaded."""
    instrument = instrument_registry.get_instrument(key, version)
    if instrument is None:
        raise NotFound(f"找不到问卷 {key} 第 {version} 版。")
    return with_text_limits(instrument.to_client_dict())


def with_text_limits(client: dict[str, Any]) -> dict[str, Any]:
    """Tell the tablet the longest free-text answer the server takes (``max_length`` on
    each text item, which the tablet's textarea and counter honour), so a canvasser is
    stopped while typing rather than refused at sync (issue 13.9)."""
    for item in client.get("items", []):
        if item.get("type") == "text":
            item["max_length"] = min(item.get("max_length") or TEXT_MAX, TEXT_MAX)
    return client
