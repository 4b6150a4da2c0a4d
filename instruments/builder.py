"""Turn the YAML data of one instrument file into an ``Instrument``, collecting problems.

Every check of the file format lives here (docs/instruments.md, "File format"); the
builder records every problem it finds and goes on, so one run reports them all.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .expr import Expression, ExpressionError, parse
from .fields import FieldReader
from .model import (
    CHOICE_TYPES,
    DONT_KNOW_POLICIES,
    FEEDBACK_KINDS,
    INDICATOR_KINDS,
    Choice,
    Indicator,
    Instrument,
    Item,
    ItemType,
    Label,
)
from .problems import Problem
from .references import check_expression
from .yamlio import Mapping

__all__ = ["build_instrument", "NAME"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CODE = re.compile(r"[^\s'\"]+")
RESERVED = frozenset({"and", "or", "not"})
TOP_FIELDS = ("key", "version", "title", "description", "choices", "items", "indicators", "profile")
ITEM_FIELDS = (
    "name", "type", "label", "hint", "required", "relevant", "constraint",
    "constraint_message", "choices", "min", "max", "integer", "feedback", "yes_label", "no_label",
)  # fmt: skip
CHOICE_FIELDS = ("code", "label", "dont_know")
INDICATOR_FIELDS = ("label", "kind", "item", "positive", "dont_know")
INDICATOR_ITEM_TYPES = (ItemType.SINGLE, ItemType.YESNO)
PROFILE_ITEM_TYPES = (ItemType.SINGLE, ItemType.YESNO, ItemType.NUMBER)


def build_instrument(data: Any, file: str) -> tuple[Instrument | None, list[Problem]]:
    """The instrument in ``data`` (parsed YAML), or None, and every problem found."""
    builder = _Builder(file)
    inst = builder.build(data, file)
    return (inst if not builder.problems else None), builder.problems


class _Builder(FieldReader):
    """Turns the YAML data of one file into an Instrument, collecting problems."""

    def build(self, data: Any, source: str) -> Instrument | None:
        if not isinstance(data, Mapping):
            self.problem(
                "instrument", "the file must be a YAML mapping (key:, version:, items:, ...)"
            )
            return None
        self.fields(data, TOP_FIELDS, "instrument")
        line = data.line
        key = self.text(data.get("key"), "instrument", "key", line)
        if key is None:
            self.problem("instrument", "'key' is missing", line)
        elif not NAME.fullmatch(key):
            self.problem("instrument", f"key {key!r} must be letters, digits and _", line)
        version = self.version(data.get("version"), line)
        title = self.label(data.get("title"), "instrument", "title", line, required=True)
        description = self.label(data.get("description"), "instrument", "description", line)
        choices = self.choice_lists(data.get("choices"), line)
        items = self.items(data.get("items"), choices, line)
        by_name = {it.name: it for it in items}
        indicators = self.indicators(data.get("indicators"), by_name, choices, line)
        profile = self.profile(data.get("profile"), by_name, line)
        if self.problems or key is None or version is None or title is None:
            return None
        return Instrument(
            key=key,
            version=version,
            title=title,
            items=tuple(items),
            choice_lists=choices,
            indicators=tuple(indicators),
            profile=profile,
            description=description,
            source=source,
        )

    def version(self, value: Any, line: int | None) -> int | None:
        if value is None or value == "":
            self.problem("instrument", "'version' is missing (a whole number such as 1)", line)
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]*", value):
            self.problem("instrument", f"version must be a whole number ≥ 1, not {value!r}", line)
            return None
        return int(value)

    def choice_lists(self, value: Any, line: int | None) -> dict[str, tuple[Choice, ...]]:
        lists: dict[str, tuple[Choice, ...]] = {}
        data = self.mapping(value, "choices", line)
        for name, entries in (data or {}).items():
            where = f"choices.{name}"
            if not NAME.fullmatch(name):
                self.problem(where, "a choice list name must be letters, digits and _", data.line)
            if not isinstance(entries, list) or not entries:
                self.problem(where, "a choice list must be a non-empty list of choices", data.line)
                continue
            lists[name] = tuple(self.choice_list(entries, where, data.line))
        return lists

    def choice_list(self, entries: list[Any], where: str, line: int | None) -> list[Choice]:
        out: list[Choice] = []
        seen: set[str] = set()
        for entry in entries:
            if not isinstance(entry, Mapping):
                self.problem(where, "each choice must be a mapping with code and label", line)
                continue
            self.fields(entry, CHOICE_FIELDS, where)
            code = self.text(entry.get("code"), where, "code", entry.line)
            if code is None:
                self.problem(where, "a choice has no code", entry.line)
                continue
            if not CODE.fullmatch(code):
                self.problem(where, f"code {code!r} must not contain spaces or quotes", entry.line)
            if code in seen:
                self.problem(where, f"duplicate code '{code}'", entry.line)
            seen.add(code)
            label = self.label(
                entry.get("label"), where, f"label of code '{code}'", entry.line, True
            )
            dont_know = self.boolean(entry.get("dont_know"), where, "dont_know", entry.line)
            out.append(Choice(code, label or Label(code), dont_know))
        return out

    def items(
        self, value: Any, choices: dict[str, tuple[Choice, ...]], line: int | None
    ) -> list[Item]:
        if not isinstance(value, list) or not value:
            self.problem("items", "'items' must be a non-empty list of questions", line)
            return []
        all_names = {e.get("name") for e in value if isinstance(e, Mapping)}
        earlier: dict[str, Item] = {}
        lines: dict[str, int | None] = {}
        for index, entry in enumerate(value, start=1):
            if not isinstance(entry, Mapping):
                self.problem(f"items[{index}]", "each item must be a mapping", line)
                continue
            item = self.item(entry, index, choices, earlier, all_names)
            if item is None:
                continue
            if item.name in earlier:
                self.problem(
                    item.name,
                    f"duplicate item name (first used on line {lines[item.name]})",
                    entry.line,
                )
                continue
            earlier[item.name] = item
            lines[item.name] = entry.line
        return list(earlier.values())

    def item(
        self,
        data: Mapping,
        index: int,
        choices: dict[str, tuple[Choice, ...]],
        earlier: dict[str, Item],
        all_names: set[Any],
    ) -> Item | None:
        line = data.line
        name = self.text(data.get("name"), f"items[{index}]", "name", line)
        if name is None:
            self.problem(f"items[{index}]", "the item has no name", line)
            return None
        where = name
        if not NAME.fullmatch(name) or name in RESERVED:
            self.problem(where, "an item name must be letters, digits and _ (not and/or/not)", line)
        self.fields(data, ITEM_FIELDS, where)
        kind = self.item_type(data.get("type"), where, line)
        if kind is None:
            return None
        label = self.label(data.get("label"), where, "label", line, required=True)
        list_name = self.item_choices(data, kind, choices, where)
        required = self.boolean(data.get("required"), where, "required", line)
        self.only_for(data, kind, where)
        item = Item(
            name=name,
            type=kind,
            label=label or Label(name),
            hint=self.label(data.get("hint"), where, "hint", line),
            required=required,
            choices=list_name,
            minimum=self.number(data.get("min"), where, "min", line),
            maximum=self.number(data.get("max"), where, "max", line),
            integer=self.boolean(data.get("integer"), where, "integer", line),
            feedback=self.feedback(data.get("feedback"), kind, where, line),
            yes_label=self.label(data.get("yes_label"), where, "yes_label", line),
            no_label=self.label(data.get("no_label"), where, "no_label", line),
            constraint_message=self.label(
                data.get("constraint_message"), where, "constraint_message", line
            ),
        )
        if item.minimum is not None and item.maximum is not None and item.minimum > item.maximum:
            self.problem(where, f"min {item.minimum} is greater than max {item.maximum}", line)
        relevant = self.expression(
            data.get("relevant"), "relevant", item, choices, earlier, all_names, line
        )
        constraint = self.expression(
            data.get("constraint"), "constraint", item, choices, earlier, all_names, line
        )
        return replace(item, relevant=relevant, constraint=constraint)

    def item_type(self, value: Any, where: str, line: int | None) -> ItemType | None:
        if value is None or value == "":
            self.problem(where, "'type' is missing", line)
            return None
        try:
            return ItemType(value)
        except ValueError:
            known = ", ".join(t.value for t in ItemType)
            self.problem(where, f"unknown type {value!r} (known: {known})", line)
            return None

    def item_choices(
        self, data: Mapping, kind: ItemType, choices: dict[str, tuple[Choice, ...]], where: str
    ) -> str | None:
        list_name = self.text(data.get("choices"), where, "choices", data.line)
        if kind not in CHOICE_TYPES:
            if list_name is not None:
                self.problem(
                    where, "'choices' only applies to single and multiple items", data.line
                )
            return None
        if list_name is None:
            self.problem(
                where, f"a {kind} item needs 'choices' (the name of a choice list)", data.line
            )
        elif list_name not in choices:
            self.problem(
                where, f"choice list '{list_name}' is not defined under choices:", data.line
            )
        return list_name

    def only_for(self, data: Mapping, kind: ItemType, where: str) -> None:
        rules = {
            "min": (ItemType.NUMBER,),
            "max": (ItemType.NUMBER,),
            "integer": (ItemType.NUMBER,),
            "yes_label": (ItemType.YESNO,),
            "no_label": (ItemType.YESNO,),
            "feedback": (ItemType.TEXT,),
        }
        for field, kinds in rules.items():
            if data.get(field) not in (None, "") and kind not in kinds:
                only = ", ".join(str(k) for k in kinds)
                self.problem(where, f"'{field}' only applies to {only} items", data.line)
        if kind is ItemType.NOTE:
            for field in ("required", "constraint", "constraint_message"):
                if data.get(field) not in (None, "", "false"):
                    self.problem(
                        where, f"a note has no answer, so '{field}' makes no sense", data.line
                    )

    def feedback(self, value: Any, kind: ItemType, where: str, line: int | None) -> str | None:
        text = self.text(value, where, "feedback", line)
        if text is not None and text not in FEEDBACK_KINDS:
            self.problem(where, f"feedback must be one of {', '.join(FEEDBACK_KINDS)}", line)
            return None
        return text if kind is ItemType.TEXT else None

    def expression(
        self,
        value: Any,
        field: str,
        item: Item,
        choices: dict[str, tuple[Choice, ...]],
        earlier: dict[str, Item],
        all_names: set[Any],
        line: int | None,
    ) -> Expression | None:
        source = self.text(value, item.name, field, line)
        if source is None:
            return None
        try:
            ast = parse(source, self_name=item.name if field == "constraint" else None)
        except ExpressionError as exc:
            self.problem(item.name, f"{field} {source!r}: {exc}", line)
            return None
        for reason in check_expression(ast, field, item, choices, earlier, all_names):
            self.problem(item.name, f"{field} {source!r}: {reason}", line)
        return Expression(source, ast)

    def indicators(
        self,
        value: Any,
        items: dict[str, Item],
        choices: dict[str, tuple[Choice, ...]],
        line: int | None,
    ) -> list[Indicator]:
        out: list[Indicator] = []
        data = self.mapping(value, "indicators", line)
        for key, spec in (data or {}).items():
            where = f"indicators.{key}"
            if not NAME.fullmatch(key):
                self.problem(where, "an indicator key must be letters, digits and _", data.line)
            if not isinstance(spec, Mapping):
                self.problem(where, "must be a mapping with label, kind, item, positive", data.line)
                continue
            indicator = self.indicator(key, spec, where, items, choices)
            if indicator is not None:
                out.append(indicator)
        return out

    def indicator(
        self,
        key: str,
        spec: Mapping,
        where: str,
        items: dict[str, Item],
        choices: dict[str, tuple[Choice, ...]],
    ) -> Indicator | None:
        line = spec.line
        self.fields(spec, INDICATOR_FIELDS, where)
        label = self.label(spec.get("label"), where, "label", line, required=True)
        kind = self.text(spec.get("kind"), where, "kind", line) or "headline"
        if kind not in INDICATOR_KINDS:
            self.problem(
                where, f"kind must be one of {', '.join(INDICATOR_KINDS)}, not {kind!r}", line
            )
        dont_know = self.text(spec.get("dont_know"), where, "dont_know", line) or "negative"
        if dont_know not in DONT_KNOW_POLICIES:
            self.problem(where, f"dont_know must be negative or exclude, not {dont_know!r}", line)
        item_name = self.text(spec.get("item"), where, "item", line)
        positive = spec.get("positive")
        positive = [positive] if isinstance(positive, str) else positive
        if (
            not isinstance(positive, list)
            or not positive
            or not all(isinstance(p, str) for p in positive)
        ):
            self.problem(
                where, "'positive' must list the answer codes that count as positive", line
            )
            positive = []
        if item_name is None:
            self.problem(where, "'item' is missing", line)
            return None
        item = items.get(item_name)
        if item is None:
            self.problem(where, f"points at unknown item '{item_name}'", line)
            return None
        if item.type not in INDICATOR_ITEM_TYPES:
            self.problem(
                where, f"item '{item_name}' is a {item.type} item; use a single or yesno item", line
            )
            return None
        codes = {"yes": None, "no": None} if item.type is ItemType.YESNO else {
            c.code: c for c in choices.get(item.choices or "", ())
        }  # fmt: skip
        if item.type is not ItemType.YESNO and item.choices not in choices:
            positive = []  # the missing list is reported on the item already
        for code in positive:
            if code not in codes:
                self.problem(
                    where, f"positive code '{code}' is not a choice of item '{item_name}'", line
                )
            elif codes[code] is not None and codes[code].dont_know:
                self.problem(where, f"positive code '{code}' is marked dont_know", line)
        return Indicator(key, label or Label(key), kind, item_name, tuple(positive), dont_know)

    def profile(self, value: Any, items: dict[str, Item], line: int | None) -> dict[str, str]:
        out: dict[str, str] = {}
        data = self.mapping(value, "profile", line)
        for field, item_name in (data or {}).items():
            where = f"profile.{field}"
            if not NAME.fullmatch(field):
                self.problem(where, "a profile field must be letters, digits and _", data.line)
            item = items.get(item_name) if isinstance(item_name, str) else None
            if item is None:
                self.problem(where, f"points at unknown item {item_name!r}", data.line)
                continue
            if item.type not in PROFILE_ITEM_TYPES:
                self.problem(
                    where,
                    f"item '{item_name}' is a {item.type} item; use single, yesno or number",
                    data.line,
                )
                continue
            out[field] = item_name
        return out
