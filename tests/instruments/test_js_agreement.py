"""The JavaScript evaluator sketched in docs/instruments.md agrees with the server.

The browser's interpreter is written from that document; this runs the document's own
sketch in Node (skipped when Node is not installed) on the same cases as ``evaluate``.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import instruments
from instruments.expr import evaluate, to_json

DOC = Path(__file__).resolve().parents[2] / "docs" / "instruments.md"
POOL = ["", "1", "1.0", "01", "x", "-3", "1e3", " 1", "1.", 1, 1.5, 0, -3]
COMPARISONS = ["=", "!=", "<", "<=", ">", ">="]


def js_sketch() -> str:
    match = re.search(r"```js\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, "docs/instruments.md has no ```js block"
    return match.group(1)


def cases() -> list[tuple[list, dict]]:
    out: list[tuple[list, dict]] = []
    for op, a, b in itertools.product(COMPARISONS, POOL, POOL):
        out.append(([op, ["var", "a"], ["var", "b"]], {"a": a, "b": b}))
    for value in (["a", "b"], [], "a", "", None):
        for ast in (
            ["selected", ["var", "m"], ["lit", "a"]],
            ["count_selected", ["var", "m"]],
            ["answered", ["var", "m"]],
            ["not", ["answered", ["var", "m"]]],
        ):
            out.append((ast, {"m": value}))
    household = instruments.load_directory(instruments.FORMS_DIR)["household"]
    for item in household.items:
        for expr in (item.relevant, item.constraint):
            if expr is not None:
                for consent in ("yes", "no", ""):
                    values = {"consent": consent, "screen_resident": "yes", "screen_age": "no"}
                    values["improve_first"] = ["a", "b", "c", "d"][: len(consent) + 1]
                    out.append((to_json(expr.ast), values))
    return out


def as_tuple(node):
    return tuple(as_tuple(n) if isinstance(n, list) else n for n in node)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_documented_js_evaluator_agrees_with_python():
    all_cases = cases()
    program = js_sketch() + (
        "\nconst cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "\nprocess.stdout.write(JSON.stringify(cases.map(([ast, values]) => ev(ast, values))));"
    )
    result = subprocess.run(
        ["node", "-e", program],
        input=json.dumps(all_cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(result.stdout)
    py = [evaluate(as_tuple(ast), values) for ast, values in all_cases]
    differences = [(c, p, j) for c, p, j in zip(all_cases, py, js, strict=True) if p != j]
    assert differences == []


# -- the tablet's own evaluator (survey_app/static/canvass/expr.js) ------------------------

ROOT = Path(__file__).resolve().parents[2]
EXPR_JS = ROOT / "survey_app" / "static" / "canvass" / "expr.js"
ROSTER = Path(__file__).parent / "data" / "roster.yaml"
ENV = {"today": "2026-11-30", "now": "2026-11-30T09:15:00", "position": 2,
       "choice": {"code": "s11", "district": "d1"}}  # fmt: skip

# Expressions over a (number or text), b, d (a date), m (a multiple answer), g (a geopoint
# text), r (a repeat's instances); every function and operator of the language.
EXTENDED = [
    "a + b", "a - b", "a * b", "a div b", "a mod b", "-a", "- (a + 1)", "a + 1 > b",
    "b div 0", "7 mod -3", "-7 mod 3", "7.5 mod 2", "0.1 + 0.2", "1 div 3",
    "if(a > 1, 'big', 'small')", "if(answered(a), a, 'none')",
    "concat(a, '-', b, '-', m)", "concat('x', 1 div 4, 2 * 1.5, 0.00001, 1 div 3)",
    "regex(a, '^[0-9]+$')", "regex(b, '^[a-z]{2}')", "regex(a, '\\d')",
    "selected_at(m, 0)", "selected_at(m, 5)", "selected_at(g, 1)", "selected_at(a, b)",
    "string_length(b)", "normalize_space(concat(' ', b, '  x\t'))", "string_length(concat(a, b))", "int(a)", "int(a div 3)",
    "round(a)", "round(2.5)", "round(-2.5)", "round(a div 3, 2)", "round(a, b)",
    "number(b)", "string(a)", "coalesce(b, a)", "coalesce(a, 'z')",
    "today()", "now()", "today() - d", "d < today()", "d >= '2000-01-01'",
    "int((today() - d) div 365.25)", "d + 1", "now() > today()", "'2026-02-29' < d",
    "'2026-11-30T12:00' - '2026-11-29T06:00'", "count(r)", "count_selected(m) + count(r)",
    "position()", "position() = 2", "choice.district = 'd1'", "choice.code", "choice.none",
    "true()", "false()", "not(false()) and true()", "a = b", "a != b",
]  # fmt: skip
EXTENDED_VALUES = [
    {},
    {"a": 7, "b": 2, "d": "1990-06-15", "m": ["x", "y"], "g": "30.5 120.25 10 5",
     "r": [{"q": 1}, {"q": 2}]},
    {"a": "12", "b": "ab", "d": "2026-11-30", "m": ["z"], "g": "bad"},
    {"a": -3.5, "b": "", "d": "2026-13-01", "m": [], "r": []},
    {"a": "x", "b": "3.0", "d": "2000-02-29T23:59:59", "g": "1 2"},
    {"a": 0, "b": "中文😀", "d": "1899-12-31"},
    {"a": 1e-05, "b": 3, "d": "2026-11-30T09:15:00+08:00"},
]  # fmt: skip


def node_program(tail: str) -> str:
    source = EXPR_JS.read_text(encoding="utf-8")
    return (
        "var root = {};\n(function () {\n" + source + "\n}).call(root);\n"
        "var X = root.CanvassExpr;\n"
        "var input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n" + tail
    )


def run_node(tail: str, data: object) -> object:
    result = subprocess.run(
        ["node", "-e", node_program(tail)],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def extended_cases() -> list[tuple[list, dict]]:
    from instruments.expr import parse

    out = [(ast, values) for ast, values in cases()]
    for source in EXTENDED:
        ast = to_json(parse(source, want="any", choice=True))
        out += [(ast, values) for values in EXTENDED_VALUES]
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_expr_js_agrees_with_python_on_every_function():
    all_cases = extended_cases()
    js = run_node(
        "process.stdout.write(JSON.stringify(input.map(([ast, values]) => "
        f"X.evaluate(ast, values, {json.dumps(ENV)}))));",
        all_cases,
    )
    py = [evaluate(as_tuple(ast), values, ENV) for ast, values in all_cases]
    differences = [(c, p, j) for c, p, j in zip(all_cases, py, js, strict=True) if p != j]
    assert differences == []
    assert len(all_cases) > 900


def roster_answer_sets(n: int = 80) -> list[dict]:
    """Random (also invalid) answers to the roster form: relevance, repeats, calculations."""
    import random

    rng = random.Random(14)
    out = []
    for _ in range(n):
        answers: dict = {
            "consent": rng.choice(["yes", "yes", "no", "", "bogus"]),
            "district": rng.choice(["d1", "d2", ""]),
            "street": rng.choice(["s11", "s12", "s21", ""]),
            "size": rng.choice([1, 2, "3", "x", 0]),
            "sat": rng.choice(["satisfied", "dk", ""]),
            "phone_tail": rng.choice(["1234", "12a4", ""]),
            "where": rng.choice(["30.1 120.2", "", "north"]),
            "today": "2026-11-30",
        }
        members = []
        for _ in range(rng.randint(0, 4)):
            born = rng.choice(["1950-01-01", "2015-06-30", "2010-11-30", "2030-01-01", "x"])
            members.append({"relation": rng.choice(["head", "child"]), "born": born,
                            "works": rng.choice(["yes", "no", ""])})  # fmt: skip
        answers["members"] = members if rng.random() < 0.9 else "not a list"
        out.append(answers)
    return out


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_visible_agrees_on_groups_repeats_calculations_and_choice_filters():
    form = instruments.load_instrument(ROSTER)
    client = json.loads(json.dumps(form.to_client_dict()))
    answer_sets = roster_answer_sets()
    js = run_node(
        "var inst = input.inst;\n"
        "process.stdout.write(JSON.stringify(input.answers.map(a => {"
        " var v = X.visible(inst, a, {today: '2026-11-30'});"
        " return [v.relevant, v.values, v.calculated, v.offered]; })));",
        {"inst": client, "answers": answer_sets},
    )
    for answers, (relevant, values, calculated, offered) in zip(answer_sets, js, strict=True):
        run = form.compiled.run(answers, {"today": "2026-11-30"})
        assert run.relevance == relevant, answers
        assert json.loads(json.dumps(run.values)) == values, answers
        assert json.loads(json.dumps(run.calculated)) == calculated, answers
        if run.relevance.get("street"):
            from instruments.runner import offered_codes

            step = form.compiled.step("street")
            assert offered_codes(step, run.values, {}) == offered["street"]
