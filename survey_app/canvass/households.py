"""The canvasser's tablet: what it downloads to work offline for a day.

``assignments`` is the list of the canvasser's households in the open wave, grouped by
building, with each one's state; ``wave_instrument`` the questionnaire that wave answers,
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
    """The open wave and the user's assigned households by building (JSON-ready)."""
    wave = waves.current_wave(session=session)
    if wave is None:
        return {"wave": None, "buildings": [], "today": (today or date.today()).isoformat()}
    groups = fieldwork_assignments.assignments_for(session=session, user=user, wave=wave)
    return {
        "wave": _wave(wave),
        "today": (today or date.today()).isoformat(),
        "buildings": [
            {"code": code, "households": [asdict(h) for h in households]}
            for code, households in groups.items()
        ],
    }


def _wave(wave: Wave) -> dict[str, Any]:
    return {
        "id": wave.id,
        "name": wave.name,
        "max_attempts": wave.max_attempts,
        "instrument_key": wave.instrument_key,
        "instrument_version": str(wave.instrument_version),
    }


def current_wave(*, session: Session) -> Wave | None:
    return waves.current_wave(session=session)


def wave_instrument(*, key: str, version: str) -> dict[str, Any]:
    """The questionnaire ``key`` version ``version`` for the browser; 404 if not loaded."""
    instrument = instrument_registry.get_instrument(key, version)
    if instrument is None:
        raise NotFound(f"找不到问卷 {key} 第 {version} 版。")
    return instrument.to_client_dict()
