"""Expressions compiled once into Python closures — the fast path of ``code_response``.

``compile_ast(ast)`` walks a parsed AST (never the user's text, never ``eval``) and
returns ``fn(values, env) -> value`` that computes exactly what ``expr.evaluate`` computes
(tests/instruments/test_compile.py checks both on the agreement cases). Each instrument
version compiles its expressions once (``Instrument.compiled``) and the sync reuses them
for every response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import values as V
from .expr import ARITHMETIC, Ast

__all__ = ["Compiled", "compile_ast"]

Compiled = Callable[[Mapping[str, Any], Any], Any]


def compile_ast(ast: Ast) -> Compiled:
    """A closure ``fn(values, env)`` equal to ``evaluate(ast, values, env)``."""
    op = ast[0]
    builder = _BUILDERS.get(op)
    if builder is not None:
        return builder(ast)
    if op in ARITHMETIC:
        return _arith(ast)
    return _call(ast)


def _lit(ast: Ast) -> Compiled:
    value = ast[1]
    return lambda values, env: value


def _var(ast: Ast) -> Compiled:
    name = ast[1]

    def var(values: Mapping[str, Any], env: Any) -> Any:
        value = values.get(name)
        return "" if value is None or value == [] else value

    return var


def _and(ast: Ast) -> Compiled:
    parts = tuple(compile_ast(a) for a in ast[1:])
    return lambda values, env: all(p(values, env) is True for p in parts)


def _or(ast: Ast) -> Compiled:
    parts = tuple(compile_ast(a) for a in ast[1:])
    return lambda values, env: any(p(values, env) is True for p in parts)


def _not(ast: Ast) -> Compiled:
    inner = compile_ast(ast[1])
    return lambda values, env: inner(values, env) is not True


def _eq(ast: Ast) -> Compiled:
    left, right = ast[1], ast[2]
    # The commonest skip condition by far: an answer equals a quoted code (consent = 'yes').
    if left[0] == "var" and right[0] == "lit" and isinstance(right[1], str) and right[1] != "":
        name, code = left[1], right[1]

        def eq_code(values: Mapping[str, Any], env: Any) -> bool:
            value = values.get(name)
            if value.__class__ is str:
                return value == code
            return V.equal("" if value is None or value == [] else value, code)

        return eq_code
    a, b = compile_ast(left), compile_ast(right)
    return lambda values, env: V.equal(a(values, env), b(values, env))


def _ne(ast: Ast) -> Compiled:
    eq = _eq(ast)
    return lambda values, env: not eq(values, env)


def _order(ast: Ast) -> Compiled:
    op, a, b = ast[0], compile_ast(ast[1]), compile_ast(ast[2])
    return lambda values, env: V.order(op, a(values, env), b(values, env))


def _arith(ast: Ast) -> Compiled:
    op, a, b = ast[0], compile_ast(ast[1]), compile_ast(ast[2])
    return lambda values, env: V.arith(op, a(values, env), b(values, env))


def _neg(ast: Ast) -> Compiled:
    inner = compile_ast(ast[1])
    return lambda values, env: V.arith("-", 0, inner(values, env))


def _choice(ast: Ast) -> Compiled:
    column = ast[1]
    return lambda values, env: V.choice_column(env, column)


def _selected(ast: Ast) -> Compiled:
    value, code = compile_ast(ast[1]), ast[2][1]
    return lambda values, env: V.selected(value(values, env), code)


def _count_selected(ast: Ast) -> Compiled:
    value = compile_ast(ast[1])
    return lambda values, env: V.count(value(values, env))


def _answered(ast: Ast) -> Compiled:
    value = compile_ast(ast[1])
    return lambda values, env: value(values, env) != ""


def _if(ast: Ast) -> Compiled:
    test, then, other = (compile_ast(a) for a in ast[1:])
    return lambda values, env: (
        then(values, env) if test(values, env) is True else other(values, env)
    )


def _regex(ast: Ast) -> Compiled:
    value, pattern = compile_ast(ast[1]), V._pattern(ast[2][1])
    return lambda values, env: pattern.search(V.text(value(values, env))) is not None


def _call(ast: Ast) -> Compiled:
    op, args = ast[0], tuple(compile_ast(a) for a in ast[1:])

    def call(values: Mapping[str, Any], env: Any) -> Any:
        return V.call(op, [a(values, env) for a in args], values, env, ast)

    return call


_BUILDERS: dict[str, Callable[[Ast], Compiled]] = {
    "lit": _lit,
    "var": _var,
    "and": _and,
    "or": _or,
    "not": _not,
    "=": _eq,
    "!=": _ne,
    "<": _order,
    "<=": _order,
    ">": _order,
    ">=": _order,
    "neg": _neg,
    "choice": _choice,
    "selected": _selected,
    "count_selected": _count_selected,
    "answered": _answered,
    "if": _if,
    "regex": _regex,
}
