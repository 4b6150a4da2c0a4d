"""Server-side answer checking: skip logic, required, types, codes, ranges, constraints."""

from __future__ import annotations

import pytest

from instruments import drop_irrelevant, relevant_items, validate_answers


def codes(inst, answers) -> list[tuple[str, str]]:
    return [(e.item, e.code) for e in validate_answers(inst, answers)]


def test_valid_answers(mini):
    answers = {"consent": "yes", "sat": "fairly", "areas": ["a", "c"], "years": 12, "why": "狗"}
    assert validate_answers(mini, answers) == []


def test_relevant_items_follow_skip_logic(mini):
    assert relevant_items(mini, {}) == ["intro", "consent", "age"]
    assert relevant_items(mini, {"consent": "yes", "sat": "satisfied"}) == [
        "intro",
        "consent",
        "sat",
        "areas",
        "years",
        "age",
    ]
    assert "why" in relevant_items(mini, {"consent": "yes", "sat": "no"})


def test_a_hidden_answer_hides_what_depends_on_it(mini):
    # sat = 'no' would show `why`, but sat itself is hidden when consent = 'no'.
    assert "why" not in relevant_items(mini, {"consent": "no", "sat": "no"})


def test_required(mini):
    assert codes(mini, {"consent": "yes"}) == [("sat", "required")]
    assert codes(mini, {}) == [("consent", "required")]
    assert codes(mini, {"consent": "yes", "sat": ""}) == [("sat", "required")]


def test_required_is_only_for_relevant_items(mini):
    assert codes(mini, {"consent": "no"}) == []


def test_not_relevant_answers_are_errors_and_can_be_dropped(mini):
    answers = {"consent": "no", "sat": "satisfied", "why": "x"}
    assert codes(mini, answers) == [("sat", "not_relevant"), ("why", "not_relevant")]
    assert drop_irrelevant(mini, answers) == {"consent": "no"}
    assert validate_answers(mini, drop_irrelevant(mini, answers)) == []


def test_unknown_item(mini):
    assert codes(mini, {"consent": "no", "name": "张三", "intro": "x"}) == [
        ("name", "unknown_item"),
        ("intro", "unknown_item"),
    ]


@pytest.mark.parametrize(
    ("item", "value", "code"),
    [
        ("sat", "great", "unknown_choice"),
        ("sat", ["satisfied"], "invalid_type"),
        ("sat", 1, "invalid_type"),
        ("areas", ["a", "z"], "unknown_choice"),
        ("areas", ["a", "a"], "unknown_choice"),
        ("areas", "a", "invalid_type"),
        ("years", "twelve", "not_a_number"),
        ("years", True, "not_a_number"),
        ("years", 2.5, "not_a_number"),
        ("years", float("nan"), "not_a_number"),
        ("years", float("inf"), "not_a_number"),
        ("years", -1, "out_of_range"),
        ("years", 101, "out_of_range"),
        ("areas", ["a", "b", "c"], "constraint"),
    ],
)
def test_invalid_answers(mini, item, value, code):
    answers = {"consent": "yes", "sat": "satisfied", item: value}
    assert codes(mini, answers) == [(item, code)]


def test_yesno_codes(mini):
    assert codes(mini, {"consent": True}) == [("consent", "invalid_type")]
    assert codes(mini, {"consent": "是"}) == [("consent", "unknown_choice")]


def test_numbers_may_arrive_as_strings(mini):
    assert validate_answers(mini, {"consent": "yes", "sat": "fairly", "years": "12"}) == []
    assert codes(mini, {"consent": "yes", "sat": "fairly", "years": "100.5"}) == [
        ("years", "not_a_number")
    ]


def test_messages_in_chinese_and_english(mini):
    (error,) = validate_answers(
        mini, {"consent": "yes", "sat": "satisfied", "areas": ["a", "b", "c"]}
    )
    assert error.message == "最多选2项" and error.message_en == "At most 2"
    assert error.get("en") == "At most 2"
    (error,) = validate_answers(mini, {"consent": "yes", "sat": "satisfied", "years": 101})
    assert "0" in error.message and "100" in error.message
    assert error.message_en == "must be between 0 and 100"
