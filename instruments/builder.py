"""Turn the YAML data of one instrument file into an ``Instrument``, collecting problems.

Every check of the file format lives here (docs/instruments.md, "File format"); the
builder records every problem it finds and goes on, so one run reports them all.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .expr import KEYWORDS, Expression, ExpressionError, normalise, parse
from .fields import FieldReader
from .model import (
    CHOICE_TYPES,
    DONT_KNOW_POLICIES,
    FEEDBACK_KINDS,
    INDICATOR_KINDS,
    METADATA,
    Choice,
    Group,
    Indicator,
    Instrument,
    Item,
    ItemType,
    Label,
)
from .problems import Problem
from .references import Scope, check_expression
from .yamlio import Mapping

__all__ = ["build_instrument", "NAME"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CODE = re.compile(r"[^\s'\"]+")
RESERVED = KEYWORDS | {"choice"}
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
TOP_FIELDS = ("key", "version", "title", "description", "choices", "items", "indicators", "profile")
ITEM_FIELDS = (
    "name", "type", "label", "hint", "required", "relevant", "constraint",
    "constraint_message", "choices", "min", "max", "integer", "feedback", "yes_label", "no_label",
    "calculation", "choice_filter", "default", "read_only", "required_message", "metadata",
)  # fmt: skip
GROUP_FIELDS = ("name", "type", "label", "relevant", "field_list", "repeat_count", "items")
GROUP_TYPES = ("group", "repeat")
CHOICE_FIELDS = ("code", "label", "dont_know", "filters")
# Expression fields: (type the expression must have, '.' allowed, choice.NAME allowed)
EXPRESSION_FIELDS = {
    "relevant": ("condition", False, False),
    "constraint": ("condition", True, False),
    "calculation": ("any", False, False),
    "choice_filter": ("condition", False, True),
    "repeat_count": ("value", False, False),
}
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
        by_name = {it.name: it for it in items if it.group is None or not self.in_repeat(it)}
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
            groups=tuple(self.groups.values()),
            source=source,
            warnings=tuple(self.warnings),
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
        seen_filtered: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
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
            filters = self.filters(entry.get("filters"), where, entry.line)
            # A code may come twice only under different filters (King county of Texas and
            # of Washington in a cascading select): a choice filter tells them apart.
            if code in seen and (not filters or (code, filters) in seen_filtered):
                self.problem(where, f"duplicate code '{code}'", entry.line)
            seen.add(code)
            seen_filtered.add((code, filters))
            label = self.label(
                entry.get("label"), where, f"label of code '{code}'", entry.line, True
            )
            dont_know = self.boolean(entry.get("dont_know"), where, "dont_know", entry.line)
            out.append(Choice(code, label or Label(code), dont_know, filters))
        return out

    def filters(self, value: Any, where: str, line: int | None) -> tuple[tuple[str, str], ...]:
        data = self.mapping(value, where, line)
        out = []
        for column, text in (data or {}).items():
            if not NAME.fullmatch(column) or column == "code":
                self.problem(where, f"filter column '{column}' must be letters, digits and _ "
                             "(and not 'code')", line)  # fmt: skip
            elif not isinstance(text, str):
                self.problem(where, f"filter column '{column}' must be a text", line)
            else:
                out.append((column, text))
        return tuple(out)

    def items(
        self, value: Any, choices: dict[str, tuple[Choice, ...]], line: int | None
    ) -> list[Item]:
        if not isinstance(value, list) or not value:
            self.problem("items", "'items' must be a non-empty list of questions", line)
            return []
        self.all_names = set(_names(value))
        self.future_repeats = frozenset(_repeats(value))
        self.earlier: dict[str, Item] = {}
        self.lines: dict[str, int | None] = {}
        self.groups: dict[str, Group] = {}
        self.repeat_of: dict[str, str | None] = {}
        self.walk(value, choices, None, None, line)
        return list(self.earlier.values())

    def in_repeat(self, item: Item) -> bool:
        return self.repeat_of.get(item.name) is not None

    def walk(
        self,
        entries: list[Any],
        choices: dict[str, tuple[Choice, ...]],
        parent: str | None,
        repeat: str | None,
        line: int | None,
    ) -> None:
        for index, entry in enumerate(entries, start=1):
            if not isinstance(entry, Mapping):
                self.problem(f"items[{index}]", "each item must be a mapping", line)
                continue
            if entry.get("type") in GROUP_TYPES:
                self.group(entry, index, choices, parent, repeat)
                continue
            item = self.item(entry, index, choices, self.earlier, self.all_names, parent, repeat)
            if item is None:
                continue
            if item.name in self.earlier or item.name in self.groups:
                first = self.lines.get(item.name)
                self.problem(
                    item.name, f"duplicate item name (first used on line {first})", entry.line
                )
                continue
            self.earlier[item.name] = item
            self.lines[item.name] = entry.line
            self.repeat_of[item.name] = repeat

    def group(
        self,
        data: Mapping,
        index: int,
        choices: dict[str, tuple[Choice, ...]],
        parent: str | None,
        repeat: str | None,
    ) -> None:
        line = data.line
        name = self.text(data.get("name"), f"items[{index}]", "name", line)
        if name is None:
            self.problem(f"items[{index}]", "the group has no name", line)
            return
        self.fields(data, GROUP_FIELDS, name)
        if not NAME.fullmatch(name) or name in RESERVED:
            self.problem(name, "a group name must be letters, digits and _", line)
        if name in self.groups or name in self.earlier:
            self.problem(name, f"duplicate name (first used on line {self.lines.get(name)})", line)
            return
        is_repeat = data.get("type") == "repeat"
        if is_repeat and repeat is not None:
            self.problem(name, f"a repeat inside repeat '{repeat}' is not supported", line)
            return
        here = Item(name, ItemType.NOTE, Label(name), group=parent)
        exprs = {
            f: self.expression(data.get(f), f, here, choices, self.earlier, self.all_names, line,
                               repeat=repeat)
            for f in ("relevant", "repeat_count")
        }  # fmt: skip
        if exprs["repeat_count"] is not None and not is_repeat:
            self.problem(name, "'repeat_count' only applies to a repeat", line)
        self.groups[name] = Group(
            name=name,
            label=self.label(data.get("label"), name, "label", line),
            relevant=exprs["relevant"],
            parent=parent,
            field_list=self.boolean(data.get("field_list"), name, "field_list", line),
            repeat=is_repeat,
            repeat_count=exprs["repeat_count"] if is_repeat else None,
        )
        self.lines[name] = line
        self.repeat_of[name] = repeat
        children = data.get("items")
        if not isinstance(children, list) or not children:
            self.problem(name, f"a {data.get('type')} needs 'items' (a non-empty list)", line)
            return
        self.walk(children, choices, name, name if is_repeat else repeat, line)

    def item(
        self,
        data: Mapping,
        index: int,
        choices: dict[str, tuple[Choice, ...]],
        earlier: dict[str, Item],
        all_names: set[Any],
        parent: str | None = None,
        repeat: str | None = None,
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
        metadata = self.metadata(data, where)
        kind = self.item_type(data.get("type") or (str(METADATA[metadata]) if metadata else None),
                              where, line)  # fmt: skip
        if kind is None:
            return None
        unasked = kind is ItemType.CALCULATE or metadata is not None
        label = self.label(data.get("label"), where, "label", line, required=not unasked)
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
            group=parent,
            default=self.text(data.get("default"), where, "default", line),
            read_only=self.boolean(data.get("read_only"), where, "read_only", line),
            required_message=self.label(
                data.get("required_message"), where, "required_message", line
            ),
            metadata=metadata,
        )
        self.placeholders(item, where, line)
        if item.minimum is not None and item.maximum is not None and item.minimum > item.maximum:
            self.problem(where, f"min {item.minimum} is greater than max {item.maximum}", line)
        exprs = {
            f: self.expression(data.get(f), f, item, choices, earlier, all_names, line,
                               repeat=repeat)
            for f in ("relevant", "constraint", "calculation", "choice_filter")
        }  # fmt: skip
        if kind is ItemType.CALCULATE and exprs["calculation"] is None:
            self.problem(where, "a calculate item needs 'calculation'", line)
        return replace(item, **exprs)

    def metadata(self, data: Mapping, where: str) -> str | None:
        name = self.text(data.get("metadata"), where, "metadata", data.line)
        if name is None:
            return None
        if name not in METADATA:
            self.problem(where, f"metadata must be one of {', '.join(METADATA)}", data.line)
            return None
        kind = data.get("type")
        if kind not in (None, "", str(METADATA[name])):
            self.problem(where, f"metadata '{name}' is a {METADATA[name]} item", data.line)
        return name

    def placeholders(self, item: Item, where: str, line: int | None) -> None:
        for label in (item.label, item.hint):
            texts = [label.zh, label.en or "", *(t for _, t in label.others)] if label else []
            for text in texts:
                for name in PLACEHOLDER.findall(text):
                    if name not in self.all_names:
                        self.problem(where, f"the label refers to unknown item '${{{name}}}'", line)

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
            "calculation": (ItemType.CALCULATE,),
            "choice_filter": (ItemType.SINGLE, ItemType.MULTIPLE),
        }
        for field, kinds in rules.items():
            if data.get(field) not in (None, "") and kind not in kinds:
                only = ", ".join(str(k) for k in kinds)
                self.problem(where, f"'{field}' only applies to {only} items", data.line)
        if kind in (ItemType.NOTE, ItemType.CALCULATE):
            for field in ("required", "constraint", "constraint_message", "default"):
                if data.get(field) not in (None, "", "false"):
                    what = (
                        "a note has no answer"
                        if kind is ItemType.NOTE
                        else "a calculation is not asked"
                    )
                    self.problem(where, f"{what}, so '{field}' makes no sense", data.line)

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
        repeat: str | None = None,
    ) -> Expression | None:
        source = self.text(value, item.name, field, line)
        if source is None:
            return None
        want, has_self, has_choice = EXPRESSION_FIELDS[field]
        try:
            ast = parse(
                source, self_name=item.name if has_self else None, want=want, choice=has_choice
            )
        except ExpressionError as exc:
            self.problem(item.name, f"{field} {source!r}: {exc}", line)
            return None
        normalised = normalise(source)
        if normalised != source:
            self.warnings.append(
                f"{self.file}:{line}: {item.name}: {field} {source!r}: typographic quotes or "
                f"full-width operators read as {normalised!r}"
            )
        columns = None
        if has_choice:
            listed = choices.get(item.choices or "", ())
            columns = frozenset({"code"} | {k for c in listed for k, _ in c.filters})
        scope = Scope(self.repeat_of, repeat, self.repeat_names(), columns)
        for reason in check_expression(ast, field, item, choices, earlier, all_names, scope):
            self.problem(item.name, f"{field} {source!r}: {reason}", line)
        return Expression(normalised, ast)

    def repeat_names(self) -> frozenset[str]:
        return frozenset(n for n, g in self.groups.items() if g.repeat) | self.future_repeats

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
        if item.choice_filter is not None:
            self.problem(
                where, f"item '{item_name}' has a choice_filter; rates need one list", line
            )
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


def _names(entries: list[Any]) -> list[Any]:
    """Every item and group name in a (nested) items list."""
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            out.append(entry.get("name"))
            if entry.get("type") in GROUP_TYPES and isinstance(entry.get("items"), list):
                out += _names(entry["items"])
    return out


def _repeats(entries: list[Any]) -> set[str]:
    out: set[str] = set()
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("type") in GROUP_TYPES:
            if entry.get("type") == "repeat" and isinstance(entry.get("name"), str):
                out.add(entry["name"])
            if isinstance(entry.get("items"), list):
                out |= _repeats(entry["items"])
    return out
