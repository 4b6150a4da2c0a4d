"""Personal data kept no longer than the work needs (issue 13.13, PIPL).

What is personal in this service: where a door was knocked on (positions of visits and
interviews, ~10 m since they are rounded when received) and what residents and
canvassers wrote in their own words (free-text answers, visit and review notes,
问需/问计 texts). Everything else is coded (answer codes, age group, sex, years of
residence) and is what the statistics need.

:func:`purge` deletes, for everything older than the retention period (``RETENTION_DAYS``,
default 365 days): positions and notes of visits (the note then says :data:`REMOVED`);
free-text and geopoint answers of interviews and of their revisions (and their notes);
the texts of residents' requests (the request itself, its category, status and history
stay, saying the text was removed) and the notes on their steps; back-check notes; and
the same in submissions held for an analyst (``HeldSubmission``: the payload as the
tablet sent it loses its position, note and free-text and geopoint answers, and says
``"purged": true``). ``flask purge-personal-data`` runs it (cron it daily);
docs/operations.md states the rule.

Rows are scrubbed, never deleted, and idempotency survives: a tablet replaying a purged
submission still gets 200 (a replay), not 409. An interview's ``content_hash`` (and a
revision's) stays the hash of the submission *as received*, so the replay matches it
although the stored answers lost their free text; a visit, which has no hash, is compared
without its position and note once its note says :data:`REMOVED`
(``canvass/payloads.same_visit``). A held row is kept (scrubbed) even when dismissed:
deleting it would make the replayed submission a new held one for the analyst.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

import instruments

from . import audit, instrument_registry
from .models import (
    BackCheck,
    FeedbackEvent,
    FeedbackItem,
    HeldSubmission,
    Response,
    ResponseRevision,
    Visit,
)
from .models._types import utcnow

REMOVED = "〔已按保存期限删除〕"
PERSONAL_TYPES = {instruments.ItemType.TEXT, instruments.ItemType.GEOPOINT}


@dataclass
class Purged:
    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def purge(*, session: Session, days: int, dry_run: bool = False) -> Purged:
    """Delete personal data older than ``days`` days (see the module docstring)."""
    result = Purged(cutoff_for(days))
    cutoff = result.cutoff
    counts = result.counts
    counts["visits"] = _update(
        session,
        Visit,
        (Visit.visited_at < cutoff)
        & or_(
            Visit.latitude.is_not(None),
            Visit.longitude.is_not(None),
            Visit.note.is_not(None) & (Visit.note != REMOVED),
        ),
        {"latitude": None, "longitude": None, "note": REMOVED},
        dry_run,
    )
    counts["responses"] = _scrub_answers(session, cutoff, dry_run)
    counts["revisions"] = _scrub_revisions(session, cutoff, dry_run)
    counts["feedback"] = _update(
        session,
        FeedbackItem,
        (FeedbackItem.created_at < cutoff) & (FeedbackItem.text != REMOVED),
        {"text": REMOVED},
        dry_run,
    )
    counts["feedback_notes"] = _update(
        session,
        FeedbackEvent,
        (FeedbackEvent.at < cutoff) & FeedbackEvent.note.is_not(None),
        {"note": None},
        dry_run,
    )
    counts["back_checks"] = _scrub_back_checks(session, cutoff, dry_run)
    counts["held"] = _scrub_held(session, cutoff, dry_run)
    if dry_run:
        session.rollback()
        return result
    audit.record(session=session, action="purge", entity="personal-data", user_id=None,
                 detail={"days": days, "cutoff": cutoff.isoformat(), **counts})  # fmt: skip
    session.commit()
    return result


def _update(session: Session, model, where, values: dict, dry_run: bool) -> int:
    if dry_run:
        return session.exec(select(func.count()).select_from(model).where(where)).one()
    return session.exec(update(model).where(where).values(**values)).rowcount


def _personal_items(key: str, version: str) -> frozenset[str]:
    instrument = instrument_registry.get_instrument(key, version)
    if instrument is None:
        return frozenset()
    return frozenset(i.name for i in instrument.items if i.type in PERSONAL_TYPES)


def scrub(answers: Any, names: frozenset[str]) -> tuple[Any, bool]:
    """``answers`` without the items in ``names`` (inside repeats too); whether any went."""
    if isinstance(answers, dict):
        changed = False
        out = {}
        for name, value in answers.items():
            if name in names and value not in (None, "", []):
                changed = True
                continue
            out[name], inner = scrub(value, names)
            changed |= inner
        return out, changed
    if isinstance(answers, list):
        pairs = [scrub(v, names) for v in answers]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    return answers, False


def _scrub_answers(session: Session, cutoff: datetime, dry_run: bool) -> int:
    rows = session.exec(select(Response).where(Response.submitted_at < cutoff)).all()
    count = 0
    for row in rows:
        answers, changed = scrub(row.answers or {}, _personal_items(row.instrument_key,
                                                                    row.instrument_version))  # fmt: skip
        if changed:
            count += 1
            if not dry_run:
                row.answers = answers
    session.flush()
    return count


def _scrub_revisions(session: Session, cutoff: datetime, dry_run: bool) -> int:
    rows = session.exec(
        select(ResponseRevision, Response.instrument_key, Response.instrument_version)
        .join(Response, ResponseRevision.response_id == Response.id)
        .where(ResponseRevision.received_at < cutoff)
    ).all()
    count = 0
    for revision, key, version in rows:
        answers, changed = scrub(revision.answers or {}, _personal_items(key, version))
        personal = (revision.latitude, revision.longitude, revision.note)
        if changed or any(v is not None for v in personal):
            count += 1
            if not dry_run:
                revision.answers = answers
                revision.latitude = revision.longitude = revision.note = None
    session.flush()
    return count


def _scrub_back_checks(session: Session, cutoff: datetime, dry_run: bool) -> int:
    where = (BackCheck.drawn_at < cutoff) & BackCheck.note.is_not(None)
    return _update(session, BackCheck, where, {"note": None}, dry_run)


HELD_PERSONAL = ("latitude", "longitude", "note")


def _scrub_held(session: Session, cutoff: datetime, dry_run: bool) -> int:
    """Held submissions received before ``cutoff``: the payload without its position,
    note and free-text and geopoint answers, marked ``"purged": true`` (the row stays)."""
    rows = session.exec(select(HeldSubmission).where(HeldSubmission.received_at < cutoff)).all()
    count = 0
    for row in rows:
        payload = dict(row.payload or {})
        if payload.get("purged"):
            continue
        if "answers" in payload:
            key, version = payload.get("instrument_key"), payload.get("instrument_version")
            known = isinstance(key, str) and isinstance(version, str | int)
            instrument = instrument_registry.get_instrument(key, str(version)) if known else None
            if instrument is None or not isinstance(payload["answers"], dict):
                payload["answers"] = {}  # which answers are free text is unknown: none kept
            else:
                payload["answers"], _ = scrub(
                    payload["answers"], _personal_items(key, str(version))
                )
        for name in HELD_PERSONAL:
            payload.pop(name, None)
        payload["purged"] = True
        count += 1
        if not dry_run:
            row.payload = payload
            session.add(row)
    session.flush()
    return count
