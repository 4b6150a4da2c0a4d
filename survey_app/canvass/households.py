"""The canvasser's tablet: what it downloads to work offline for a day.

``assignments`` is the list of the canvasser's households in every open wave, grouped
by wave and building, with each one's state; ``wave_instrument`` the questionnaire that wave answers,
in the browser's form (expressions as ASTs, see docs/instruments.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlmodel import Session

from .. import instrument_registry
from ..errors import NotFound
from ..fieldwork import assignments as fieldwork_assignments
from ..fieldwork import waves
from ..models import User, Wave


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
    first = listed[0]
    return {
        "wave": {k: v for k, v in first.items() if k != "buildings"},
        "buildings": first["buildings"],
        "waves": listed,
        "today": day,
    }


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
    return instrument.to_client_dict()
