"""What a response means for analysis: indicators, the weighting profile, feedback.

All read answers through the skip logic (answers to non-relevant items are ignored) and
expect answers that ``validate_answers`` accepted. ``code_response`` does the checking
and all three codings in one pass over the skip logic — the call for the sync path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from .answers import AnswerError
from .model import Instrument, ItemType

__all__ = [
    "CodedResponse",
    "code_response",
    "indicator_values",
    "profile_values",
    "feedback_items",
]


@dataclass(frozen=True)
class CodedResponse:
    """A response checked and coded: see the functions of the same names."""

    errors: tuple[AnswerError, ...]
    indicators: dict[str, int | None]
    profile: dict[str, Any]
    feedback: tuple[tuple[str, str], ...]
    relevant: tuple[str, ...]
    calculated: dict[str, Any] = field(default_factory=dict)


def code_response(
    instrument: Instrument, answers: Mapping[str, Any], *, today: str | None = None
) -> CodedResponse:
    """``validate_answers``, ``indicator_values``, ``profile_values``, ``feedback_items`` and
    ``relevant_items`` at once (the skip logic runs once, on expressions compiled once per
    version). Use the codings only when ``errors`` is empty. ``calculated`` holds the
    values of ``calculate`` items; ``today`` ("YYYY-MM-DD", default: the server's date) is
    what ``today()`` gives — pass the interview's date when re-checking later."""
    program = instrument.compiled
    run = program.run(answers, {"today": today} if today else None)
    values = run.values
    relevance = run.relevance
    feedback = []
    for kind, name in program.feedback_items:
        text = values.get(name)
        if text.__class__ is str and text.strip():
            feedback.append((kind, text.strip()))
    return CodedResponse(
        errors=tuple(run.errors),
        indicators=program.indicators(values),
        profile={field: values.get(item) for field, item in instrument.profile.items()},
        feedback=tuple(feedback),
        relevant=tuple(compress(relevance, relevance.values())),
        calculated=run.calculated,
    )


def indicator_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Each indicator coded 1 (positive), 0 (not positive) or None (not applicable).

    None when the item is unanswered or not relevant, when the answer is a 说不清/不知道
    choice (``dont_know: true``) and the indicator says ``dont_know: exclude``, and for a
    code the item does not have. A 说不清 answer under ``dont_know: negative`` (the
    default) is 0. E.g. 满意率: 满意 or 比较满意 -> 1; 一般, 不满意, 说不清 -> 0.
    """
    return _indicators(instrument, _values(instrument, answers))


def profile_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The respondent profile for weighting, e.g. {"age_group": "a45_59", "sex": "female",
    "residence_years": "r10_plus"}: the code (or number) answered, None if unanswered."""
    return _profile(instrument, _values(instrument, answers))


def feedback_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The residents' open 问需/问计/问效 answers as (kind, text), in item order."""
    return _feedback(instrument, _values(instrument, answers))


def _values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    return instrument.compiled.run(answers).values


def _indicators(instrument: Instrument, values: Mapping[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for ind in instrument.indicators:
        code = values.get(ind.item)
        choice = (
            instrument.choice(instrument.item(ind.item), code) if isinstance(code, str) else None
        )
        if choice is None:
            out[ind.key] = None
        elif code in ind.positive:
            out[ind.key] = 1
        elif choice.dont_know and ind.dont_know == "exclude":
            out[ind.key] = None
        else:
            out[ind.key] = 0
    return out


def _profile(instrument: Instrument, values: Mapping[str, Any]) -> dict[str, Any]:
    return {field: values.get(item) for field, item in instrument.profile.items()}


def _feedback(instrument: Instrument, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in instrument.items:
        if item.feedback and item.type is ItemType.TEXT:
            text = values.get(item.name)
            if isinstance(text, str) and text.strip():
                out.append((item.feedback, text.strip()))
    return out
