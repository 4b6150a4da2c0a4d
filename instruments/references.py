"""Checks of what an expression refers to, against the items of the instrument.

Skip logic may only look back: ``relevant`` and ``constraint`` refer to items that come
earlier (a constraint may also refer to its own item, as ``.``). That keeps evaluation a
single pass in item order, on the server and in the browser, and rules out cycles.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .expr import Ast
from .model import CHOICE_TYPES, Choice, Item, ItemType

__all__ = ["check_expression", "Scope"]

_FUNCTION_TYPES = {
    "selected": (ItemType.SINGLE, ItemType.MULTIPLE, ItemType.YESNO, ItemType.CALCULATE),
    "count_selected": (ItemType.SINGLE, ItemType.MULTIPLE, ItemType.CALCULATE),
    "answered": tuple(ItemType),
}
_FUNCTIONS = frozenset(
    ["selected", "count_selected", "answered", "selected_at", "regex", "if", "concat",
     "coalesce", "string_length", "normalize_space", "int", "round", "number", "string", "count"]
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Where an expression stands: ``repeat_of`` maps every item and group name to the
    repeat it is inside (or None); ``here`` is the repeat of the expression's own item;
    ``repeats`` names the repeats; ``choice_columns`` the columns a choice_filter may read."""

    repeat_of: Mapping[str, str | None] = field(default_factory=dict)
    here: str | None = None
    repeats: frozenset[str] = frozenset()
    choice_columns: frozenset[str] | None = None


def _codes(item: Item, choices: Mapping[str, tuple[Choice, ...]]) -> set[str] | None:
    if item.type is ItemType.YESNO:
        return {"yes", "no"}
    if item.type in CHOICE_TYPES:
        return {c.code for c in choices.get(item.choices or "", ())}
    return None


def _walk(ast: Ast, func: str | None = None) -> Iterator[tuple[Ast, str | None]]:
    yield ast, func
    if ast[0] in ("lit", "var", "choice"):
        return
    inner = ast[0] if ast[0] in _FUNCTIONS else None
    for child in ast[1:]:
        yield from _walk(child, inner)


def check_expression(
    ast: Ast,
    field: str,
    item: Item,
    choices: Mapping[str, tuple[Choice, ...]],
    earlier: Mapping[str, Item],
    all_names: set[Any],
    scope: Scope | None = None,
) -> list[str]:
    """Reasons why ``ast`` (the ``field`` of ``item``) refers to items wrongly; [] if fine."""
    scope = scope or Scope()
    reasons: list[str] = []
    for node, func in _walk(ast):
        if node[0] == "var" and node[1] in scope.repeats:
            if func != "count":
                reasons.append(f"'{node[1]}' is a repeat: use count({node[1]})")
        elif node[0] == "count" and node[1][1] not in scope.repeats:
            reasons.append(f"count() takes the name of a repeat, not '{node[1][1]}'")
        elif node[0] == "var":
            reasons += _check_var(node[1], func, field, item, earlier, all_names)
            outer = scope.repeat_of.get(node[1])
            if outer is not None and outer != scope.here and node[1] in earlier:
                reasons.append(
                    f"'{node[1]}' is inside repeat '{outer}'; outside it use count({outer})"
                )
        elif node[0] == "position" and scope.here is None:
            reasons.append("position() can only be used inside a repeat")
        elif node[0] == "choice" and scope.choice_columns is not None:
            if node[1] not in scope.choice_columns:
                known = ", ".join(sorted(scope.choice_columns))
                reasons.append(f"the choice list has no column '{node[1]}' (columns: {known})")
        elif node[0] == "selected":
            reasons += _check_code(node[1][1], node[2][1], item, choices, earlier)
        elif node[0] in ("=", "!="):
            left, right = node[1], node[2]
            for var, lit in ((left, right), (right, left)):
                if var[0] == "var" and lit[0] == "lit":
                    reasons += _check_code(var[1], lit[1], item, choices, earlier)
    return list(dict.fromkeys(reasons))


def _target(name: str, item: Item, earlier: Mapping[str, Item]) -> Item | None:
    return item if name == item.name else earlier.get(name)


def _check_var(
    name: str,
    func: str | None,
    field: str,
    item: Item,
    earlier: Mapping[str, Item],
    all_names: set[Any],
) -> list[str]:
    if name == item.name and field == "relevant":
        return [f"refers to the item itself ('{name}'); skip logic can only use earlier answers"]
    if name not in all_names:
        return [f"unknown item '{name}'"]
    target = _target(name, item, earlier)
    if target is None:
        return [f"refers to item '{name}', which comes later; skip logic can only look back"]
    if target.type is ItemType.NOTE:
        return [f"'{name}' is a note and has no answer"]
    if func in _FUNCTION_TYPES and target.type not in _FUNCTION_TYPES[func]:
        return [f"{func}() cannot be used on '{name}', a {target.type} item"]
    if func is None and target.type is ItemType.MULTIPLE:
        return [
            f"'{name}' is a multiple-choice item: use selected({name}, 'code') "
            f"or count_selected({name}) instead of comparing it"
        ]
    return []


def _check_code(
    name: str,
    code: Any,
    item: Item,
    choices: Mapping[str, tuple[Choice, ...]],
    earlier: Mapping[str, Item],
) -> list[str]:
    target = _target(name, item, earlier)
    if target is None:
        return []
    codes = _codes(target, choices)
    if codes is None or not codes:
        return []
    text = code if isinstance(code, str) else str(code)
    if text != "" and text not in codes:  # q = '' asks "unanswered?"; any item may be
        return [f"'{text}' is not a code of item '{name}' (codes: {', '.join(sorted(codes))})"]
    return []
