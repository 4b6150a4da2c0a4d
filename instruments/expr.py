"""The small expression language of ``relevant`` (skip logic), ``constraint``,
``calculation``, ``choice_filter`` and ``repeat_count``.

Expressions are parsed by a hand-written recursive-descent parser into a tree of tuples
that mirrors the JSON AST given to the browser (``to_json``); they are never passed to
``eval``. Grammar, loosest binding first::

    expr     := and_expr ("or" and_expr)*
    and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | compare
    compare  := sum (("=" | "!=" | "<" | "<=" | ">" | ">=") sum)?
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "div" | "mod") unary)*
    unary    := "-" unary | operand
    operand  := STRING | NUMBER | NAME | "." | NAME "(" args ")" | "(" expr ")"
              | "choice" "." NAME

Names are item names; ``.`` is the answer of the item a constraint belongs to;
``choice.NAME`` is a column of the choice being filtered (``choice.code`` its code), only
in a ``choice_filter``. Functions: see ``FUNCTIONS`` and docs/instruments.md.

Every expression has a static type: a *condition* (``and``/``or``/``not``, comparisons,
``selected``, ``answered``, ``regex``, ``true()``, ``false()``) or a *value* (literals,
answers, arithmetic and the other functions). ``relevant``, ``constraint`` and
``choice_filter`` must be conditions, operands of ``and``/``or``/``not`` must be
conditions, operands of comparisons and arithmetic must be values, so evaluation never
needs the "truthiness" of an answer. Typographic quotes (‘’ “”) and full-width operators
(＝ ＜ ＞ ！＝ （ ） ，) as Chinese input methods type them are read as their ASCII forms
(``normalise``). The exact evaluation rules are in ``docs/instruments.md``, in
``instruments.values`` and in ``evaluate`` below; the browser implements the same rules
(survey_app/static/canvass/expr.js) and ``instruments.compile`` compiles them to closures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import values as V
from .values import to_number

__all__ = [
    "Ast",
    "ExpressionError",
    "Expression",
    "parse",
    "normalise",
    "evaluate",
    "to_json",
    "references",
    "to_number",
    "COMPARISONS",
    "ARITHMETIC",
    "FUNCTIONS",
    "KEYWORDS",
]

Ast = tuple[Any, ...]
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "div", "mod")
# name -> (fewest arguments, most arguments (None: any), result type, argument kinds).
# An argument kind is "var" (an item name), "code" (a quoted code), "pattern" (a quoted
# regular expression), "value" or "condition"; the last kind repeats for extra arguments.
FUNCTIONS: dict[str, tuple[int, int | None, str, tuple[str, ...]]] = {
    "selected": (2, 2, "condition", ("var", "code")),
    "count_selected": (1, 1, "value", ("var",)),
    "answered": (1, 1, "condition", ("var",)),
    "selected_at": (2, 2, "value", ("value", "value")),
    "regex": (2, 2, "condition", ("value", "pattern")),
    "if": (3, 3, "value", ("condition", "value", "value")),
    "concat": (1, None, "value", ("value",)),
    "coalesce": (2, 2, "value", ("value", "value")),
    "string_length": (1, 1, "value", ("value",)),
    "normalize_space": (1, 1, "value", ("value",)),
    "int": (1, 1, "value", ("value",)),
    "round": (1, 2, "value", ("value", "value")),
    "number": (1, 1, "value", ("value",)),
    "string": (1, 1, "value", ("value",)),
    "today": (0, 0, "value", ()),
    "now": (0, 0, "value", ()),
    "count": (1, 1, "value", ("var",)),
    "position": (0, 0, "value", ()),
    "true": (0, 0, "condition", ()),
    "false": (0, 0, "condition", ()),
}
KEYWORDS = frozenset({"and", "or", "not", "div", "mod"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<=|>=|==|=|<|>|\+|-|\*)
  | (?P<punct>[(),.])
  | (?P<dollar>\$\{)
    """,
    re.VERBOSE,
)
# What Chinese input methods type for the ASCII operators (outside quoted texts).
_FULL_WIDTH = {
    "＝": "=", "＜": "<", "＞": ">", "！": "!", "（": "(", "）": ")", "，": ",", "．": ".",
    "＋": "+", "－": "-", "＊": "*", "≤": "<=", "≥": ">=", "≠": "!=", "\u3000": " ",
    "＿": "_", **{chr(0xFF10 + i): str(i) for i in range(10)},
}  # fmt: skip
_OPEN_QUOTES = {"‘": "’", "“": "”", "＇": "＇", "＂": "＂"}
_ASCII_QUOTE = {"‘": "'", "“": '"', "＇": "'", "＂": '"'}


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


