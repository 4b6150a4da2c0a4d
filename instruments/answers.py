"""Server-side checking of a response's answers against its instrument.

Answers are a dict item name -> value: a code (str) for single and yes/no items ("yes" or
"no"), a list of codes for multiple, a number for number items (a numeric string such as
"42" is accepted too), a str for text. ``None``, ``""`` and ``[]`` mean unanswered.

Skip logic is re-run here exactly as in the browser (one pass in item order; a
non-relevant item's answer is treated as unanswered by later expressions). An answer to a
non-relevant item is an error (``not_relevant``): the browser clears such answers before
it submits, as ODK does, so one arriving here means a client bug or tampering. Call
``drop_irrelevant`` first to accept such a response anyway.

A repeat's answer is a list of {item: answer} objects, one per instance (e.g. per
household member). The work is done by ``Instrument.compiled`` (``instruments.runner``):
every expression compiled once per questionnaire version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Instrument
from .runner import AnswerError, is_empty, normalize

__all__ = [
    "AnswerError",
    "ERROR_CODES",
    "relevant_items",
    "validate_answers",
    "drop_irrelevant",
    "visible_values",
    "check_visible",
    "is_empty",
    "normalize",
]

ERROR_CODES = (
    "unknown_item",
    "not_relevant",
    "required",
    "invalid_type",
    "unknown_choice",
    "choice_filter",
    "not_a_number",
    "out_of_range",
    "constraint",
    "calculation",
    "repeat_count",
)


def visible_values(
    instrument: Instrument, answers: Mapping[str, Any]
) -> tuple[dict[str, bool], dict[str, Any]]:
    """(relevance of every item, the answers of relevant items as expressions see them)."""
    run = instrument.compiled.run(answers)
    return run.relevance, run.values


def relevant_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[str]:
    """Names of the items (notes included) shown for these answers, in order; inside a
    repeat, ``repeat[n].item`` for each instance n (from 1)."""
    relevance, _ = visible_values(instrument, answers)
    return [name for name, shown in relevance.items() if shown]


def drop_irrelevant(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without those to non-relevant or unknown items."""
    relevance, _ = visible_values(instrument, answers)
    return {k: v for k, v in answers.items() if relevance.get(k) and not is_empty(v)}


def validate_answers(instrument: Instrument, answers: Mapping[str, Any]) -> list[AnswerError]:
    """Every problem with ``answers``, in item order (unknown items first); [] if valid."""
    return instrument.compiled.run(answers).errors


def check_visible(
    instrument: Instrument,
    answers: Mapping[str, Any],
    relevance: Mapping[str, bool],
    values: Mapping[str, Any],
) -> list[AnswerError]:
    """``validate_answers`` (kept for callers of the two-step form; the checks now run in
    the same pass as the skip logic, so ``relevance`` and ``values`` are not needed)."""
    return validate_answers(instrument, answers)
