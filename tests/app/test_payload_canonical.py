"""Parsing a payload and its content hash, made cheaper (issue 16 item 3), still give the
same result: the hashes of stored submissions (data/content_hashes.json, written by the
code before the change) are unchanged, and the one-pass acceptance of plain answers and
timings gives what the item-by-item checks give — the same submission, or the same
refusal naming the same field."""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import pytest

from survey_app.canvass import payloads
from survey_app.canvass.payloads import Invalid, parse_response

FIXTURES = json.loads((Path(__file__).parent / "data" / "content_hashes.json").read_text("utf-8"))


def test_content_hashes_of_stored_submissions_are_unchanged():
    assert len(FIXTURES) >= 15
    for case in FIXTURES:
        assert parse_response(case["payload"]).content_hash == case["content_hash"], case
    # computed once per submission, the same every time it is asked for
    sub = parse_response(FIXTURES[0]["payload"])
    assert sub.content_hash == sub.content_hash == FIXTURES[0]["content_hash"]


def _outcome(data):
    try:
        return parse_response(copy.deepcopy(data))
    except Invalid as err:
        return ("invalid", err.field, str(err), err.errors)


BAD_VALUES = ("ok", "", "a\x00b", "\ud83d", "x" * 2001, "x" * 2000, 2**53, 2**53 + 1,
              10**400, -(10**400), math.nan, math.inf, 1.5, None, True, [], ["a", "b"],
              ["a", 3], ["a", ["b"]], ["\x07"], ["x"] * 101, [{"q": "v"}], [{"q": 10**400}],
              {"a": 1}, ("t",))  # fmt: skip
BAD_NAMES = ("n" * 64, "n" * 65, "bad\x1fname", "好")
BAD_TIMINGS = (0, 86400000, 86400001, -1, 1.7, True, None, "5", 10**400, math.nan)


def _variants(rng: random.Random) -> list[dict]:
    base = FIXTURES[0]["payload"]
    out = []
    for _ in range(300):
        data = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            where = rng.random()
            if where < 0.5:
                data["answers"][rng.choice(list(data["answers"]))] = rng.choice(BAD_VALUES)
            elif where < 0.6:
                data["answers"][rng.choice(BAD_NAMES)] = "v"
            elif where < 0.8:
                data["timings"][rng.choice(list(data["timings"]))] = rng.choice(BAD_TIMINGS)
            elif where < 0.9:
                data["timings"][rng.choice(BAD_NAMES)] = 5
            else:
                data[rng.choice(("latitude", "longitude"))] = rng.choice((10**400, math.nan, 91))
        out.append(data)
    return out


def test_one_pass_acceptance_equals_the_item_by_item_checks(monkeypatch):
    rng = random.Random(163)
    cases = _variants(rng) + [c["payload"] for c in FIXTURES]
    fast = [_outcome(c) for c in cases]
    monkeypatch.setattr(payloads, "_plain_answers", lambda answers: False)
    monkeypatch.setattr(payloads, "_plain_timings", lambda timings: False)
    slow = [_outcome(c) for c in cases]
    for case, a, b in zip(cases, fast, slow, strict=True):
        assert a == b, case
    refused = sum(isinstance(o, tuple) for o in fast)
    assert 100 < refused < len(cases) - 20  # both kinds were tried


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("big", {"answers": {"big": 10**400}}),
        ("timings", {"timings": {"q": 10**400}}),
        ("latitude", {"latitude": 10**400}),
        ("longitude", {"longitude": -(10**400)}),
    ],
)
def test_an_integer_too_large_for_a_float_is_refused_naming_the_field(field, change):
    data = {**copy.deepcopy(FIXTURES[0]["payload"]), **change}
    with pytest.raises(Invalid) as err:
        parse_response(data)
    assert err.value.field == field


def test_the_questionnaire_is_looked_up_for_geopoints_only_when_rounding_could_matter(
    monkeypatch,
):
    asked = []
    names = frozenset(["q0", "q1", "q2", "q3", "where"])  # "where": inside a repeat

    def every_item_a_geopoint(key, version):
        asked.append(key)
        return names

    monkeypatch.setattr(payloads, "_geopoint_items", every_item_a_geopoint)
    texts = ("30.27415 120.15515", "30.274149 120.155212 12 5", "30.2741 120.1551",
             "希望 多装路灯", "1 2 3 4 5", "-0.00001 0.00004", "yes", "")  # fmt: skip
    rng = random.Random(7)
    for _ in range(200):
        answers = {f"q{i}": rng.choice(texts) for i in range(4)}
        if rng.random() < 0.2:
            answers["roster"] = [{"where": rng.choice(texts)}]
        if rng.random() < 0.2:
            answers["codes"] = ["a", "b"]
        asked.clear()
        got = payloads._geopoints_rounded(answers, "household", "1")
        assert got == payloads._round_geopoints(answers, names), answers
        could = "roster" in answers or any(
            payloads.round_geopoint(v) != v for v in answers.values() if isinstance(v, str)
        )
        assert bool(asked) == could, answers