def normalise(source: str) -> str:
    """``source`` with typographic quotes as ASCII quotes and full-width operators, digits
    and brackets (outside quoted texts) as their ASCII forms; the text inside quotes is
    kept. The result has the same length, so error positions still point into ``source``.
    """
    out: list[str] = []
    close: str | None = None  # the quote that ends the quoted text we are in
    for ch in source:
        if close is not None:
            if ch == close or (close in "’”" and ch == ("'" if close == "’" else '"')):
                out.append("'" if close in "'’＇" else '"')
                close = None
            else:
                out.append(ch)
        elif ch in "'\"":
            out.append(ch)
            close = ch
        elif ch in _OPEN_QUOTES:
            out.append(_ASCII_QUOTE[ch])
            close = _OPEN_QUOTES[ch]
        elif ch in "’”":  # a closing quote typed first: treat it as an opening one
            out.append("'" if ch == "’" else '"')
            close = ch
        else:
            out.append(_FULL_WIDTH.get(ch, ch) if len(_FULL_WIDTH.get(ch, ch)) == 1 else ch)
    text = "".join(out)
    # the two-character replacements (≤ ≥ ≠) change the length: do them last, outside quotes
    if any(c in text for c in "≤≥≠"):
        text = _replace_outside_quotes(text)
    return text


def _replace_outside_quotes(text: str) -> str:
    parts = re.split(r"('[^']*'|\"[^\"]*\")", text)
    return "".join(
        p if i % 2 else p.replace("≤", "<=").replace("≥", ">=").replace("≠", "!=")
        for i, p in enumerate(parts)
    )


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch in "'\"":
                raise ExpressionError("unterminated string", pos)
            if ch == "/":
                raise ExpressionError("use 'div' to divide", pos)
            raise ExpressionError(f"unexpected character {ch!r}", pos)
        kind = m.lastgroup or ""
        if kind == "dollar":
            raise ExpressionError("write the item name without ${...}, e.g. q1 = 'yes'", pos)
        if kind == "op" and m.group() == "==":
            raise ExpressionError("use '=' for equality, not '=='", pos)
        if kind == "name" and m.group() in ("div", "mod"):
            kind = "op"
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


Node = tuple[Ast, str]  # (AST, "condition" | "value")


