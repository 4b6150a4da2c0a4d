"""The expression language: parsing, precedence, errors, evaluation — and never eval."""

from __future__ import annotations

import builtins

import pytest

from instruments.expr import ExpressionError, evaluate, parse, to_json


def test_precedence_or_and_not_comparison():
    ast = parse("not a = 'x' and b = 'y' or c = 'z'")
    assert to_json(ast) == [
        "or",
        ["and", ["not", ["=", ["var", "a"], ["lit", "x"]]], ["=", ["var", "b"], ["lit", "y"]]],
        ["=", ["var", "c"], ["lit", "z"]],
    ]


def test_and_or_are_n_ary_and_parentheses_group():
    assert parse("a = 1 and b = 2 and c = 3")[0] == "and"
    assert len(parse("a = 1 and b = 2 and c = 3")) == 4
    ast = parse("a = 1 and (b = 2 or c = 3)")
    assert to_json(ast) == [
        "and",
        ["=", ["var", "a"], ["lit", 1]],
        ["or", ["=", ["var", "b"], ["lit", 2]], ["=", ["var", "c"], ["lit", 3]]],
    ]


def test_literals_functions_and_self():
    assert to_json(parse(". >= -1.5", self_name="age")) == [">=", ["var", "age"], ["lit", -1.5]]
    assert to_json(parse('selected(q, "a")')) == ["selected", ["var", "q"], ["lit", "a"]]
    assert to_json(parse("selected(q, 1)")) == ["selected", ["var", "q"], ["lit", "1"]]
    assert to_json(parse("count_selected(q) <= 3")) == [
        "<=",
        ["count_selected", ["var", "q"]],
        ["lit", 3],
    ]
    assert to_json(parse("not answered(q)")) == ["not", ["answered", ["var", "q"]]]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("", "the expression is empty"),
        ("a = 'x", "unterminated string"),
        ("a == 'x'", "use '=' for equality, not '=='"),
        ("${a} = 'x'", "write the item name without ${...}"),
        ("a = 'x' and", "expected an answer or a condition, found end of expression"),
        ("(a = 'x'", "expected ')', found end of expression"),
        ("a = 'x')", "unexpected ')'"),
        ("a", "the expression is an answer, not a condition"),
        ("a and b = 1", "operand of 'and' is an answer, not a condition"),
        ("not a", "operand of 'not' is an answer, not a condition"),
        ("(a = 1) = (b = 1)", "'=' compares answers, not conditions"),
        ("1 < a < 3", "comparisons cannot be chained"),
        ("tomorrow() = 1", "unknown function 'tomorrow'"),
        ("today(a) = 1", "today() takes 0 arguments, got 1"),
        ("regex(a, b)", "the second argument of regex() must be a quoted regular expression"),
        ("regex(a, '[')", "bad regular expression '['"),
        ("if(a, 1, 2) = 1", "operand of 'if()' is an answer, not a condition"),
        ("a + (b = 1) = 2", "'+' takes answers, not conditions"),
        ("a = 1 / 2", "use 'div' to divide"),
        ("choice.x = 1", "'choice.x' may only be used in a choice_filter"),
        ("selected(q)", "selected() takes 2 arguments, got 1"),
        ("selected('q', 'a')", "the first argument of selected() must be an item name"),
        ("selected(q, r)", "the second argument of selected() must be a quoted code"),
        (". = 1", "'.' (this item's answer) may only be used in a constraint"),
        ("a = 1 +", "expected an answer or a condition, found end of expression"),
        ("a = 'x' ; b", "unexpected character ';'"),
    ],
)
def test_errors(source, reason):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert info.value.reason.startswith(reason)


def test_error_position():
    with pytest.raises(ExpressionError) as info:
        parse("a = 'x' and b ! 'y'")
    assert info.value.position == 14
    assert str(info.value).endswith("(at character 15)")


def test_python_code_is_not_an_expression():
    for source in ("__import__('os').system('true')", "open('/etc/passwd')", "a.b = 1"):
        with pytest.raises(ExpressionError):
            parse(source)


def test_nothing_calls_eval(monkeypatch, mini):
    from instruments import validate_answers

    def forbidden(*args, **kwargs):
        raise AssertionError("eval must never be called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert evaluate(parse("a = 'x' or count_selected(m) > 1"), {"m": ["1", "2"]}) is True
    assert validate_answers(mini, {"consent": "yes", "sat": "no", "why": "吵"}) == []


E = ""  # unanswered


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("a = 'x'", {"a": "x"}, True),
        ("a = 'x'", {}, False),
        ("a != 'x'", {}, True),  # unanswered differs from every code
        ("a = ''", {}, True),
        ("a != ''", {"a": "x"}, True),
        ("a = 1", {"a": "1"}, True),  # a numeric code equals the number
        ("a = 1", {"a": "1.0"}, True),
        ("a = 1", {"a": "x"}, False),
        ("a = '1.0'", {"a": "1"}, False),  # two strings compare as strings
        ("a = 2", {"a": 2.0}, True),
        ("a > 2", {"a": "10"}, True),  # order is numeric
        ("a < 16", {}, False),  # unanswered: every order comparison is false
        ("a >= 16", {}, False),
        ("a < 'x'", {"a": 1}, False),
        ("a <= 3 and a >= 3", {"a": 3}, True),
        ("selected(m, 'b')", {"m": ["a", "b"]}, True),
        ("selected(m, 'c')", {"m": ["a", "b"]}, False),
        ("selected(m, 'a')", {}, False),
        ("selected(s, 'a')", {"s": "a"}, True),  # works on single choice too
        ("count_selected(m) = 2", {"m": ["a", "b"]}, True),
        ("count_selected(m) = 0", {"m": []}, True),
        ("count_selected(s) = 1", {"s": "a"}, True),
        ("answered(n)", {"n": 0}, True),
        ("answered(n)", {"n": None}, False),
        ("not answered(m)", {"m": []}, True),
        ("a = 'x' or b = 'y'", {"b": "y"}, True),
        ("not (a = 'x' or b = 'y')", {"b": "y"}, False),
    ],
)
def test_evaluation_rules(source, values, expected):
    assert evaluate(parse(source), values) is expected
