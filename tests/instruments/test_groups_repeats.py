"""The YAML side of groups, repeats, calculations, choice filters, metadata, languages and
typographic quotes: what loads, what is refused and why."""

from __future__ import annotations

import pytest

import instruments
from instruments import InstrumentError, loads_instrument

BASE = """
key: t
version: 1
title: 测试
choices:
  yn: [{code: 'yes', label: 是}, {code: 'no', label: 否}]
  city: [{code: a, label: A, filters: {region: n}}, {code: b, label: B, filters: {region: s}}]
items:
"""


def load(items: str) -> instruments.Instrument:
    return loads_instrument(BASE + items, source="t.yaml")


def problems(items: str) -> list[str]:
    with pytest.raises(InstrumentError) as info:
        load(items)
    return [f"{p.where}: {p.reason}" for p in info.value.problems]


def test_typographic_quotes_and_full_width_operators_load_with_a_warning():
    inst = load("""
  - {name: q, type: single, choices: yn, label: 问}
  - {name: r, type: text, relevant: "q ＝ “yes” and count_selected(q) ≥ 1", label: 问}
""")
    assert inst.item("r").relevant.source == 'q = "yes" and count_selected(q) >= 1'
    (warning,) = inst.warnings
    assert "r: relevant" in warning and "typographic quotes or full-width operators" in warning


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ("  - {name: m, type: repeat, items: [{name: x, type: text, label: 问}]}\n"
         "  - {name: after, type: text, relevant: x = '1', label: 问}",
         "after: relevant \"x = '1'\": 'x' is inside repeat 'm'; outside it use count(m)"),
        ("  - {name: m, type: repeat, items: [{name: x, type: text, label: 问}]}\n"
         "  - {name: after, type: text, relevant: m = 1, label: 问}",
         "after: relevant 'm = 1': 'm' is a repeat: use count(m)"),
        ("  - {name: q, type: text, label: 问}\n"
         "  - {name: after, type: text, relevant: count(q) > 1, label: 问}",
         "after: relevant 'count(q) > 1': count() takes the name of a repeat, not 'q'"),
        ("  - {name: q, type: text, relevant: position() = 1, label: 问}",
         "q: relevant 'position() = 1': position() can only be used inside a repeat"),
        ("  - {name: m, type: repeat, items: [{name: n, type: repeat, items: "
         "[{name: x, type: text, label: 问}]}]}",
         "n: a repeat inside repeat 'm' is not supported"),
        ("  - {name: c, type: calculate}", "c: a calculate item needs 'calculation'"),
        ("  - {name: s, type: single, choices: city, choice_filter: choice.zone = 'n', label: 问}",
         "s: choice_filter \"choice.zone = 'n'\": the choice list has no column 'zone' "
         "(columns: code, region)"),
        ("  - {name: s, type: text, choice_filter: \"1 = 1\", label: 问}",
         "s: 'choice_filter' only applies to single, multiple items"),
        ("  - {name: d, metadata: today, type: text}", "d: metadata 'today' is a date item"),
        ("  - {name: q, type: text, label: '您好 ${nobody}'}",
         "q: the label refers to unknown item '${nobody}'"),
        ("  - {name: g, type: group, items: []}", "g: a group needs 'items' (a non-empty list)"),
        ("  - {name: g, type: group, repeat_count: 2, items: [{name: x, type: text, label: 问}]}",
         "g: 'repeat_count' only applies to a repeat"),
    ],
)  # fmt: skip
def test_refusals(items, reason):
    assert reason in problems(items)


def test_labels_in_any_language_and_the_languages_in_use():
    inst = load("""
  - {name: q, type: single, choices: yn, label: {zh: 问, en: Q, fr: Question, es-MX: Pregunta}}
""")
    label = inst.item("q").label
    assert (label.get("fr"), label.get("es-MX"), label.get("de")) == ("Question", "Pregunta", "问")
    assert inst.languages == ("zh", "en", "fr", "es-MX")
    assert label.to_dict()["others"] == {"fr": "Question", "es-MX": "Pregunta"}


def test_old_versions_keep_their_content_hash():
    """New fields enter the canonical form only when set: the household form's published
    hash (pinned in tests/instruments/test_versions.py) does not move."""
    household = instruments.load_directory(instruments.FORMS_DIR)["household"]
    canonical = household.canonical_dict()
    assert "groups" not in canonical
    assert all("group" not in it and "others" not in it["label"] for it in canonical["items"])


def test_repeat_answers_and_their_errors():
    inst = load("""
  - {name: n, type: number, integer: true, label: 几人}
  - name: people
    type: repeat
    repeat_count: n
    items:
      - {name: age, type: number, required: true, label: 年龄}
      - {name: adult, type: calculate, calculation: "if(age >= 18, 'yes', 'no')"}
      - {name: job, type: text, relevant: adult = 'yes', label: 职业}
  - {name: total, type: calculate, calculation: count(people)}
""")
    ok = {"n": 2, "people": [{"age": 40, "job": "司机"}, {"age": 9}]}
    coded = instruments.code_response(inst, ok)
    assert coded.errors == ()
    assert coded.calculated == {"people[1].adult": "yes", "people[2].adult": "no", "total": 2}
    bad = {"n": 3, "people": [{"age": 9, "job": "x", "zzz": 1}], "total": 5}
    assert {(e.item, e.code) for e in instruments.validate_answers(inst, bad)} == {
        ("people", "repeat_count"),
        ("people[1].zzz", "unknown_item"),
        ("people[1].job", "not_relevant"),
        ("total", "calculation"),
    }
    assert [e.code for e in instruments.validate_answers(inst, {"people": "x"})] == ["invalid_type"]


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("date", "2026-02-28", "2026-02-30"),
        ("time", "09:30", "25:00"),
        ("datetime", "2026-11-30T09:30:00+08:00", "2026-11-30 9:30"),
        ("geopoint", "30.27 120.15 12 5", "91 120"),
    ],
)
def test_formats_of_dates_times_and_geopoints(kind, good, bad):
    inst = load(f"  - {{name: v, type: {kind}, label: 问}}")
    assert instruments.validate_answers(inst, {"v": good}) == []
    assert [e.code for e in instruments.validate_answers(inst, {"v": bad})] == ["invalid_type"]


def test_a_code_twice_in_a_list_only_under_different_filters():
    twice = """
  counties:
    - {code: king, label: King, filters: {state: wa}}
    - {code: king, label: King, filters: {state: tx}}
    - {code: pierce, label: Pierce, filters: {state: wa}}
"""
    text = BASE.replace("choices:\n", "choices:\n" + twice) + (
        "  - {name: state, type: single, choices: yn, label: 州}\n"
        "  - {name: county, type: single, choices: counties, choice_filter: choice.state = 'wa', "
        "label: 县}\n"
    )
    inst = loads_instrument(text)
    assert instruments.validate_answers(inst, {"county": "king"}) == []
    from instruments.runner import offered_codes

    assert offered_codes(inst.compiled.step("county"), {}, {}) == ["king", "pierce"]
    with pytest.raises(InstrumentError, match="duplicate code 'king'"):
        loads_instrument(text.replace("{state: tx}", "{state: wa}"))