class _Parser:
    def __init__(self, source: str, self_name: str | None, choice: bool) -> None:
        self.tokens = _tokenize(source)
        self.i = 0
        self.self_name = self_name
        self.choice = choice

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

    def condition(self, node: Node, op: str, pos: int) -> Ast:
        ast, kind = node
        if kind != "condition":
            raise ExpressionError(
                f"operand of '{op}' is an answer, not a condition (compare it, e.g. q1 = 'yes')",
                pos,
            )
        return ast

    def value(self, node: Node, op: str, pos: int) -> Ast:
        if node[1] != "value":
            raise ExpressionError(f"'{op}' {_VERB.get(op, 'takes')} answers, not conditions", pos)
        return node[0]

    def parse(self, want: str) -> Ast:
        start = self.tok.pos
        node = self.or_expr()
        if not self.at("end"):
            raise ExpressionError(f"unexpected {self.describe(self.tok)}", self.tok.pos)
        ast, kind = node
        if want == "condition" and kind != "condition":
            raise ExpressionError(
                "the expression is an answer, not a condition (compare it, e.g. q1 = 'yes')", start
            )
        if want == "value" and kind != "value":
            raise ExpressionError("the expression is a condition, not an answer", start)
        return ast

    def nary(self, keyword: str, sub: Any) -> Node:
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

    def or_expr(self) -> Node:
        return self.nary("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.nary("and", self.not_expr)

    def not_expr(self) -> Node:
        if self.at("name", "not"):
            self.advance()
            pos = self.tok.pos
            return ("not", self.condition(self.not_expr(), "not", pos)), "condition"
        return self.compare()

    def compare(self) -> Node:
        pos = self.tok.pos
        left = self.sum()
        if not (self.at("op") and self.tok.text in COMPARISONS):
            return left
        op = self.advance().text
        rpos = self.tok.pos
        right = self.sum()
        a, b = self.value(left, op, pos), self.value(right, op, rpos)
        if self.at("op") and self.tok.text in COMPARISONS:
            raise ExpressionError(
                "comparisons cannot be chained; join them with 'and'", self.tok.pos
            )
        return (op, a, b), "condition"

    def binary(self, ops: tuple[str, ...], sub: Any) -> Node:
        pos = self.tok.pos
        node = sub()
        while self.at("op") and self.tok.text in ops:
            op = self.advance().text
            rpos = self.tok.pos
            right = sub()
            node = (op, self.value(node, op, pos), self.value(right, op, rpos)), "value"
        return node

    def sum(self) -> Node:
        return self.binary(("+", "-"), self.product)

    def product(self) -> Node:
        return self.binary(("*", "div", "mod"), self.unary)

    def unary(self) -> Node:
        if self.at("op", "-"):
            pos = self.advance().pos
            inner = self.value(self.unary(), "-", self.tok.pos if self.at("end") else pos)
            if inner[0] == "lit" and isinstance(inner[1], int | float):
                return ("lit", -inner[1]), "value"
            return ("neg", inner), "value"
        return self.operand()

    def operand(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return ("lit", V._number(tok.text)), "value"
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
            if tok.text == "choice" and self.at("punct", "."):
                return self.choice_column(tok)
            return ("var", tok.text), "value"
        raise ExpressionError(
            f"expected an answer or a condition, found {self.describe(tok)}", tok.pos
        )

    def choice_column(self, tok: _Token) -> Node:
        self.advance()  # "."
        if not self.at("name"):
            raise ExpressionError("expected a choice column after 'choice.'", self.tok.pos)
        column = self.advance().text
        if not self.choice:
            raise ExpressionError(f"'choice.{column}' may only be used in a choice_filter", tok.pos)
        return ("choice", column), "value"

    def self_ref(self, pos: int) -> Ast:
        if self.self_name is None:
            raise ExpressionError("'.' (this item's answer) may only be used in a constraint", pos)
        return ("var", self.self_name)

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            known = ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function '{name.text}' (known: {known})", name.pos)
        low, high, kind, spec = FUNCTIONS[name.text]
        self.advance()  # "("
        args: list[Node] = []
        positions: list[int] = []
        if not self.at("punct", ")"):
            while True:
                positions.append(self.tok.pos)
                args.append(self.or_expr())
                if not self.at("punct", ","):
                    break
                self.advance()
        self.expect("punct", ")", "')' or ','")
        if len(args) < low or (high is not None and len(args) > high):
            want = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise ExpressionError(
                f"{name.text}() takes {want} argument{'s' if want != '1' else ''}, got {len(args)}",
                name.pos,
            )
        out: list[Ast] = []
        for index, (node, pos) in enumerate(zip(args, positions, strict=True)):
            out.append(self.argument(name.text, index, spec[min(index, len(spec) - 1)], node, pos))
        return (name.text, *out), kind

    def argument(self, func: str, index: int, kind: str, node: Node, pos: int) -> Ast:
        ast, got = node
        nth = ("first", "second", "third")[index] if index < 3 else f"argument {index + 1}"
        if kind == "var":
            if ast[0] != "var":
                raise ExpressionError(f"the {nth} argument of {func}() must be an item name", pos)
            return ast
        if kind in ("code", "pattern"):
            if ast[0] != "lit":
                what = "a quoted code" if kind == "code" else "a quoted regular expression"
                raise ExpressionError(f"the {nth} argument of {func}() must be {what}", pos)
            text = V.text(ast[1])
            if kind == "pattern":
                try:
                    re.compile(text)
                except re.error as exc:
                    raise ExpressionError(f"bad regular expression {text!r}: {exc}", pos) from None
            return ("lit", text)
        if kind == "condition":
            return self.condition(node, f"{func}()", pos)
        if got != "value":
            raise ExpressionError(f"the {nth} argument of {func}() must be an answer", pos)
        return ast


_VERB = {op: "compares" for op in COMPARISONS}


def parse(
    source: str, *, self_name: str | None = None, want: str = "condition", choice: bool = False
) -> Ast:
    """Parse ``source`` into an AST; raise ``ExpressionError`` on any syntax or type error.

    ``self_name`` is the item a constraint belongs to: ``.`` becomes ``("var", self_name)``.
    Without it, ``.`` is an error (``relevant`` has no "own answer"). ``want`` is the type
    the whole expression must have: ``"condition"`` (default), ``"value"`` or ``"any"``.
    ``choice`` allows ``choice.NAME`` (in a choice_filter). Typographic quotes and
    full-width operators are read as ASCII (``normalise``).
    """
    if not source.strip():
        raise ExpressionError("the expression is empty")
    return _Parser(normalise(source), self_name, choice).parse(want)


def to_json(ast: Ast) -> list[Any]:
    """The JSON form of an AST: the same shape with lists instead of tuples."""
    return [to_json(a) if isinstance(a, tuple) else a for a in ast]


def references(ast: Ast) -> list[tuple[str, str | None]]:
    """Every item an AST refers to, as (name, the function it is a direct argument of, or
    None) in order of appearance."""
    out: list[tuple[str, str | None]] = []

    def walk(node: Ast, func: str | None) -> None:
        if node[0] == "var":
            out.append((node[1], func))
            return
        if node[0] in ("lit", "choice"):
            return
        inner = node[0] if node[0] in FUNCTIONS else None
        for child in node[1:]:
            walk(child, inner)

    walk(ast, None)
    return out


def evaluate(ast: Ast, values: Mapping[str, Any], env: V.Env | None = None) -> Any:
    """Evaluate an AST against ``values`` (item name -> answer; missing means unanswered).

    Unanswered and non-relevant items evaluate to ``""``. Conditions return ``bool``.
    ``env`` may give ``today`` ("YYYY-MM-DD"), ``now``, ``position`` (of the repeat
    instance) and ``choice`` (the choice being filtered: column -> text, ``code``).
    This is the reference interpreter; ``instruments.compile`` builds the same as closures.
    """
    op = ast[0]
    if op == "lit":
        return ast[1]
    if op == "var":
        value = values.get(ast[1])
        return "" if value is None or value == [] else value
    if op == "and":
        return all(evaluate(a, values, env) is True for a in ast[1:])
    if op == "or":
        return any(evaluate(a, values, env) is True for a in ast[1:])
    if op == "not":
        return evaluate(ast[1], values, env) is not True
    if op in COMPARISONS or op in ARITHMETIC:
        a, b = evaluate(ast[1], values, env), evaluate(ast[2], values, env)
        if op == "=":
            return V.equal(a, b)
        if op == "!=":
            return not V.equal(a, b)
        if op in ARITHMETIC:
            return V.arith(op, a, b)
        return V.order(op, a, b)
    if op == "neg":
        return V.arith("-", 0, evaluate(ast[1], values, env))
    if op == "choice":
        return V.choice_column(env, ast[1])
    args = [evaluate(a, values, env) for a in ast[1:]]
    return V.call(op, args, values, env, ast)
