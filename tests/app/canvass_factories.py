"""Test data for the canvasser's API: a wave on the household form, assignments, and
valid submissions."""

from __future__ import annotations

import uuid as uuid_lib
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from survey_app.models import Assignment, Household, Wave

from .factories import make_geo, make_user

SATISFACTION_ITEMS = [
    "sat_overall",
    "sat_municipal_facilities",
    "sat_traffic_order",
    "sat_city_appearance",
    "sat_farmers_market",
    "sat_illegal_ads",
    "sat_dog_keeping",
    "sat_neighbourhood_property",
    "sat_volunteer_service",
    "sat_government_service",
]


def complete_answers(**changes) -> dict:
    answers = {
        "screen_resident": "yes",
        "screen_age": "yes",
        "consent": "yes",
        "aware_campaign": "yes",
        "aware_values": "yes",
        "aware_regulation": "no",
        "aware_hotline": "yes",
        "support": "support",
        **{name: "satisfied" for name in SATISFACTION_ITEMS},
        "improve_first": ["traffic_order", "dog_keeping"],
        "need": "楼道灯坏了,希望尽快修好",
        "age_group": "a30_44",
        "sex": "female",
        "residence_years": "r3_10",
    }
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


def make_fieldwork(session: Session, app, *, max_attempts: int = 3):
    """Two communities of three households; a canvasser in each, each assigned their own
    community's households in an open wave on the household form."""
    with app.app_context():
        from survey_app.instrument_registry import get_instrument
        from survey_app.setup.questionnaires import ensure_published

        instrument = get_instrument("household")
        ensure_published(session=session, instrument=instrument)
    communities = make_geo(session, communities=2, households=3)
    wave = Wave(
        name="测试轮次",
        instrument_key="household",
        instrument_version=str(instrument.version),
        max_attempts=max_attempts,
    )
    session.add(wave)
    session.commit()
    canvassers = []
    for community in communities:
        user = make_user(session, "canvasser", community)
        for hh in session.exec(
            select(Household).where(Household.community_id == community.id)
        ).all():
            session.add(
                Assignment(
                    wave_id=wave.id,
                    household_id=hh.id,
                    canvasser_id=user.id,
                    community_id=community.id,
                )
            )
        canvassers.append(user)
    session.commit()
    return wave, canvassers


def assignments_of(session: Session, user) -> list[Assignment]:
    return list(
        session.exec(
            select(Assignment).where(Assignment.canvasser_id == user.id).order_by(Assignment.id)
        ).all()
    )


def new_uuid() -> str:
    return str(uuid_lib.uuid4())


def response_payload(assignment_id: int, *, answers: dict | None = None, minutes: float = 5):
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return {
        "uuid": new_uuid(),
        "assignment_id": assignment_id,
        "instrument_key": "household",
        "instrument_version": "1",
        "answers": answers if answers is not None else complete_answers(),
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "submitted_at": (started + timedelta(minutes=minutes)).isoformat(),
        "timings": {"screen_resident": 4200, "consent": 2100},
        "device": "Mozilla/5.0 (test tablet) 800x1280",
    }


def visit_payload(assignment_id: int, outcome: str = "not_home", minute: int = 0) -> dict:
    return {
        "uuid": new_uuid(),
        "assignment_id": assignment_id,
        "outcome": outcome,
        "visited_at": f"2026-11-24T08:{minute:02d}:00.000Z",
    }
