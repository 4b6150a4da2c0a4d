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
    "Instrument",
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


VALUE_TYPES = frozenset(ItemType) - {ItemType.NOTE}
CHOICE_TYPES = frozenset({ItemType.SINGLE, ItemType.MULTIPLE})


@dataclass(frozen=True)
class Label:
    """A text in Simplified Chinese (always) and English (optional)."""

    zh: str
    en: str | None = None

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" and self.en else self.zh

    def to_dict(self) -> dict[str, str | None]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Choice:
    """One answer option. ``dont_know`` marks 说不清/不知道 options (see ``Indicator``)."""

    code: str
    label: Label
    dont_know: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label.to_dict(), "dont_know": self.dont_know}


@dataclass(frozen=True)
class Item:
    """One question (or a display-only ``note``).

    ``choices`` names a choice list (single/multiple). ``minimum``/``maximum``/``integer``
    apply to number items. ``feedback`` (问需/问计/问效) marks open questions whose text is
    collected as residents' feedback. ``yes_label``/``no_label`` label yes/no items.
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

    @property
    def has_value(self) -> bool:
        return self.type is not ItemType.NOTE

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
        return d


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
    published: bool = field(default=False, compare=False)
    source: str = field(default="", compare=False)

    def __hash__(self) -> int:  # the dict fields are not hashable; the hash names the content
        return hash((self.key, self.version, self.content_hash))

    @cached_property
    def _item_index(self) -> dict[str, Item]:
        return {it.name: it for it in self.items}

    @cached_property
    def _choice_index(self) -> dict[tuple[str, str], Choice]:
        return {(name, c.code): c for name, cs in self.choice_lists.items() for c in cs}

    def item(self, name: str) -> Item:
        """The item called ``name``; KeyError if none."""
        return self._item_index[name]

    def has_item(self, name: str) -> bool:
        """True when ``name`` is an item that takes an answer (not a note)."""
        item = self._item_index.get(name)
        return item is not None and item.has_value

    def indicator(self, key: str) -> Indicator:
        for ind in self.indicators:
            if ind.key == key:
                return ind
        raise KeyError(key)

    def choice_codes(self, item: Item) -> tuple[str, ...]:
        """The answer codes an item accepts (yes/no items: "yes", "no")."""
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
