"""Translate XLSForm (XPath-style) expressions into the instrument expression language.

``${name}`` → ``name``; paths (``../q``, ``/data/grp/q``) → their last step; ``.`` stays;
``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``and``, ``or``, ``not(...)``, ``+ - * div
mod``, parentheses, literals as they are; the functions of ``FUNCTIONS`` under our names
(``count-selected`` → ``count_selected``, ``selected-at`` → ``selected_at``,
``string-length`` → ``string_length``, ``position(..)`` → ``position()``);
``${q} = ''`` / ``${q} != ''`` → ``not answered(q)`` / ``answered(q)``. In a
``choice_filter`` a bare name is a column of the choices sheet (``choice.NAME``; ``name``
→ ``choice.code``). Anything else raises ``ValueError`` with the reason; the caller names
the cell.
"""

from __future__ import annotations

import re

from .expr import ExpressionError, normalise, parse

__all__ = ["translate_expression", "FUNCTIONS"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_XTOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{\s*(?P<refname>[^}\s]*)\s*\})
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<op>!=|<=|>=|=|<|>|\+|\*)
  | (?P<path>(?:\.\./|\./|/)+[A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)*|\.\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)
  | (?P<dot>\.)
  | (?P<punct>[(),])
  | (?P<other>.)
    """,
    re.VERBOSE,
)
FUNCTIONS = {
    "selected": "selected",
    "count-selected": "count_selected",
    "selected-at": "selected_at",
    "regex": "regex",
    "if": "if",
    "concat": "concat",
    "coalesce": "coalesce",
    "string-length": "string_length",
    "normalize-space": "normalize_space",
    "int": "int",
    "round": "round",
    "number": "number",
    "string": "string",
    "today": "today",
    "now": "now",
    "count": "count",
    "position": "position",
    "true": "true",
    "false": "false",
    "not": "not",
}
WANT = {"relevant": "condition", "constraint": "condition", "choice_filter": "condition",
        "calculation": "any", "repeat_count": "value"}  # fmt: skip


def translate_expression(source: str, field: str = "relevant") -> str:
    """An XLSForm expression in our language; ValueError(reason) when not translatable.

    ``field`` is the column it comes from (``relevant``, ``constraint``, ``calculation``,
    ``choice_filter``, ``repeat_count``): it decides the type the expression must have and
    whether bare names are choice columns.
    """
    choice = field == "choice_filter"
    text = normalise(source)
    tokens: list[tuple[str, str]] = []
    for m in _XTOKEN.finditer(text):
        kind, word = m.lastgroup or "", m.group()
        if kind == "ws":
            continue
        if kind == "ref":
            tokens.append(("name", _item(m.group("refname"))))
        elif kind == "path":
            tokens.append(_path(word, tokens))
        elif kind == "name":
            tokens.append(_translate_name(word, text, m.end(), choice))
        elif kind == "other":
            if word == "-":
                tokens.append(("op", "-"))
                continue
            if word == "/":
                raise ValueError("'/' is not division in XPath; use div")
            raise ValueError(f"unexpected character {word!r}")
        elif kind == "dot":
            tokens.append(("dot", "."))
        else:
            tokens.append((kind, word))
    out = " ".join(_answered_patterns(_negatives(tokens)))
    out = out.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    out = re.sub(r"\b([a-z_]+) \(", _call_paren, out)
    try:
        parse(out, self_name="__self__", want=WANT.get(field, "condition"), choice=choice)
    except ExpressionError as exc:
        raise ValueError(f"cannot translate {source!r}: {exc.reason}") from None
    return out


def _call_paren(m: re.Match[str]) -> str:
    return f"{m.group(1)}(" if m.group(1) in FUNCTIONS.values() and m.group(1) != "not" else m[0]


def _item(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ValueError(f"item name '{name}' must be letters, digits and _")
    return name


def _path(word: str, tokens: list[tuple[str, str]]) -> tuple[str, str]:
    if word == "..":  # position(..): the repeat instance we are in
        if (
            tokens
            and tokens[-1] == ("punct", "(")
            and len(tokens) > 1
            and tokens[-2][1] == "position"
        ):
            return ("skip", "")
        raise ValueError("'..' is only supported as position(..)")
    return ("name", _item(word.rstrip("/").split("/")[-1]))


def _negatives(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [t for t in tokens if t[0] != "skip"]


def _translate_name(word: str, source: str, end: int, choice: bool) -> tuple[str, str]:
    is_call = source[end:].lstrip().startswith("(")
    if word in ("and", "or", "div", "mod"):
        return ("word", word)
    if is_call:
        if word in FUNCTIONS:
            return ("word", FUNCTIONS[word])
        raise ValueError(f"function '{word}' is not supported")
    if choice:
        column = "code" if word == "name" else word
        if not NAME.fullmatch(column):
            raise ValueError(f"choice column '{word}' must be letters, digits and _")
        return ("name", f"choice.{column}")
    raise ValueError(f"'{word}' is not supported here; refer to items as ${{name}}")


def _answered_patterns(tokens: list[tuple[str, str]]) -> list[str]:
    """``${q} = ''`` -> ``not answered(q)``, ``${q} != ''`` -> ``answered(q)``."""
    out: list[str] = []
    i = 0
    empty = (("string", "''"), ("string", '""'))
    while i < len(tokens):
        window = tokens[i : i + 3]
        before = tokens[i - 1] if i else None
        after = tokens[i + 3] if i + 3 < len(tokens) else None
        alone = (before is None or before[1] in ("(", ",", "and", "or")) and (
            after is None or after[1] in (")", ",", "and", "or")
        )
        if alone and len(window) == 3 and window[1] in (("op", "="), ("op", "!=")):
            (k1, t1), (_, op), (k2, t2) = window
            name = t1 if k1 == "name" and (k2, t2) in empty else None
            name = name or (t2 if k2 == "name" and (k1, t1) in empty else None)
            if name and not name.startswith("choice."):
                out.append(f"answered({name})" if op == "!=" else f"not answered({name})")
                i += 3
                continue
        out.append(tokens[i][1])
        i += 1
    return out
