"""Translate XLSForm (XPath-style) expressions into the instrument expression language.

Supported: ``${name}``, ``.``, comparisons, ``and``/``or``/``not(...)``, parentheses,
string and number literals, ``selected()``, ``count-selected()``, and ``${q} = ''`` /
``${q} != ''`` (→ ``not answered(q)`` / ``answered(q)``). Anything else raises
``ValueError`` with the reason; the caller names the cell.
"""

from __future__ import annotations

import re

from .expr import ExpressionError, parse

__all__ = ["translate_expression"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


_XTOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{\s*(?P<refname>[^}\s]*)\s*\})
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)
  | (?P<dot>\.)
  | (?P<punct>[(),])
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_FUNCTIONS = {"selected": "selected", "count-selected": "count_selected", "not": "not"}


def translate_expression(source: str) -> str:
    """An XLSForm expression in our language; ValueError(reason) when not translatable."""
    tokens: list[tuple[str, str]] = []
    for m in _XTOKEN.finditer(source):
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "ws":
            continue
        if kind == "ref":
            name = m.group("refname")
            if not NAME.fullmatch(name):
                raise ValueError(f"item name '{name}' must be letters, digits and _")
            tokens.append(("name", name))
        elif kind == "name":
            tokens.append(_translate_name(text, source, m.end()))
        elif kind == "other":
            if text == "-" and _negative_allowed(tokens, source, m.end()):
                tokens.append(("minus", "-"))
                continue
            if text in "+-*":
                raise ValueError("arithmetic is not supported")
            if text == "/":
                raise ValueError("paths such as /data/q1 are not supported; use ${name}")
            raise ValueError(f"unexpected character {text!r}")
        elif kind == "dot":
            tokens.append(("dot", "."))
        elif tokens and tokens[-1][0] == "minus":
            tokens[-1] = (kind, "-" + text)
        else:
            tokens.append((kind, text))
    out = " ".join(_answered_patterns(tokens))
    out = out.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    out = re.sub(r"\b(selected|count_selected|answered) \(", r"\1(", out)
    try:
        parse(out, self_name="__self__")
    except ExpressionError as exc:
        raise ValueError(f"cannot translate {source!r}: {exc.reason}") from None
    return out


def _negative_allowed(tokens: list[tuple[str, str]], source: str, end: int) -> bool:
    """A '-' that starts a negative number (not a subtraction)."""
    follows_operand = bool(tokens) and (tokens[-1][0] in ("name", "string", "number", "dot")
                                        or tokens[-1][1] == ")")  # fmt: skip
    return not follows_operand and source[end : end + 1].isdigit()


def _translate_name(text: str, source: str, end: int) -> tuple[str, str]:
    is_call = source[end:].lstrip().startswith("(")
    if text in ("and", "or"):
        return ("word", text)
    if text in ("div", "mod"):
        raise ValueError("arithmetic is not supported")
    if is_call:
        if text in _FUNCTIONS:
            return ("word", _FUNCTIONS[text])
        raise ValueError(f"function '{text}' is not supported")
    raise ValueError(f"'{text}' is not supported here; refer to items as ${{name}}")


def _answered_patterns(tokens: list[tuple[str, str]]) -> list[str]:
    """``${q} = ''`` -> ``not answered(q)``, ``${q} != ''`` -> ``answered(q)``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        window = tokens[i : i + 3]
        if len(window) == 3 and window[1] in (("op", "="), ("op", "!=")):
            (k1, t1), (_, op), (k2, t2) = window
            empty = ("string", "''"), ("string", '""')
            name = t1 if k1 == "name" and (k2, t2) in empty else None
            name = name or (t2 if k2 == "name" and (k1, t1) in empty else None)
            if name:
                out.append(f"answered({name})" if op == "!=" else f"not answered({name})")
                i += 3
                continue
        out.append(tokens[i][1])
        i += 1
    return out
