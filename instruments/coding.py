"""What a response means for analysis: indicators, the weighting profile, feedback.

All three read answers through the skip logic (answers to non-relevant items are ignored)
and expect answers that ``validate_answers`` accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .answers import visible_values
from .model import Instrument, ItemType

__all__ = ["indicator_values", "profile_values", "feedback_items"]


def indicator_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Each indicator coded 1 (positive), 0 (not positive) or None (not applicable).

    None when the item is unanswered or not relevant, when the answer is a 说不清/不知道
    choice (``dont_know: true``) and the indicator says ``dont_know: exclude``, and for a
    code the item does not have. A 说不清 answer under ``dont_know: negative`` (the
    default) is 0. E.g. 满意率: 满意 or 比较满意 -> 1; 一般, 不满意, 说不清 -> 0.
    """
    _, values = visible_values(instrument, answers)
    out: dict[str, int | None] = {}
    for ind in instrument.indicators:
        item = instrument.item(ind.item)
        code = values.get(ind.item)
        choice = instrument.choice(item, code) if isinstance(code, str) else None
        if choice is None:
            out[ind.key] = None
        elif code in ind.positive:
            out[ind.key] = 1
        elif choice.dont_know and ind.dont_know == "exclude":
            out[ind.key] = None
        else:
            out[ind.key] = 0
    return out


def profile_values(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The respondent profile for weighting, e.g. {"age_group": "a35_49", "sex": "female",
    "residence_years": "y5_10"}: the code (or number) answered, None if unanswered."""
    _, values = visible_values(instrument, answers)
    return {field: values.get(item) for field, item in instrument.profile.items()}


def feedback_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The residents' open 问需/问计/问效 answers as (kind, text), in item order."""
    _, values = visible_values(instrument, answers)
    out: list[tuple[str, str]] = []
    for item in instrument.items:
        if item.feedback and item.type is ItemType.TEXT:
            text = values.get(item.name)
            if isinstance(text, str) and text.strip():
                out.append((item.feedback, text.strip()))
    return out
