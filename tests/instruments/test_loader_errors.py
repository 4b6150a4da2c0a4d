"""Each kind of broken instrument gives one precise error: file, item, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments import InstrumentError, load_directory, load_instrument

from .conftest import base, item, write


def problems(tmp_path: Path, data) -> list[str]:
    path = write(tmp_path, data)
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines)
    return [line.split(": ", 1)[1] for line in lines]  # drop "file:line"


def only(tmp_path: Path, data) -> str:
    found = problems(tmp_path, data)
    assert len(found) == 1, found
    return found[0]


def test_base_instrument_is_valid(tmp_path):
    inst = load_instrument(write(tmp_path, base()))
    assert inst.key == "mini" and inst.version == 1
    assert [i.name for i in inst.items][:3] == ["intro", "consent", "sat"]


def test_error_names_file_and_line(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "consnt = 'yes'"
    path = write(tmp_path, data)
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.where == "sat" and problem.line
    assert str(problem).startswith(f"{path}:{problem.line}: sat: ")


def test_unknown_item_in_relevant(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "consnt = 'yes'"
    assert only(tmp_path, data) == "sat: relevant \"consnt = 'yes'\": unknown item 'consnt'"


def test_relevant_refers_to_a_later_item(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "years > 3"
    assert "refers to item 'years', which comes later" in only(tmp_path, data)


def test_relevant_refers_to_itself(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "sat = 'no'"
    assert "refers to the item itself" in only(tmp_path, data)


def test_relevant_refers_to_a_note(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "answered(intro)"
    assert "'intro' is a note and has no answer" in only(tmp_path, data)


def test_expression_syntax_error(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "consent = "
    assert "expected an answer or a condition, found end of expression" in only(tmp_path, data)


def test_relevant_uses_dot(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = ". = 'yes'"
    assert "'.' (this item's answer) may only be used in a constraint" in only(tmp_path, data)


def test_unknown_code_in_comparison(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "consent = 'true'"
    assert "'true' is not a code of item 'consent' (codes: no, yes)" in only(tmp_path, data)


def test_unknown_code_in_selected(tmp_path):
    data = base()
    item(data, "why")["relevant"] = "selected(areas, 'z')"
    assert "'z' is not a code of item 'areas'" in only(tmp_path, data)


def test_multiple_choice_compared_directly(tmp_path):
    data = base()
    item(data, "why")["relevant"] = "areas = 'a'"
    assert "'areas' is a multiple-choice item: use selected(areas, 'code')" in only(tmp_path, data)


def test_function_on_wrong_item_type(tmp_path):
    data = base()
    item(data, "why")["relevant"] = "count_selected(years) > 1"
    assert "count_selected() cannot be used on 'years', a number item" in only(tmp_path, data)


def test_duplicate_code(tmp_path):
    data = base()
    data["choices"]["sat"].append({"code": "neutral", "label": "一般般"})
    assert only(tmp_path, data) == "choices.sat: duplicate code 'neutral'"


def test_duplicate_item_name(tmp_path):
    data = base()
    data["items"].append({"name": "sat", "type": "text", "label": "again"})
    assert only(tmp_path, data).startswith("sat: duplicate item name (first used on line ")


def test_duplicate_yaml_key(tmp_path):
    text = "key: mini\nversion: 1\nversion: 2\ntitle: t\nitems: []\n"
    assert only(tmp_path, text) == "instrument: not valid YAML: key 'version' is written twice"


def test_invalid_yaml(tmp_path):
    assert only(tmp_path, "key: [unclosed\n").startswith("instrument: not valid YAML: ")


def test_indicator_points_at_missing_choice(tmp_path):
    data = base()
    data["indicators"]["satisfaction"]["positive"] = ["satisfied", "very"]
    assert (
        only(tmp_path, data)
        == "indicators.satisfaction: positive code 'very' is not a choice of item 'sat'"
    )


def test_indicator_points_at_missing_item(tmp_path):
    data = base()
    data["indicators"]["satisfaction"]["item"] = "overall"
    assert only(tmp_path, data) == "indicators.satisfaction: points at unknown item 'overall'"


def test_indicator_on_a_text_item(tmp_path):
    data = base()
    data["indicators"]["satisfaction"] = {"label": "x", "item": "why", "positive": ["a"]}
    assert "item 'why' is a text item; use a single or yesno item" in only(tmp_path, data)


def test_indicator_counts_dont_know_as_positive(tmp_path):
    data = base()
    data["indicators"]["satisfaction"]["positive"] = ["satisfied", "dk"]
    assert "positive code 'dk' is marked dont_know" in only(tmp_path, data)


def test_indicator_bad_dont_know_policy(tmp_path):
    data = base()
    data["indicators"]["satisfaction"]["dont_know"] = "ignore"
    assert "dont_know must be negative or exclude, not 'ignore'" in only(tmp_path, data)


def test_indicator_bad_kind(tmp_path):
    data = base()
    data["indicators"]["satisfaction"]["kind"] = "main"
    assert "kind must be one of headline, area, detail, not 'main'" in only(tmp_path, data)


def test_unknown_choice_list(tmp_path):
    data = base()
    item(data, "sat")["choices"] = "satisfaction"
    assert only(tmp_path, data) == "sat: choice list 'satisfaction' is not defined under choices:"


def test_select_without_choices(tmp_path):
    data = base()
    del item(data, "sat")["choices"]
    assert "a single item needs 'choices'" in only(tmp_path, data)


def test_unknown_type(tmp_path):
    data = base()
    item(data, "why")["type"] = "photo"
    assert "why: unknown type 'photo' (known: single, multiple" in only(tmp_path, data)


def test_unknown_field_is_a_typo(tmp_path):
    data = base()
    item(data, "sat")["requried"] = True
    assert "sat: unknown field 'requried'" in only(tmp_path, data)


def test_missing_chinese_label(tmp_path):
    data = base()
    item(data, "sat")["label"] = {"en": "Satisfied?"}
    assert "sat: 'label' has no zh text" in only(tmp_path, data)


def test_bad_boolean(tmp_path):
    data = base()
    item(data, "sat")["required"] = "yes"
    assert "'required' must be true or false, not 'yes'" in only(tmp_path, data)


def test_min_greater_than_max(tmp_path):
    data = base()
    item(data, "years")["min"] = 200
    assert "years: min 200 is greater than max 100" in only(tmp_path, data)


def test_field_for_another_type(tmp_path):
    data = base()
    item(data, "sat")["min"] = 1
    assert "sat: 'min' only applies to number items" in only(tmp_path, data)


def test_bad_feedback_kind(tmp_path):
    data = base()
    item(data, "why")["feedback"] = "问候"
    assert "why: feedback must be one of 问需, 问计, 问效" in only(tmp_path, data)


def test_profile_points_at_missing_item(tmp_path):
    data = base()
    data["profile"]["sex"] = "gender"
    assert only(tmp_path, data) == "profile.sex: points at unknown item 'gender'"


def test_bad_version(tmp_path):
    data = base()
    data["version"] = "1.2"
    assert "version must be a whole number ≥ 1, not '1.2'" in only(tmp_path, data)


def test_all_problems_are_reported_together(tmp_path):
    data = base()
    item(data, "sat")["relevant"] = "nope = 'yes'"
    data["choices"]["area"].append({"code": "a", "label": "重复"})
    data["indicators"]["satisfaction"]["positive"] = ["great"]
    assert len(problems(tmp_path, data)) == 3


def test_load_directory_lists_every_file_and_duplicate_keys(tmp_path):
    write(tmp_path, base(), "a.yaml")
    write(tmp_path, base(), "b.yaml")  # same key "mini"
    broken = base()
    broken["key"] = "other"
    item(broken, "sat")["relevant"] = "nope = 'yes'"
    write(tmp_path, broken, "c.yaml")
    with pytest.raises(InstrumentError) as info:
        load_directory(tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'b.yaml'}: instrument: key 'mini' is also used by" in message
    assert f"{tmp_path / 'c.yaml'}:" in message and "unknown item 'nope'" in message
    assert len(info.value.problems) == 2


def test_load_directory_of_nothing(tmp_path):
    assert load_directory(tmp_path) == {}
    with pytest.raises(InstrumentError, match="does not exist"):
        load_directory(tmp_path / "missing")
