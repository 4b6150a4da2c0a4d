"""The runner's fast path (a plain code or text decided in ``Program._block``) and
``code_response``'s shortcuts give exactly what the general path gives — errors (codes and
messages), values, relevance, calculations and codings — on valid and broken answers."""

from __future__ import annotations

import copy
import random
import warnings
from pathlib import Path

import pytest

import instruments
from instruments import coding
from instruments.runner import Program, _GroupStep
from instruments.xlsform import import_xlsform

HERE = Path(__file__).parent
XLSFORMS = ("pyxform__choice_filter_test.xlsx", "pyxform__tutorial.xls",
            "pyxform__text_and_integer.xlsx", "pyxform__repeat_date_test.xls",
            "pyxform__yes_or_no_question.xlsx")  # fmt: skip


def _forms() -> list[instruments.Instrument]:
    forms = [
        instruments.load_directory(instruments.FORMS_DIR)["household"],
        instruments.load_instrument(HERE / "data" / "roster.yaml"),
    ]
    for name in XLSFORMS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl: headers and footers it cannot parse
            text = import_xlsform(HERE / "xlsforms" / name)
        forms.append(instruments.loads_instrument(text, name))
    return forms


def _general(inst: instruments.Instrument) -> Program:
    """The same program with every fast path turned off."""
    program = Program(inst)
    stack = list(program.steps)
    while stack:
        step = stack.pop()
        step.same_relevance = False
        if isinstance(step, _GroupStep):
            stack += step.steps
        else:
            step.plain = None
    return program


BROKEN = ("", "nonsense-code", 7, 2.5, True, None, [], ["x"], {"a": 1}, "  ", "yes")


def _variants(inst, answers: dict, rng: random.Random) -> list[dict]:
    """The interview as generated, then with one answer (or a hidden item's) broken."""
    out = [answers]
    names = [i.name for i in inst.items if i.has_value]
    for _ in range(6):
        broken = copy.deepcopy(answers)
        name = rng.choice(names)
        broken[name] = rng.choice(BROKEN)
        out.append(broken)
    item = rng.choice([i for i in inst.items if i.has_value] or [None])
    if item is not None and inst.choice_codes(item):  # another code of the same item
        out.append({**answers, item.name: rng.choice(list(inst.choice_codes(item)))})
    out.append({**answers, "not_an_item": "x"})
    return out


@pytest.mark.parametrize("inst", _forms(), ids=lambda f: f.key)
def test_fast_path_equals_the_general_path(inst):
    general = _general(inst)
    rng = random.Random(16)
    cases = 0
    for answers in instruments.generate_interviews(inst, 60, seed=3, today="2026-11-30"):
        for variant in _variants(inst, answers, rng):
            fast = inst.compiled.run(variant, {"today": "2026-11-30"})
            slow = general.run(variant, {"today": "2026-11-30"})
            assert fast.errors == slow.errors, variant
            assert fast.values == slow.values, variant
            assert fast.relevance == slow.relevance, variant
            assert fast.calculated == slow.calculated, variant
            cases += 1
    assert cases > 400
    assert any(step.plain is not None for step in inst.compiled.by_name.values()) or not any(
        i.type in (instruments.ItemType.SINGLE, instruments.ItemType.TEXT) for i in inst.items
    )


def test_code_response_equals_its_parts_on_the_household_form():
    """code_response's one pass gives what the separate codings give (they run the general
    relevance-then-code functions of coding.py)."""
    inst = instruments.load_directory(instruments.FORMS_DIR)["household"]
    interviews = instruments.generate_interviews(inst, 200, seed=5, today="2026-11-30")
    some_feedback = 0
    for answers in interviews:
        coded = instruments.code_response(inst, answers, today="2026-11-30")
        assert coded.errors == ()
        assert coded.indicators == coding._indicators(inst, coding._values(inst, answers))
        assert coded.profile == instruments.profile_values(inst, answers)
        assert list(coded.feedback) == instruments.feedback_items(inst, answers)
        assert list(coded.relevant) == instruments.relevant_items(inst, answers)
        some_feedback += bool(coded.feedback)
    assert some_feedback > 0


def test_error_messages_of_the_general_path_are_unchanged():
    inst = instruments.load_directory(instruments.FORMS_DIR)["household"]
    base = {"screen_resident": "yes", "screen_age": "yes", "consent": "yes"}
    cases = {
        "support": ("maybe", "unknown_choice", "无此选项：maybe"),
        "sex": (3, "invalid_type", "答案须为一个选项代码"),
        "need": (["x"], "invalid_type", "答案须为文字"),
        "improve_first": (["traffic_order", "traffic_order"], "unknown_choice", "选项重复"),
    }
    for name, (value, code, message) in cases.items():
        errors = instruments.code_response(inst, {**base, name: value}).errors
        mine = [(e.item, e.code, e.message) for e in errors if e.item == name]
        assert mine == [(name, code, message)]
    hidden = instruments.code_response(
        inst, {"screen_resident": "no", "consent": "yes", "sex": "male"}
    ).errors
    assert ("sex", "not_relevant") in [(e.item, e.code) for e in hidden]


def test_items_with_the_same_relevance_share_its_result_only_where_it_cannot_change(tmp_path):
    """Consecutive items with the same pure ``relevant`` share its result (what it reads
    comes before both: the loader refuses an item's skip logic reading itself or a later
    item); one with a function call is evaluated every time."""
    from .conftest import base, write

    data = base()
    data["items"] = [
        {"name": "x", "type": "yesno", "label": "x"},
        {"name": "a", "type": "yesno", "relevant": "x = 'yes'", "label": "a"},
        {"name": "b", "type": "text", "relevant": "x = 'yes'", "label": "b"},
        {"name": "c", "type": "yesno", "relevant": "a = '' or b = ''", "label": "c"},
        {"name": "d", "type": "yesno", "relevant": "a = '' or b = ''", "label": "d"},
        {"name": "e", "type": "yesno", "relevant": "c = ''", "label": "e"},
        {"name": "f", "type": "yesno", "relevant": "c = ''", "label": "f"},
        {"name": "g", "type": "text", "relevant": "string_length(b) > 0", "label": "g"},
        {"name": "h", "type": "text", "relevant": "string_length(b) > 0", "label": "h"},
    ]
    data["indicators"] = {}
    data["profile"] = {}
    inst = instruments.load_instrument(write(tmp_path, data))
    shared = {name: step.same_relevance for name, step in inst.compiled.by_name.items()}
    assert shared == {"x": False, "a": False, "b": True, "c": False, "d": True, "e": False,
                      "f": True, "g": False, "h": False}  # fmt: skip
    general = _general(inst)
    for answers in (
        {"x": "yes", "a": "yes", "b": "t", "g": "g", "h": "h"},
        {"x": "yes", "a": "yes", "c": "yes", "d": "no"},
        {"x": "no", "c": "yes", "d": "yes", "e": "yes"},
        {"x": "yes", "b": "t", "e": "yes", "f": "yes"},
    ):
        fast, slow = inst.compiled.run(answers), general.run(answers)
        assert (fast.errors, fast.values, fast.relevance) == (
            slow.errors, slow.values, slow.relevance
        ), answers  # fmt: skip
