"""Checks of what an expression refers to, against the items of the instrument.

Skip logic may only look back: ``relevant`` and ``constraint`` refer to items that come
earlier (a constraint may also refer to its own item, as ``.``). That keeps evaluation a
single pass in item order, on the server and in the browser, and rules out cycles.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .expr import Ast
from .model import CHOICE_TYPES, Choice, Item, ItemType

__all__ = ["check_expression"]

_FUNCTION_TYPES = {
    "selected": (ItemType.SINGLE, ItemType.MULTIPLE, ItemType.YESNO),
    "count_selected": (ItemType.SINGLE, ItemType.MULTIPLE),
    "answered": tuple(ItemType),
}


def _codes(item: Item, choices: Mapping[str, tuple[Choice, ...]]) -> set[str] | None:
    if item.type is ItemType.YESNO:
        return {"yes", "no"}
    if item.type in CHOICE_TYPES:
        return {c.code for c in choices.get(item.choices or "", ())}
    return None


def _walk(ast: Ast, func: str | None = None) -> Iterator[tuple[Ast, str | None]]:
    yield ast, func
    if ast[0] in ("lit", "var"):
        return
    inner = ast[0] if ast[0] in _FUNCTION_TYPES else None
    for child in ast[1:]:
        yield from _walk(child, inner)


def check_expression(
    ast: Ast,
    field: str,
    item: Item,
    choices: Mapping[str, tuple[Choice, ...]],
    earlier: Mapping[str, Item],
    all_names: set[Any],
) -> list[str]:
    """Reasons why ``ast`` (the ``field`` of ``item``) refers to items wrongly; [] if fine."""
    reasons: list[str] = []
    for node, func in _walk(ast):
        if node[0] == "var":
            reasons += _check_var(node[1], func, field, item, earlier, all_names)
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
    if func is not None and target.type not in _FUNCTION_TYPES[func]:
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
