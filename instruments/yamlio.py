"""Strict YAML reading for instrument files.

Every scalar is read as text (PyYAML's ``BaseLoader``): the loader decides what a field
means, so ``yes``, ``no``, ``on`` and ``01`` stay the codes the author wrote instead of
turning into booleans or numbers. Mappings remember their line and a key written twice is
an error (plain PyYAML silently keeps the last one).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["Mapping", "YamlError", "read_yaml", "line_of"]


class Mapping(dict):
    """A YAML mapping that knows the (1-based) line it starts on."""

    line: int | None = None


class YamlError(ValueError):
    """The text is not well-formed YAML; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


# libyaml's parser when PyYAML was built with it (the wheels are): the same events and
# marks, about ten times faster than the pure-Python scanner on a 1,000-line instrument.
_BaseLoader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class _StrictLoader(_BaseLoader):
    def construct_mapping(self, node: Any, deep: bool = False) -> Mapping:  # type: ignore[override]
        if not isinstance(node, yaml.MappingNode):
            raise YamlError("expected a mapping", node.start_mark.line + 1)
        out = Mapping()
        out.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise YamlError("mapping keys must be plain text", key_node.start_mark.line + 1)
            if key in out:
                raise YamlError(f"key '{key}' is written twice", key_node.start_mark.line + 1)
            out[key] = self.construct_object(value_node, deep=deep)
        return out


def read_yaml(text: str) -> Any:
    """Parse YAML text with every scalar as ``str``; raise ``YamlError`` on bad YAML."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - BaseLoader builds no objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise YamlError(reason or "invalid YAML", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), None) from None


def line_of(value: Any) -> int | None:
    return value.line if isinstance(value, Mapping) else None
