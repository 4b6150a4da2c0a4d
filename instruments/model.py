"""The questionnaire as data: frozen dataclasses built by the loader.

An ``Instrument`` is immutable once loaded. Its ``content_hash`` is the sha256 of its
canonical JSON form (``canonical_dict``), so whitespace, comments, key order and the way an
expression is spaced do not change it, while any change of meaning does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from .expr import Expression

__all__ = [
    "ItemType",
    "Label",
    "Choice",
    "Item",
    "Indicator",
    "Group",
    "Instrument",
    "METADATA",
    "VALUE_TYPES",
    "CHOICE_TYPES",
    "YES",
    "NO",
    "FEEDBACK_KINDS",
    "INDICATOR_KINDS",
    "DONT_KNOW_POLICIES",
]

YES, NO = "yes", "no"
FEEDBACK_KINDS = ("问需", "问计", "问效")
INDICATOR_KINDS = ("headline", "area", "detail")
DONT_KNOW_POLICIES = ("negative", "exclude")
FORMAT_VERSION = 1


class ItemType(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    YESNO = "yesno"
    NUMBER = "number"
    TEXT = "text"
    NOTE = "note"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    GEOPOINT = "geopoint"
    CALCULATE = "calculate"


VALUE_TYPES = frozenset(ItemType) - {ItemType.NOTE}
CHOICE_TYPES = frozenset({ItemType.SINGLE, ItemType.MULTIPLE})
# Recorded by the tablet, never asked: metadata name -> the item type of its value.
METADATA = {
    "start": ItemType.DATETIME,
    "end": ItemType.DATETIME,
    "today": ItemType.DATE,
    "deviceid": ItemType.TEXT,
}


@dataclass(frozen=True)
class Label:
    """A text in Simplified Chinese (always), English (optional) and any other languages
    (``others``: (language, text) pairs, e.g. (("fr", "Ménage"),)).

    A text may refer to answers as ``${name}``: the tablet shows the answer there
    (``fill_label``)."""

    zh: str
    en: str | None = None
    others: tuple[tuple[str, str], ...] = ()

    def get(self, lang: str = "zh") -> str:
        if lang == "en":
            return self.en or self.zh
        return dict(self.others).get(lang) or self.zh

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"zh": self.zh, "en": self.en}
        if self.others:  # only when present: older versions keep their content hash
            d["others"] = dict(self.others)
        return d


@dataclass(frozen=True)
class Choice:
    """One answer option. ``dont_know`` marks 说不清/不知道 options (see ``Indicator``)."""

    code: str
    label: Label
    dont_know: bool = False
    filters: tuple[tuple[str, str], ...] = ()  # columns a choice_filter reads (choice.NAME)

    def to_dict(self) -> dict[str, Any]:
        d = {"code": self.code, "label": self.label.to_dict(), "dont_know": self.dont_know}
        if self.filters:
            d["filters"] = dict(self.filters)
        return d

    def column(self, name: str) -> str:
        """A choice_filter's ``choice.NAME``: ``code`` is the code, others the columns."""
        return self.code if name == "code" else dict(self.filters).get(name, "")


