"""Reading the scalar fields of an instrument file, recording a problem for each bad one.

Every YAML scalar arrives as text (see ``yamlio``); these readers give it its meaning —
booleans are ``true``/``false``, numbers are decimal literals, labels are a text or a
``{zh, en}`` mapping — and never raise: a bad value is a ``Problem`` and a None.
"""

from __future__ import annotations

import re
from typing import Any

from .model import Label
from .problems import Problem
from .yamlio import Mapping

__all__ = ["FieldReader", "LANGUAGE"]

LANGUAGE = re.compile(r"[a-z][A-Za-z0-9_-]*")


class FieldReader:
    """Collects problems for one file while reading its fields."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def problem(self, where: str, reason: str, line: int | None = None) -> None:
        self.problems.append(Problem(self.file, where, reason, line))

    # -- scalar fields -------------------------------------------------------------------
    def text(self, value: Any, where: str, field: str, line: int | None) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.problem(where, f"'{field}' must be text", line)
            return None
        return value.strip()

    def boolean(self, value: Any, where: str, field: str, line: int | None) -> bool:
        if value is None or value == "":
            return False
        if value in ("true", "false"):
            return value == "true"
        self.problem(where, f"'{field}' must be true or false, not {value!r}", line)
        return False

    def number(self, value: Any, where: str, field: str, line: int | None) -> int | float | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+\.[0-9]+", value):
            return float(value)
        self.problem(where, f"'{field}' must be a number, not {value!r}", line)
        return None

    def label(
        self, value: Any, where: str, field: str, line: int | None, required: bool = False
    ) -> Label | None:
        if value is None or value == "":
            if required:
                self.problem(where, f"'{field}' is missing (a Chinese text is required)", line)
            return None
        if isinstance(value, str):
            return Label(value.strip())
        if not isinstance(value, dict):
            self.problem(where, f"'{field}' must be a text or a mapping with zh and en", line)
            return None
        others = []
        for lang, text in value.items():
            if lang in ("zh", "en"):
                continue
            if not LANGUAGE.fullmatch(lang):
                self.problem(
                    where, f"'{field}' has unknown language '{lang}' (use zh, en, fr, es-MX, ...)",
                    line,
                )  # fmt: skip
            elif isinstance(text, str) and text.strip():
                others.append((lang, text.strip()))
        zh, en = value.get("zh"), value.get("en")
        if not isinstance(zh, str) or not zh.strip():
            self.problem(where, f"'{field}' has no zh text (Simplified Chinese is required)", line)
            return None
        if en is not None and not isinstance(en, str):
            self.problem(where, f"'{field}.en' must be text", line)
            en = None
        return Label(zh.strip(), en.strip() if en and en.strip() else None, tuple(others))

    def fields(self, data: Mapping, allowed: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(
                    where, f"unknown field '{key}' (allowed: {', '.join(allowed)})", data.line
                )

    def mapping(self, value: Any, where: str, line: int | None) -> Mapping | None:
        if value is None or value == "":
            return None
        if not isinstance(value, Mapping):
            self.problem(where, "must be a mapping (name: value lines)", line)
            return None
        return value

    # -- the parts of an instrument ------------------------------------------------------
