"""The small expression language of ``relevant`` (skip logic) and ``constraint``.

Expressions are parsed by a hand-written recursive-descent parser into a tree of tuples
that mirrors the JSON AST given to the browser (``to_json``); they are never passed to
``eval``. Grammar, loosest binding first::

    expr     := and_expr ("or" and_expr)*
    and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | compare
    compare  := operand (("=" | "!=" | "<" | "<=" | ">" | ">=") operand)?
    operand  := STRING | NUMBER | NAME | "." | NAME "(" args ")" | "(" expr ")"

Names are item names; ``.`` is the answer of the item a constraint belongs to. Functions:
``selected(item, 'code')``, ``count_selected(item)``, ``answered(item)``.

Every expression has a static type: a *condition* (``and``/``or``/``not``, comparisons,
``selected``, ``answered``) or a *value* (literals, item answers, ``count_selected``).
``relevant`` and ``constraint`` must be conditions, operands of ``and``/``or``/``not`` must
be conditions and operands of comparisons must be values, so evaluation never needs the
"truthiness" of an answer. The exact evaluation rules are in ``docs/instruments.md`` and
in ``evaluate`` below; the browser's interpreter implements the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Ast",
    "ExpressionError",
    "Expression",
    "parse",
    "evaluate",
    "to_json",
    "references",
    "to_number",
    "COMPARISONS",
    "FUNCTIONS",
]

Ast = tuple[Any, ...]
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
# name -> (argument count, result type)
FUNCTIONS = {
    "selected": (2, "condition"),
    "count_selected": (1, "value"),
    "answered": (1, "condition"),
}
KEYWORDS = frozenset({"and", "or", "not"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<=|>=|==|=|<|>)
  | (?P<punct>[(),.])
  | (?P<dollar>\$\{)
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class ExpressionError(ValueError):
    """A syntax or type error in an expression; ``position`` is a 0-based character index."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(
            message if position is None else f"{message} (at character {position + 1})"
        )
        self.reason = message
        self.position = position


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the text as written and its AST."""

    source: str
    ast: Ast

    def to_json(self) -> list[Any]:
        return to_json(self.ast)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch in "'\"":
                raise ExpressionError("unterminated string", pos)
            raise ExpressionError(f"unexpected character {ch!r}", pos)
        kind = m.lastgroup or ""
        if kind == "dollar":
            raise ExpressionError("write the item name without ${...}, e.g. q1 = 'yes'", pos)
        if kind == "op" and m.group() == "==":
            raise ExpressionError("use '=' for equality, not '=='", pos)
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str, self_name: str | None) -> None:
        self.tokens = _tokenize(source)
        self.i = 0
        self.self_name = self_name

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.at(kind, text):
            raise ExpressionError(f"expected {what}, found {self.describe(self.tok)}", self.tok.pos)
        self.advance()

    @staticmethod
    def describe(tok: _Token) -> str:
        return "end of expression" if tok.kind == "end" else repr(tok.text)

    def condition(self, node: tuple[Ast, str], op: str, pos: int) -> Ast:
        ast, kind = node
        if kind != "condition":
            raise ExpressionError(
                f"operand of '{op}' is an answer, not a condition (compare it, e.g. q1 = 'yes')",
                pos,
            )
        return ast

    def parse(self) -> Ast:
        start = self.tok.pos
        node = self.or_expr()
        if not self.at("end"):
            raise ExpressionError(f"unexpected {self.describe(self.tok)}", self.tok.pos)
        ast, kind = node
        if kind != "condition":
            raise ExpressionError(
                "the expression is an answer, not a condition (compare it, e.g. q1 = 'yes')", start
            )
        return ast

    def nary(self, keyword: str, sub: Any) -> tuple[Ast, str]:
        pos = self.tok.pos
        first = sub()
        if not self.at("name", keyword):
            return first
        args = [self.condition(first, keyword, pos)]
        while self.at("name", keyword):
            self.advance()
            pos = self.tok.pos
            args.append(self.condition(sub(), keyword, pos))
        return (keyword, *args), "condition"

    def or_expr(self) -> tuple[Ast, str]:
        return self.nary("or", self.and_expr)

    def and_expr(self) -> tuple[Ast, str]:
        return self.nary("and", self.not_expr)

    def not_expr(self) -> tuple[Ast, str]:
        if self.at("name", "not"):
            self.advance()
            pos = self.tok.pos
            return ("not", self.condition(self.not_expr(), "not", pos)), "condition"
        return self.compare()

    def compare(self) -> tuple[Ast, str]:
        pos = self.tok.pos
        left = self.operand()
        if not self.at("op"):
            return left
        op = self.advance().text
        rpos = self.tok.pos
        right = self.operand()
        for (_ast, kind), p in ((left, pos), (right, rpos)):
            if kind != "value":
                raise ExpressionError(f"'{op}' compares answers, not conditions", p)
        if self.at("op"):
            raise ExpressionError(
                "comparisons cannot be chained; join them with 'and'", self.tok.pos
            )
        return (op, left[0], right[0]), "condition"

    def operand(self) -> tuple[Ast, str]:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return ("lit", _number(tok.text)), "value"
        if tok.kind == "string":
            self.advance()
            return ("lit", tok.text[1:-1]), "value"
        if tok.kind == "punct" and tok.text == ".":
            self.advance()
            return self.self_ref(tok.pos), "value"
        if tok.kind == "punct" and tok.text == "(":
            self.advance()
            inner = self.or_expr()
            self.expect("punct", ")", "')'")
            return inner
        if tok.kind == "name":
            if tok.text in KEYWORDS:
                raise ExpressionError(
                    f"expected an answer or a condition, found '{tok.text}'", tok.pos
                )
            self.advance()
            if self.at("punct", "("):
                return self.call(tok)
            return ("var", tok.text), "value"
        raise ExpressionError(
            f"expected an answer or a condition, found {self.describe(tok)}", tok.pos
        )

    def self_ref(self, pos: int) -> Ast:
        if self.self_name is None:
            raise ExpressionError("'.' (this item's answer) may only be used in a constraint", pos)
        return ("var", self.self_name)

    def call(self, name: _Token) -> tuple[Ast, str]:
        if name.text not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function '{name.text}' (known: {known})", name.pos)
        arity, kind = FUNCTIONS[name.text]
        self.advance()  # "("
        args: list[Ast] = []
        positions: list[int] = []
        if not self.at("punct", ")"):
            while True:
                positions.append(self.tok.pos)
                args.append(self.operand()[0])
                if not self.at("punct", ","):
                    break
                self.advance()
        self.expect("punct", ")", "')' or ','")
        if len(args) != arity:
            raise ExpressionError(
                f"{name.text}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}",
                name.pos,
            )
        if args[0][0] != "var":
            raise ExpressionError(
                f"the first argument of {name.text}() must be an item name", positions[0]
            )
        if name.text == "selected":
            if args[1][0] != "lit":
                raise ExpressionError(
                    "the second argument of selected() must be a quoted code", positions[1]
                )
            args[1] = ("lit", _code_text(args[1][1]))
        return (name.text, *args), kind


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _code_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def parse(source: str, *, self_name: str | None = None) -> Ast:
    """Parse ``source`` into an AST; raise ``ExpressionError`` on any syntax or type error.

    ``self_name`` is the item a constraint belongs to: ``.`` becomes ``("var", self_name)``.
    Without it, ``.`` is an error (``relevant`` has no "own answer").
    """
    if not source.strip():
        raise ExpressionError("the expression is empty")
    return _Parser(source, self_name).parse()


def to_json(ast: Ast) -> list[Any]:
    """The JSON form of an AST: the same shape with lists instead of tuples."""
    return [to_json(a) if isinstance(a, tuple) else a for a in ast]


def references(ast: Ast) -> list[tuple[str, str | None]]:
    """Every item an AST refers to, as (name, function or None) in order of appearance."""
    out: list[tuple[str, str | None]] = []

    def walk(node: Ast, func: str | None) -> None:
        if node[0] == "var":
            out.append((node[1], func))
            return
        if node[0] == "lit":
            return
        inner = node[0] if node[0] in FUNCTIONS else None
        for child in node[1:]:
            walk(child, inner)

    walk(ast, None)
    return out


def to_number(value: Any) -> int | float | None:
    """A number, or a string that is a plain decimal literal, as a number; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return _number(value)
    return None