@dataclass(frozen=True)
class Item:
    """One question (or a display-only ``note``).

    ``choices`` names a choice list (single/multiple). ``minimum``/``maximum``/``integer``
    apply to number items. ``feedback`` (问需/问计/问效) marks open questions whose text is
    collected as residents' feedback. ``yes_label``/``no_label`` label yes/no items.

    ``group`` names the innermost group (or repeat) the item is in. A ``calculate`` item
    has a ``calculation`` and is never asked; a ``metadata`` item (start, end, today,
    deviceid) is recorded by the tablet, never asked. ``choice_filter`` (single/multiple)
    is a condition each choice must meet to be offered (cascading selects). ``default``
    is the answer the tablet fills in first; ``read_only`` items are shown, not edited.
    """

    name: str
    type: ItemType
    label: Label
    hint: Label | None = None
    required: bool = False
    relevant: Expression | None = None
    constraint: Expression | None = None
    constraint_message: Label | None = None
    choices: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    integer: bool = False
    feedback: str | None = None
    yes_label: Label | None = None
    no_label: Label | None = None
    group: str | None = None
    calculation: Expression | None = None
    choice_filter: Expression | None = None
    default: str | None = None
    read_only: bool = False
    required_message: Label | None = None
    metadata: str | None = None

    @property
    def has_value(self) -> bool:
        return self.type is not ItemType.NOTE

    @property
    def asked(self) -> bool:
        """True when the canvasser answers it (not a note, calculation or metadata)."""
        return self.type not in (ItemType.NOTE, ItemType.CALCULATE) and self.metadata is None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "label": self.label.to_dict(),
            "hint": self.hint.to_dict() if self.hint else None,
            "required": self.required,
            "relevant": self.relevant.to_json() if self.relevant else None,
            "constraint": self.constraint.to_json() if self.constraint else None,
            "constraint_message": (
                self.constraint_message.to_dict() if self.constraint_message else None
            ),
        }
        if self.type in CHOICE_TYPES:
            d["choices"] = self.choices
        if self.type is ItemType.NUMBER:
            d.update(min=self.minimum, max=self.maximum, integer=self.integer)
        if self.type is ItemType.YESNO:
            d["yes_label"] = (self.yes_label or Label("是", "Yes")).to_dict()
            d["no_label"] = (self.no_label or Label("否", "No")).to_dict()
        if self.feedback:
            d["feedback"] = self.feedback
        # The fields below enter only when set: older versions keep their content hash.
        for key, value in (
            ("group", self.group),
            ("calculation", self.calculation.to_json() if self.calculation else None),
            ("choice_filter", self.choice_filter.to_json() if self.choice_filter else None),
            ("default", self.default),
            ("read_only", self.read_only or None),
            (
                "required_message",
                self.required_message.to_dict() if self.required_message else None,
            ),
            ("metadata", self.metadata),
        ):
            if value is not None:
                d[key] = value
        return d


@dataclass(frozen=True)
class Group:
    """Questions shown together: a section (``field_list``: all on one screen) or a
    ``repeat`` (asked once per instance, e.g. per household member; the answers are a list
    of {item: answer} objects under the repeat's name). ``parent`` is the enclosing group.
    A group's ``relevant`` hides every item inside it; ``repeat_count`` fixes the number
    of instances."""

    name: str
    label: Label | None = None
    relevant: Expression | None = None
    parent: str | None = None
    field_list: bool = False
    repeat: bool = False
    repeat_count: Expression | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label.to_dict() if self.label else None,
            "relevant": self.relevant.to_json() if self.relevant else None,
            "parent": self.parent,
            "field_list": self.field_list,
            "repeat": self.repeat,
            "repeat_count": self.repeat_count.to_json() if self.repeat_count else None,
        }


@dataclass(frozen=True)
class Indicator:
    """A 0/1 indicator coded from one single-choice or yes/no item.

    ``positive`` codes give 1. A 说不清/不知道 answer (a choice marked ``dont_know``) gives 0
    when ``dont_know == "negative"`` (the conservative default the assessment uses) or None
    (excluded from the denominator) when ``"exclude"``. Any other answer gives 0; an
    unanswered or non-relevant item gives None.
    """

    key: str
    label: Label
    kind: str
    item: str
    positive: tuple[str, ...]
    dont_know: str = "negative"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label.to_dict(),
            "kind": self.kind,
            "item": self.item,
            "positive": list(self.positive),
            "dont_know": self.dont_know,
        }


