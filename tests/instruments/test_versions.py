"""Content hash, the published-versions register and the browser's JSON."""

from __future__ import annotations

import json

import pytest

from instruments import InstrumentError, load_directory, load_instrument, loads_instrument

from .conftest import base, item, write


def test_hash_ignores_layout_comments_and_expression_spacing(tmp_path):
    first = load_instrument(write(tmp_path, base(), "a.yaml"))
    data = base()
    item(data, "sat")["relevant"] = "consent='yes'"
    text = "# a comment\n" + write(tmp_path, data, "b.yaml").read_text(encoding="utf-8")
    second = loads_instrument(text.replace("\n", "\n\n"))
    assert first.content_hash == second.content_hash
    assert first.content_hash.startswith("sha256:") and len(first.content_hash) == 71


def test_hash_changes_with_meaning(tmp_path):
    first = load_instrument(write(tmp_path, base(), "a.yaml"))
    data = base()
    item(data, "sat")["label"] = "您满意吗?"
    assert load_instrument(write(tmp_path, data, "b.yaml")).content_hash != first.content_hash


def register(tmp_path, text: str) -> None:
    (tmp_path / "_published.yaml").write_text(text, encoding="utf-8")


def test_published_version_matches_its_hash(tmp_path):
    inst = load_instrument(write(tmp_path, base()))
    assert not inst.published
    register(tmp_path, f"mini:\n  1: {inst.content_hash}\n")
    assert load_instrument(tmp_path / "mini.yaml").published
    assert load_directory(tmp_path)["mini"].published


def test_a_published_version_never_changes(tmp_path):
    write(tmp_path, base())
    register(tmp_path, "mini:\n  1: sha256:0000\n")
    with pytest.raises(InstrumentError) as info:
        load_directory(tmp_path)
    (problem,) = info.value.problems
    assert "version 1 was published as sha256:0000 but its content now hashes to" in problem.reason
    assert "give the edited questionnaire a new version number" in problem.reason


def test_a_file_older_than_a_published_version(tmp_path):
    inst = load_instrument(write(tmp_path, base()))
    register(tmp_path, f"mini:\n  1: {inst.content_hash}\n  2: sha256:abcd\n")
    with pytest.raises(InstrumentError, match="version 1 is older than published version 2"):
        load_instrument(tmp_path / "mini.yaml")


def test_client_dict_is_json_with_ast_expressions(mini):
    d = json.loads(json.dumps(mini.to_client_dict(), ensure_ascii=False))
    assert d["key"] == "mini" and d["version"] == 1
    assert d["content_hash"] == mini.content_hash
    items = {i["name"]: i for i in d["items"]}
    assert items["sat"]["relevant"] == ["=", ["var", "consent"], ["lit", "yes"]]
    assert items["areas"]["constraint"] == ["<=", ["count_selected", ["var", "areas"]], ["lit", 2]]
    assert items["consent"]["yes_label"] == {"zh": "是", "en": "Yes"}
    assert items["years"]["min"] == 0 and items["years"]["integer"] is True
    assert d["choices"]["sat"][4] == {
        "code": "dk",
        "label": {"zh": "说不清", "en": None},
        "dont_know": True,
    }


def test_yes_no_and_leading_zeros_stay_text_in_yaml():
    text = """
key: t
version: 1
title: 测试
choices:
  c: [{code: 01, label: 一}, {code: on, label: 二}]
items:
  - {name: q, type: single, choices: c, label: 问}
  - {name: k, type: yesno, label: 知道吗}
indicators:
  knows: {label: 知晓率, item: k, positive: [yes]}
  first: {label: 一, item: q, positive: [01]}
"""
    inst = loads_instrument(text)
    assert inst.choice_codes(inst.item("q")) == ("01", "on")
    assert inst.indicator("knows").positive == ("yes",)
    assert inst.indicator("first").positive == ("01",)


def test_instruments_are_hashable_and_frozen(mini):
    import dataclasses

    assert {mini: 1}[mini] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        mini.version = 2


def test_the_documented_example_loads():
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "instruments.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if b.startswith("key:"))
    inst = loads_instrument(example, source="docs/instruments.md")
    assert inst.indicator("satisfaction").positive == ("satisfied", "fairly_satisfied")
