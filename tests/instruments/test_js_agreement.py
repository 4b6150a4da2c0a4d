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
