"""Indicator coding (说不清 per indicator), the weighting profile, feedback texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments import feedback_items, indicator_values, load_instrument, profile_values

from .conftest import base, write


@pytest.mark.parametrize(
    ("sat", "expected"),
    [
        ("satisfied", 1),
        ("fairly", 1),
        ("neutral", 0),
        ("no", 0),
        ("dk", 0),  # 说不清 counts as not satisfied by default (dont_know: negative)
        (None, None),
    ],
)
def test_satisfaction_coding(mini, sat, expected):
    assert indicator_values(mini, {"consent": "yes", "sat": sat})["satisfaction"] == expected


def exclude_dont_know(tmp_path: Path):
    data = base()
    data["indicators"]["satisfaction"]["dont_know"] = "exclude"
    return load_instrument(write(tmp_path, data))


def test_dont_know_excluded_when_the_indicator_says_so(tmp_path):
    inst = exclude_dont_know(tmp_path)
    assert indicator_values(inst, {"consent": "yes", "sat": "dk"})["satisfaction"] is None
    assert indicator_values(inst, {"consent": "yes", "sat": "no"})["satisfaction"] == 0


def test_non_relevant_answers_are_not_coded(mini):
    values = indicator_values(mini, {"consent": "no", "sat": "satisfied"})
    assert values == {"satisfaction": None, "consent_rate": 0}


def test_yesno_indicator(mini):
    assert indicator_values(mini, {"consent": "yes"})["consent_rate"] == 1
    assert indicator_values(mini, {})["consent_rate"] is None


def test_unknown_code_is_not_coded(mini):
    assert indicator_values(mini, {"consent": "yes", "sat": "great"})["satisfaction"] is None


def test_profile_values(mini):
    assert profile_values(mini, {"consent": "yes", "years": "7", "age": "old"}) == {
        "age_group": "old",
        "residence_years": 7,
    }
    assert profile_values(mini, {"consent": "no", "years": 7}) == {
        "age_group": None,
        "residence_years": None,
    }


def test_feedback_items(mini):
    answers = {"consent": "yes", "sat": "no", "why": "  晚上广场舞太吵 "}
    assert feedback_items(mini, answers) == [("问需", "晚上广场舞太吵")]
    assert feedback_items(mini, {"consent": "yes", "sat": "no", "why": "   "}) == []
    # hidden by skip logic: not feedback
    assert feedback_items(mini, {"consent": "yes", "sat": "fairly", "why": "x"}) == []


@pytest.mark.parametrize(
    "answers",
    [
        {"consent": "yes", "sat": "no", "why": "吵", "age": "old", "years": 3},
        {"consent": "no", "sat": "satisfied"},
        {"consent": "yes", "sat": "great", "extra": 1},
        {},
    ],
)
def test_code_response_is_the_four_functions_in_one(mini, answers):
    from instruments import code_response, relevant_items, validate_answers

    coded = code_response(mini, answers)
    assert list(coded.errors) == validate_answers(mini, answers)
    assert coded.indicators == indicator_values(mini, answers)
    assert coded.profile == profile_values(mini, answers)
    assert list(coded.feedback) == feedback_items(mini, answers)
    assert list(coded.relevant) == relevant_items(mini, answers)