def _equal(a: Any, b: Any) -> bool:
    if a == "" or b == "":
        return a == "" and b == ""
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    x, y = to_number(a), to_number(b)
    return x is not None and y is not None and x == y


def _order(op: str, a: Any, b: Any) -> bool:
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        return False
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    return 0 if value == "" else 1


def evaluate(ast: Ast, values: Mapping[str, Any]) -> Any:
    """Evaluate an AST against ``values`` (item name -> answer; missing means unanswered).

    Unanswered and non-relevant items evaluate to ``""``. Conditions return ``bool``.
    """
    op = ast[0]
    if op == "lit":
        return ast[1]
    if op == "var":
        value = values.get(ast[1])
        return "" if value is None or value == [] else value
    if op == "and":
        return all(evaluate(a, values) is True for a in ast[1:])
    if op == "or":
        return any(evaluate(a, values) is True for a in ast[1:])
    if op == "not":
        return evaluate(ast[1], values) is not True
    if op == "=":
        return _equal(evaluate(ast[1], values), evaluate(ast[2], values))
    if op == "!=":
        return not _equal(evaluate(ast[1], values), evaluate(ast[2], values))
    if op in ("<", "<=", ">", ">="):
        return _order(op, evaluate(ast[1], values), evaluate(ast[2], values))
    if op == "selected":
        value, code = evaluate(ast[1], values), ast[2][1]
        return code in value if isinstance(value, list) else value == code
    if op == "count_selected":
        return _count(evaluate(ast[1], values))
    if op == "answered":
        return evaluate(ast[1], values) != ""
    raise ValueError(f"unknown AST node {op!r}")
