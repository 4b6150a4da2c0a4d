"""Server-side checking of a response's answers against its instrument.

Answers are a dict item name -> value: a code (str) for single and yes/no items ("yes" or
"no"), a list of codes for multiple, a number for number items (a numeric string such as
"42" is accepted too), a str for text. ``None``, ``""`` and ``[]`` mean unanswered.

Skip logic is re-run here exactly as in the browser (one pass in item order; a
non-relevant item's answer is treated as unanswered by later expressions). An answer to a
non-relevant item is an error (``not_relevant``): the browser clears such answers before
it submits, as ODK does, so one arriving here means a client bug or tampering. Call
``drop_irrelevant`` first to accept such a response anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .expr import evaluate, to_number
from .model import Instrument, Item, ItemType

__all__ = [
    "AnswerError",
    "ERROR_CODES",
    "relevant_items",
    "validate_answers",
    "drop_irrelevant",
    "visible_values",
    "check_visible",
]

ERROR_CODES = (
    "unknown_item",
    "not_relevant",
    "required",
    "invalid_type",
    "unknown_choice",
    "not_a_number",
    "out_of_range",
    "constraint",
)


@dataclass(frozen=True)
class AnswerError:
    """One problem with one answer. ``message`` is Chinese, ``message_en`` English."""

    item: str
    code: str
    message: str
    message_en: str

    def get(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _normalize(item: Item, value: Any) -> Any:
    """The value expressions see: numbers as numbers; an invalid answer as unanswered."""
    if item.type is ItemType.NUMBER:
        number = to_number(value)
        return "" if number is None else number
    if item.type is ItemType.MULTIPLE:
        return list(value) if isinstance(value, list) else ""
    return value if isinstance(value, str) else ""


def visible_values(
    instrument: Instrument, answers: Mapping[str, Any]
) -> tuple[dict[str, bool], dict[str, Any]]:
    """(relevance of every item, the answers of relevant items as expressions see them)."""
    relevance: dict[str, bool] = {}
    values: dict[str, Any] = {}
    for item in instrument.items:
        relevant = item.relevant is None or evaluate(item.relevant.ast, values) is True
        relevance[item.name] = relevant
        if relevant and item.has_value and not is_empty(answers.get(item.name)):
            value = _normalize(item, answers[item.name])
            if not is_empty(value):
                values[item.name] = value
    return relevance, values


def relevant_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[str]:
    """Names of the items (notes included) shown for these answers, in order."""
    relevance, _ = visible_values(instrument, answers)
    return [name for name, shown in relevance.items() if shown]


def drop_irrelevant(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers without those to non-relevant or unknown items."""
    relevance, _ = visible_values(instrument, answers)
    return {k: v for k, v in answers.items() if relevance.get(k) and not is_empty(v)}


def _error(item: str, code: str, zh: str, en: str) -> AnswerError:
    return AnswerError(item, code, zh, en)


def _check_choice(instrument: Instrument, item: Item, value: Any) -> AnswerError | None:
    if item.type is ItemType.MULTIPLE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _error(
                item.name,
                "invalid_type",
                "多选题的答案须为选项代码列表",
                "expected a list of codes",
            )
        if len(set(value)) != len(value):
            return _error(item.name, "unknown_choice", "选项重复", "a code is given twice")
        unknown = [v for v in value if not instrument.is_code(item, v)]
    else:
        if not isinstance(value, str):
            return _error(item.name, "invalid_type", "答案须为一个选项代码", "expected one code")
        unknown = [] if instrument.is_code(item, value) else [value]
    if unknown:
        shown = ", ".join(unknown)
        return _error(item.name, "unknown_choice", f"无此选项：{shown}", f"unknown choice: {shown}")
    return None


def _check_number(item: Item, value: Any) -> AnswerError | None:
    number = to_number(value)
    if number is None or not math.isfinite(number):
        return _error(item.name, "not_a_number", "请填写数字", "expected a number")
    if item.integer and number != int(number):
        return _error(item.name, "not_a_number", "请填写整数", "expected a whole number")
    low, high = item.minimum, item.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        if low is None:
            zh, en = f"数值不能大于 {high}", f"must be at most {high}"
        elif high is None:
            zh, en = f"数值不能小于 {low}", f"must be at least {low}"
        else:
            zh, en = f"数值须在 {low} 到 {high} 之间", f"must be between {low} and {high}"
        return _error(item.name, "out_of_range", zh, en)
    return None


def _check_value(instrument: Instrument, item: Item, value: Any) -> AnswerError | None:
    if item.type in (ItemType.SINGLE, ItemType.MULTIPLE, ItemType.YESNO):
        return _check_choice(instrument, item, value)
    if item.type is ItemType.NUMBER:
        return _check_number(item, value)
    if not isinstance(value, str):
        return _error(item.name, "invalid_type", "答案须为文字", "expected text")
    return None


def validate_answers(instrument: Instrument, answers: Mapping[str, Any]) -> list[AnswerError]:
    """Every problem with ``answers``, in item order (unknown items first); [] if valid."""
    relevance, values = visible_values(instrument, answers)
    return check_visible(instrument, answers, relevance, values)


def check_visible(
    instrument: Instrument,
    answers: Mapping[str, Any],
    relevance: Mapping[str, bool],
    values: Mapping[str, Any],
) -> list[AnswerError]:
    """``validate_answers`` given the result of ``visible_values`` for the same answers."""
    errors = [
        _error(k, "unknown_item", "问卷中没有这一题", "no such item in this questionnaire")
        for k in answers
        if not instrument.has_item(k)
    ]
    for item in instrument.items:
        if not item.has_value:
            continue
        value = answers.get(item.name)
        if not relevance[item.name]:
            if not is_empty(value):
                errors.append(
                    _error(item.name, "not_relevant", "按跳题逻辑此题不应作答",
                           "answered although skip logic hides this item")
                )  # fmt: skip
            continue
        if is_empty(value):
            if item.required:
                errors.append(_error(item.name, "required", "此题必答", "an answer is required"))
            continue
        error = _check_value(instrument, item, value)
        if error is None and item.constraint is not None:
            if evaluate(item.constraint.ast, values) is not True:
                msg = item.constraint_message
                errors.append(
                    _error(
                        item.name,
                        "constraint",
                        msg.zh if msg else "答案不符合本题要求",
                        (msg.en or msg.zh) if msg else "the answer breaks this item's constraint",
                    )
                )
        elif error is not None:
            errors.append(error)
    return errors