@dataclass(frozen=True)
class Instrument:
    """A questionnaire version. ``version`` is a positive int; ``(key, version)`` names it.

    ``profile`` maps weighting fields (age_group, sex, residence_years) to item names.
    ``published`` is True when the directory's ``_published.yaml`` records this version.
    """

    key: str
    version: int
    title: Label
    items: tuple[Item, ...]
    choice_lists: dict[str, tuple[Choice, ...]]
    indicators: tuple[Indicator, ...] = ()
    profile: dict[str, str] = field(default_factory=dict)
    description: Label | None = None
    groups: tuple[Group, ...] = ()
    published: bool = field(default=False, compare=False)
    source: str = field(default="", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __hash__(self) -> int:  # the dict fields are not hashable; the hash names the content
        return hash((self.key, self.version, self.content_hash))

    @cached_property
    def _item_index(self) -> dict[str, Item]:
        return {it.name: it for it in self.items}

    @cached_property
    def _choice_index(self) -> dict[tuple[str, str], Choice]:
        return {(name, c.code): c for name, cs in self.choice_lists.items() for c in cs}

    @cached_property
    def _group_index(self) -> dict[str, Group]:
        return {g.name: g for g in self.groups}

    def group(self, name: str) -> Group:
        """The group (or repeat) called ``name``; KeyError if none."""
        return self._group_index[name]

    def repeat_of(self, item: Item) -> Group | None:
        """The innermost repeat an item is in, or None."""
        name = item.group
        while name is not None:
            group = self._group_index[name]
            if group.repeat:
                return group
            name = group.parent
        return None

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """The label languages used: "zh", then "en" when any English text, then others."""
        langs: dict[str, None] = {"zh": None}
        labels = [self.title, *(it.label for it in self.items)]
        labels += [c.label for cs in self.choice_lists.values() for c in cs]
        for label in labels:
            if label.en:
                langs["en"] = None
            for lang, _ in label.others:
                langs[lang] = None
        return tuple(langs)

    @cached_property
    def compiled(self) -> Any:
        """The skip logic, constraints and calculations compiled once for this version
        (``instruments.runner.Program``), reused for every response."""
        from .runner import Program

        return Program(self)

    def item(self, name: str) -> Item:
        """The item called ``name``; KeyError if none."""
        return self._item_index[name]

    def has_item(self, name: str) -> bool:
        """True when ``name`` is a key of a response's answers: an item that takes an answer
        (not a note, not inside a repeat) or a repeat."""
        item = self._item_index.get(name)
        if item is not None:
            return item.has_value and self.repeat_of(item) is None
        group = self._group_index.get(name)
        return group is not None and group.repeat  # a repeat's answer: a list of instances

    def indicator(self, key: str) -> Indicator:
        for ind in self.indicators:
            if ind.key == key:
                return ind
        raise KeyError(key)

    def choice_codes(self, item: Item) -> tuple[str, ...]:
        """The answer codes an item accepts (yes/no items: "yes", "no"), before any
        choice_filter."""
        if item.type is ItemType.YESNO:
            return (YES, NO)
        if item.choices is None:
            return ()
        return tuple(c.code for c in self.choice_lists.get(item.choices, ()))

    def is_code(self, item: Item, code: object) -> bool:
        """True when ``code`` is one of the item's answer codes."""
        if item.type is ItemType.YESNO:
            return code in (YES, NO)
        return isinstance(code, str) and (item.choices or "", code) in self._choice_index

    def choice(self, item: Item, code: str) -> Choice | None:
        if item.type is ItemType.YESNO:
            labels = {
                YES: item.yes_label or Label("是", "Yes"),
                NO: item.no_label or Label("否", "No"),
            }
            return Choice(code, labels[code]) if code in labels else None
        return self._choice_index.get((item.choices or "", code))

    def canonical_dict(self) -> dict[str, Any]:
        """Everything that defines the questionnaire's meaning, as plain JSON data.

        The content hash is taken over this, so changing its shape changes every published
        version's hash: add a new field only when it differs from its default.
        """
        return {
            "format": FORMAT_VERSION,
            "key": self.key,
            "version": self.version,
            "title": self.title.to_dict(),
            "description": self.description.to_dict() if self.description else None,
            "choices": {
                name: [c.to_dict() for c in choices] for name, choices in self.choice_lists.items()
            },
            "items": [it.to_dict() for it in self.items],
            "indicators": [ind.to_dict() for ind in self.indicators],
            "profile": dict(self.profile),
            **({"groups": [g.to_dict() for g in self.groups]} if self.groups else {}),
        }

    @cached_property
    def content_hash(self) -> str:
        """``"sha256:<hex>"`` of the canonical JSON (sorted keys, UTF-8, no spaces)."""
        text = json.dumps(
            self.canonical_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_client_dict(self) -> dict[str, Any]:
        """The JSON-serializable form the browser runs: ``canonical_dict`` plus the hash.

        Expressions are given as ASTs (see docs/instruments.md, "Expression AST").
        """
        d = self.canonical_dict()
        d["content_hash"] = self.content_hash
        d["published"] = self.published
        return d
