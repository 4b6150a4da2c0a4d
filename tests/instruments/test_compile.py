"""Compiled expressions (closures built once per version) equal the interpreter."""

from __future__ import annotations

from pathlib import Path

import instruments
from instruments.compile import compile_ast
from instruments.expr import evaluate

from .test_js_agreement import ENV, as_tuple, extended_cases, roster_answer_sets


def test_compiled_agrees_with_interpreted_on_the_agreement_cases():
    all_cases = extended_cases()
    for ast, values in all_cases:
        tree = as_tuple(ast)
        assert compile_ast(tree)(values, ENV) == evaluate(tree, values, ENV), (ast, values)
    assert len(all_cases) > 900


def test_compiled_fast_path_for_code_equality_keeps_the_number_rule():
    eq = compile_ast(("=", ("var", "q"), ("lit", "1")))
    for value in ("1", 1, 1.0, "01", "", None, [], ["1"], "x"):
        expected = evaluate(("=", ("var", "q"), ("lit", "1")), {"q": value})
        assert eq({"q": value}, None) == expected, value


def test_runner_equals_an_interpreted_pass_on_the_household_form():
    """The compiled pass gives the relevance and values the interpreter gives item by item."""
    form = instruments.load_directory(instruments.FORMS_DIR)["household"]
    for answers in (
        {"screen_resident": "yes", "screen_age": "yes", "consent": "yes", "support": "support"},
        {"screen_resident": "no", "consent": "yes"},
        {"screen_resident": "yes", "screen_age": "yes", "consent": "no", "sex": "female"},
    ):
        values: dict = {}
        relevance = {}
        for item in form.items:
            shown = item.relevant is None or evaluate(item.relevant.ast, values) is True
            relevance[item.name] = shown
            if shown and item.has_value and answers.get(item.name) not in (None, "", []):
                values[item.name] = answers[item.name]
        run = form.compiled.run(answers)
        assert run.relevance == relevance
        assert run.values == values


def test_each_version_compiles_once():
    form = instruments.load_instrument(Path(__file__).parent / "data" / "roster.yaml")
    assert form.compiled is form.compiled
    for answers in roster_answer_sets(5):
        assert form.compiled.run(answers).relevance == form.compiled.run(answers).relevance
