"""XLSForm import on workbooks built here with openpyxl."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from instruments import loads_instrument, validate_answers
from instruments.xlsform import XLSFormError, import_xlsform, translate_expression

SURVEY_HEADER = [
    "type",
    "name",
    "label::Chinese (zh)",
    "label::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::zh",
    "hint",
]
SURVEY = [
    ["note", "hello", "您好", "Hello", None, None, None, None, None],
    ["select_one yn", "aware", "您知道创文吗?", "Aware?", "yes", None, None, None, None],
    [
        "select_one sat",
        "sat",
        "您满意吗?",
        "Satisfied?",
        "true",
        "${aware} = 'y'",
        None,
        None,
        None,
    ],
    ["integer", "age", "年龄", "Age", "yes", None, ". >= 16 and . <= 120", "须年满16岁", "周岁"],
    ["decimal", "years", "居住年数", None, None, "${age} > 16", ". > -1", None, None],
    [
        "select_multiple area",
        "areas",
        "哪些方面需要改进?",
        None,
        None,
        "not(${sat} = 'good')",
        "count-selected(.) <= 2",
        None,
        None,
    ],
    [
        "text",
        "why",
        "为什么?",
        None,
        None,
        "selected(${areas}, 'b') or ${areas} = ''",
        None,
        None,
        None,
    ],
]
CHOICES = [
    ["list_name", "name", "label::zh", "label::en"],
    ["yn", "y", "知道", "Yes"],
    ["yn", "n", "不知道", "No"],
    ["sat", "good", "满意", "Satisfied"],
    ["sat", "bad", "不满意", "Dissatisfied"],
    ["area", "a", "交通秩序", None],
    ["area", "b", "市容环境", None],
    ["area", 3, "文明养犬", None],
]


def workbook(
    path: Path,
    survey: list[list] | None = None,
    header: list[str] | None = None,
    choices: list[list] | None = None,
    settings: list[list] | None = None,
) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(header or SURVEY_HEADER)
    for row in SURVEY if survey is None else survey:
        ws.append(row)
    cs = wb.create_sheet("choices")
    for row in CHOICES if choices is None else choices:
        cs.append(row)
    if settings:
        st = wb.create_sheet("settings")
        for row in settings:
            st.append(row)
    file = path / "form.xlsx"
    wb.save(file)
    return file


def errors(path: Path, **kwargs) -> list[str]:
    with pytest.raises(XLSFormError) as info:
        import_xlsform(workbook(path, **kwargs))
    return list(info.value.errors)


def test_import_the_compatible_subset(tmp_path):
    text = import_xlsform(workbook(tmp_path), key="demo", version=2)
    inst = loads_instrument(text)
    assert (inst.key, inst.version) == ("demo", 2)
    types = {i.name: str(i.type) for i in inst.items}
    assert types == {
        "hello": "note",
        "aware": "single",
        "sat": "single",
        "age": "number",
        "years": "number",
        "areas": "multiple",
        "why": "text",
    }
    age = inst.item("age")
    assert age.integer and age.required and age.hint.zh == "周岁"
    assert age.constraint.source == ". >= 16 and . <= 120"
    assert age.constraint_message.zh == "须年满16岁"
    assert inst.item("aware").label.en == "Aware?"
    assert inst.item("sat").relevant.source == "aware = 'y'"
    assert inst.item("areas").relevant.source == "not (sat = 'good')"
    assert inst.item("areas").constraint.source == "count_selected(.) <= 2"
    assert inst.item("why").relevant.source == "selected(areas, 'b') or not answered(areas)"
    assert inst.choice_codes(inst.item("areas")) == ("a", "b", "3")
    assert not inst.item("years").integer
    answers = {"aware": "y", "sat": "bad", "age": 30, "years": 2.5, "areas": ["a", "3"]}
    assert validate_answers(inst, answers) == []


def test_plain_label_column_and_settings(tmp_path):
    header = ["type", "name", "label"]
    survey = [["text", "q1", "您的建议"]]
    settings = [["form_id", "form_title", "version"], ["my-form", "我的问卷", "2024031501"]]
    text = import_xlsform(workbook(tmp_path, survey=survey, header=header, settings=settings))
    inst = loads_instrument(text)
    assert (inst.key, inst.version, inst.title.zh) == ("my_form", 2024031501, "我的问卷")
    assert inst.item("q1").label.zh == "您的建议"


def test_groups_are_flattened(tmp_path):
    survey = [
        ["select_one yn", "aware", "知道吗?", None, "yes", None, None, None, None],
        ["begin group", "part2", "第二部分", None, None, "${aware} = 'y'", None, None, None],
        ["text", "inside", "建议", None, None, "${aware} != 'n'", None, None, None],
        ["end group", None, None, None, None, None, None, None, None],
        ["text", "after", "其他", None, None, None, None, None, None],
    ]
    inst = loads_instrument(import_xlsform(workbook(tmp_path, survey=survey)))
    assert [i.name for i in inst.items] == ["aware", "part2", "inside", "after"]
    assert inst.item("part2").relevant.source == "aware = 'y'"
    assert inst.item("inside").relevant.source == "(aware = 'y') and (aware != 'n')"
    assert inst.item("after").relevant is None


def test_unsupported_type_names_the_cell(tmp_path):
    survey = [["text", "a", "问一"], ["text", "b", "问二"], ["geopoint", "where", "位置"]]
    assert errors(tmp_path, survey=survey, header=["type", "name", "label"]) == [
        "survey!A4: type 'geopoint' is not supported"
    ]


def test_unsupported_function_names_the_cell(tmp_path):
    survey = [["date", "d", "日期", None, None, None, None, None, None]]
    survey += [["integer", "n", "数", None, None, None, ". < today()", None, None]]
    assert errors(tmp_path, survey=survey) == [
        "survey!A2: type 'date' is not supported",
        "survey!G3: function 'today' is not supported",
    ]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("${n} + 1 > 2", "arithmetic is not supported"),
        ("${n} mod 2 = 0", "arithmetic is not supported"),
        ("/data/n > 2", "paths such as /data/q1 are not supported; use ${name}"),
        ("string-length(.) > 2", "function 'string-length' is not supported"),
        ("regex(., '[0-9]+')", "function 'regex' is not supported"),
        ("n > 2", "'n' is not supported here; refer to items as ${name}"),
    ],
)
def test_untranslatable_expressions(expression, reason):
    with pytest.raises(ValueError, match=None) as info:
        translate_expression(expression)
    assert str(info.value) == reason


def test_translation_keeps_precedence():
    source = "${a} = 'x' and (${b} != 'y' or not(${c} >= 3))"
    assert translate_expression(source) == "a = 'x' and (b != 'y' or not (c >= 3))"


def test_unsupported_column_is_an_error_only_when_used(tmp_path):
    header = ["type", "name", "label", "calculation", "media::image", "appearance"]
    survey = [["text", "a", "问一", None, None, "multiline"], ["text", "b", "问二", "1 + 1"]]
    assert errors(tmp_path, survey=survey, header=header) == [
        "survey!D3: column 'calculation' is not supported"
    ]


def test_unsupported_language_column(tmp_path):
    header = ["type", "name", "label::zh", "label::French (fr)"]
    assert errors(tmp_path, survey=[["text", "a", "问", "Question"]], header=header) == [
        "survey!D2: column 'label::French (fr)': language 'French (fr)' is not supported (use zh or en)"
    ]


def test_repeat_and_required_expression_are_errors(tmp_path):
    survey = [
        ["begin repeat", "people", "家庭成员", None, None, None, None, None, None],
        ["text", "a", "问", None, "${x} = 'y'", None, None, None, None],
        ["end repeat", None, None, None, None, None, None, None, None],
    ]
    assert errors(tmp_path, survey=survey) == [
        "survey!A2: type 'begin repeat' is not supported",
        "survey!E3: required '${x} = 'y'' must be yes or no",
        "survey!A4: type 'end repeat' is not supported",
    ]


def test_missing_choice_list_and_label(tmp_path):
    survey = [
        ["select_one colours", "c", "颜色", None, None, None, None, None, None],
        ["text", "t", None, "English only", None, None, None, None, None],
    ]
    assert errors(tmp_path, survey=survey) == [
        "survey!A2: choice list 'colours' is not on the choices sheet",
        "survey!C3: 't' has no Chinese (or plain) label",
    ]


def test_problems_found_by_the_loader_name_the_row(tmp_path):
    survey = [
        ["text", "a", "问一", None, None, "${later} = 'x'", None, None, None],
        ["text", "later", "问二", None, None, None, None, None, None],
    ]
    (line,) = errors(tmp_path, survey=survey)
    assert line.startswith("form.xlsx: survey row 2 (a): relevant \"later = 'x'\": refers to item")


def test_row_without_type(tmp_path):
    survey = [["text", "a", "问"], [None, "b", "问二"]]
    header = ["type", "name", "label"]
    assert errors(tmp_path, survey=survey, header=header) == ["survey!A3: the row has no type"]


def test_unclosed_group(tmp_path):
    survey = [["begin group", "g", None, None, None, None, None, None, None]]
    survey += [["text", "a", "问", None, None, None, None, None, None]]
    assert errors(tmp_path, survey=survey) == ["survey!A2: 'begin group' is never closed"]


def test_not_a_workbook(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip", encoding="utf-8")
    with pytest.raises(XLSFormError, match="not a readable .xlsx workbook"):
        import_xlsform(bad)
    with pytest.raises(XLSFormError, match="no such file"):
        import_xlsform(tmp_path / "missing.xlsx")


def test_version_from_settings_must_be_whole(tmp_path):
    settings = [["form_id", "version"], ["f", "1.2"]]
    assert errors(tmp_path, settings=settings) == [
        "settings: version '1.2' is not a whole number; give --version"
    ]
