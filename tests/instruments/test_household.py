"""The packaged standard form loads and codes indicators as the assessment does."""

from __future__ import annotations

import json

import instruments
from instruments import (
    feedback_items,
    indicator_values,
    load_directory,
    profile_values,
    relevant_items,
    validate_answers,
)

AREAS = (
    "municipal_facilities",
    "traffic_order",
    "city_appearance",
    "farmers_market",
    "illegal_ads",
    "dog_keeping",
    "neighbourhood_property",
    "volunteer_service",
    "government_service",
)


def household():
    return load_directory(instruments.FORMS_DIR)["household"]


def complete(**overrides):
    answers = {
        "screen_resident": "yes",
        "screen_age": "yes",
        "consent": "yes",
        "aware_campaign": "yes",
        "aware_values": "yes",
        "aware_regulation": "no",
        "aware_hotline": "yes",
        "support": "support",
        "sat_overall": "fairly_satisfied",
        **{f"sat_{a}": "satisfied" for a in AREAS},
        "improve_first": ["traffic_order", "dog_keeping"],
        "need": "  小区停车难 ",
        "advice": "",
        "age_group": "a45_59",
        "sex": "female",
        "residence_years": "r10_plus",
    }
    answers.update(overrides)
    return answers


def test_household_loads_with_the_indicators_the_app_expects():
    inst = household()
    keys = [i.key for i in inst.indicators]
    assert keys[:3] == ["awareness", "support", "satisfaction"]
    assert {f"satisfaction_{a}" for a in AREAS} <= set(keys)
    kinds = {i.key: i.kind for i in inst.indicators}
    assert kinds["satisfaction"] == "headline"
    assert kinds["satisfaction_traffic_order"] == "area"
    assert inst.version == 1 and inst.content_hash.startswith("sha256:")
    json.dumps(inst.to_client_dict(), ensure_ascii=False)


def test_complete_household_answers_are_valid_and_coded():
    inst = household()
    answers = complete()
    assert validate_answers(inst, answers) == []
    values = indicator_values(inst, answers)
    assert values["awareness"] == 1
    assert values["support"] == 1
    assert values["satisfaction"] == 1
    assert values["awareness_regulation"] == 0
    assert profile_values(inst, answers) == {
        "age_group": "a45_59",
        "sex": "female",
        "residence_years": "r10_plus",
    }
    assert feedback_items(inst, answers) == [("问需", "小区停车难")]


def test_dont_know_counts_as_not_satisfied():
    inst = household()
    values = indicator_values(inst, complete(sat_overall="dont_know", support="dont_know"))
    assert values["satisfaction"] == 0
    assert values["support"] == 0
    assert indicator_values(inst, complete(sat_overall="neutral"))["satisfaction"] == 0


def test_screened_out_resident_sees_no_questions_and_has_no_indicators():
    inst = household()
    answers = {"screen_resident": "no"}
    assert relevant_items(inst, answers) == ["opening", "screen_resident", "not_eligible"]
    assert validate_answers(inst, answers) == []
    assert set(indicator_values(inst, answers).values()) == {None}


def test_no_names_or_phone_numbers_are_asked():
    words = ("姓名", "电话号码", "手机", "身份证")
    for item in household().items:
        if item.has_value:  # the opening note says none are recorded
            assert not any(w in item.label.zh for w in words), item.name


def test_household_v1_is_published_and_unchanged():
    # A published version never changes: edit the form only under a new version number.
    inst = household()
    assert inst.published
    assert (instruments.FORMS_DIR / "_published.yaml").is_file()
