"""Test interviews: accepted by the server's checks, reproducible, honouring skip logic,
constraints, choice filters and repeats."""

from __future__ import annotations

from pathlib import Path

import pytest

import instruments
from instruments import GenerationError, generate_interviews

from .conftest import base, item, write

ROSTER = Path(__file__).parent / "data" / "roster.yaml"
TODAY = "2026-11-30"


@pytest.fixture(scope="module")
def household():
    return instruments.load_directory(instruments.FORMS_DIR)["household"]


@pytest.fixture(scope="module")
def roster():
    return instruments.load_instrument(ROSTER)


def test_household_interviews_are_accepted_and_reach_the_rates(household):
    interviews = generate_interviews(household, 300, seed=1, today=TODAY)
    assert len(interviews) == 300
    indicator_items = {ind.item for ind in household.indicators}
    satisfied = 0
    for answers in interviews:
        coded = instruments.code_response(household, answers, today=TODAY)
        assert coded.errors == (), answers
        assert indicator_items & set(answers)  # the sync takes it as an interview
        satisfied += coded.indicators["satisfaction"] == 1
    assert 0.5 < satisfied / 300 < 0.95  # the first two of five choices, weighted 1, 0.6


def test_same_seed_same_interviews_other_seed_others(household):
    one = generate_interviews(household, 20, seed=7, today=TODAY)
    assert one == generate_interviews(household, 20, seed=7, today=TODAY)
    assert one != generate_interviews(household, 20, seed=8, today=TODAY)


def test_skip_logic_is_honoured(household):
    for answers in generate_interviews(household, 100, seed=3, today=TODAY):
        relevant = set(instruments.relevant_items(household, answers))
        assert set(answers) <= relevant
        if answers.get("consent") == "no":
            assert "sat_overall" not in answers
        assert len(answers.get("improve_first", [])) <= 3  # its constraint


def test_repeats_choice_filters_and_calculations(roster):
    interviews = generate_interviews(roster, 60, seed=5, today=TODAY)
    streets = {"d1": {"s11", "s12"}, "d2": {"s21"}}
    for answers in interviews:
        coded = instruments.code_response(roster, answers, today=TODAY)
        assert coded.errors == (), answers
        if answers.get("consent") == "yes":
            assert len(answers["members"]) == answers["size"]
            assert answers["street"] in streets[answers["district"]]
            assert "age" not in answers["members"][0]  # calculations are the server's
            for member in answers["members"]:
                assert member["born"] <= TODAY
        assert answers["today"] == TODAY and answers["deviceid"] == "rehearsal"
    # a refusal answers no indicator item: the sync takes it as a visit, so none is made
    assert {a["consent"] for a in interviews} == {"yes"}


def test_an_imported_xlsform_is_rehearsed_too(tmp_path):
    from instruments.xlsform import import_xlsform

    from .test_xlsform import feature_form

    inst = instruments.loads_instrument(import_xlsform(feature_form(tmp_path)))
    for answers in generate_interviews(inst, 30, seed=2, today=TODAY):
        assert instruments.code_response(inst, answers, today=TODAY).errors == ()


def test_impossible_constraint_and_bad_arguments(tmp_path):
    data = base()
    item(data, "years")["required"] = True
    item(data, "years")["constraint"] = ". > 200"
    inst = instruments.load_instrument(write(tmp_path, data))
    with pytest.raises(GenerationError, match="years: no answer meets its constraint"):
        generate_interviews(inst, 5, seed=1)
    with pytest.raises(ValueError, match="n must be"):
        generate_interviews(inst, -1)
    with pytest.raises(ValueError, match="today must be a date"):
        generate_interviews(inst, 1, today="30/11/2026")


def test_chosen_weights_answer_rates_and_texts_set_the_rates(household):
    """The demo's waves draw at chosen rates: per-item weights, answer rates, texts."""
    interviews = generate_interviews(
        household, 400, seed=4, today=TODAY,
        weights={"consent": {"yes": 1}, "sat_overall": {"satisfied": 0.97, "dissatisfied": 0.03},
                 "improve_first": {"dog_keeping": 1, "illegal_ads": 1}},
        answer_rates={"need": 0.1, "improve_first": 1.0}, texts={"need": ["楼道灯不亮"]},
    )  # fmt: skip
    assert all(a["consent"] == "yes" for a in interviews)
    assert {a["sat_overall"] for a in interviews} == {"satisfied", "dissatisfied"}
    share = sum(a["sat_overall"] == "satisfied" for a in interviews) / 400
    assert 0.93 < share < 1.0
    assert all(set(a["improve_first"]) <= {"dog_keeping", "illegal_ads"} for a in interviews)
    needs = [a["need"] for a in interviews if "need" in a]
    assert set(needs) == {"楼道灯不亮"} and 15 < len(needs) < 70
    for answers in interviews[:50]:
        assert instruments.code_response(household, answers, today=TODAY).errors == ()
