"""XLSForm import on workbooks built here with openpyxl."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

import instruments
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


def test_groups_keep_their_relevance_and_field_list(tmp_path):
    header = ["type", "name", "label", "relevant", "appearance"]
    survey = [
        ["select_one yn", "aware", "知道吗?"],
        ["begin group", "part2", "第二部分", "${aware} = 'y'", "field-list"],
        ["text", "inside", "建议", "${aware} != 'n'"],
        ["end group"],
        ["text", "after", "其他"],
    ]
    inst = loads_instrument(import_xlsform(workbook(tmp_path, survey=survey, header=header)))
    assert [i.name for i in inst.items] == ["aware", "inside", "after"]
    part2 = inst.group("part2")
    assert (part2.label.zh, part2.field_list, part2.relevant.source) == (
        "第二部分",
        True,
        "aware = 'y'",
    )
    assert inst.item("inside").group == "part2"
    assert inst.item("inside").relevant.source == "aware != 'n'"
    assert instruments.relevant_items(inst, {"aware": "n"}) == ["aware", "inside", "after"][::2]


FEATURES_HEADER = [
    "type", "name", "label::Chinese (zh)", "label::English (en)", "label::Français (fr)",
    "hint::Chinese (zh)", "relevant", "constraint", "constraint_message::Chinese (zh)",
    "required", "required_message::Chinese (zh)", "calculation", "choice_filter",
    "appearance", "default", "read_only", "repeat_count",
]  # fmt: skip
FEATURES = [
    ["start", "start"], ["end", "end"], ["today", "today"], ["deviceid", "deviceid"],
    ["select_one yn", "consent", "同意吗？", "Agree?", "D'accord ?", None, None, None, None,
     "yes", "请回答是否同意"],
    ["begin group", "place", "住址", "Address", "Adresse", None, "${consent} = “yes”", None,
     None, None, None, None, None, "field-list"],
    ["select_one district", "district", "区", "District", "Quartier"],
    ["select_one street", "street", "街道", "Street", "Rue", None, None, None, None, None,
     None, None, "district=${district}"],
    ["end group"],
    ["integer", "size", "几口人？", "How many?", "Combien ?", "含本人", None,
     ". > 0 and . <= 8", "1 到 8 人", "yes"],
    ["begin repeat", "members", "成员", "Member", "Membre", None, None, None, None, None,
     None, None, None, None, None, None, "${size}"],
    ["text", "who", "第 ${size} 人中的这一位", "Who", "Qui"],
    ["date", "born", "出生日期", "Born", "Né", None, None, ". <= today()", "不能晚于今天", "yes"],
    ["calculate", "age", None, None, None, None, None, None, None, None, None,
     "int((today() - ${born}) div 365.25)"],
    ["select_one yn", "works", "工作吗（${age} 岁）", "Works?", "Travaille ?", None,
     "${age} >= 16"],
    ["end repeat"],
    ["select_one yn or_other", "tenure", "自有住房吗？", "Own?", "Propriétaire ?"],
    ["time", "visit_time", "时间", "Time", "Heure", None, None, None, None, None, None, None,
     None, None, "09:00"],
    ["dateTime", "moved_in", "搬入时间", "Moved in", "Arrivée"],
    ["geopoint", "where", "位置", "Location", "Lieu"],
    ["text", "phone_tail", "手机尾号", "Phone tail", "Téléphone", None, None,
     "regex(., '^[0-9]{4}$')", "四位数字"],
    ["calculate", "summary", None, None, None, None, None, None, None, None, None,
     "concat(${district}, '-', ${street}, ' ', if(${size} + 1 > 4, 'big', 'small'), "
     "' ', count-selected(${tenure}), selected-at(${where}, 0))"],
    ["note", None, "记录：${summary}", "Summary: ${summary}", "Résumé", None, None, None,
     None, None, None, None, None, None, None, "yes"],
]  # fmt: skip
FEATURE_CHOICES = [
    ["list name", "name", "label::Chinese (zh)", "label::English (en)", "district"],
    ["yn", "yes", "是", "Yes"], ["yn", "no", "否", "No"],
    ["district", "d1", "东区", "East"], ["district", "d2", "西区", "West"],
    ["street", "s11", "东一街", "E1", "d1"], ["street", "s12", "东二街", "E2", "d1"],
    ["street", "s21", "西一街", "W1", "d2"],
]  # fmt: skip
FEATURE_ANSWERS = {
    "start": "2026-11-30T09:00:00+08:00", "end": "2026-11-30T09:12:00+08:00",
    "today": "2026-11-30", "deviceid": "tablet-7", "consent": "yes", "district": "d1",
    "street": "s12", "size": 2,
    "members": [{"who": "户主", "born": "1970-03-01", "works": "yes"},
                {"who": "孩子", "born": "2019-09-01"}],
    "tenure": "other", "tenure_other": "单位宿舍", "visit_time": "09:30",
    "moved_in": "2010-05-01T10:00", "where": "30.27 120.15 12 5", "phone_tail": "1234",
}  # fmt: skip


def feature_form(tmp_path: Path) -> Path:
    return workbook(
        tmp_path,
        survey=FEATURES,
        header=FEATURES_HEADER,
        choices=FEATURE_CHOICES,
        settings=[
            ["form_id", "form_title", "version", "default_language"],
            ["roster_x", "家庭成员", "3", "Chinese (zh)"],
        ],  # fmt: skip
    )


def test_every_feature_of_real_forms_imports_and_runs(tmp_path):
    notes: list[str] = []
    inst = loads_instrument(import_xlsform(feature_form(tmp_path), notes=notes))
    assert (inst.key, inst.version, inst.title.zh) == ("roster_x", 3, "家庭成员")
    types = {i.name: (str(i.type), i.metadata) for i in inst.items}
    assert types["start"] == ("datetime", "start") and types["today"] == ("date", "today")
    assert types["deviceid"] == ("text", "deviceid")
    assert types["born"][0] == "date" and types["age"][0] == "calculate"
    assert types["moved_in"][0] == "datetime" and types["where"][0] == "geopoint"
    assert inst.languages == ("zh", "en", "fr")
    assert inst.item("consent").label.get("fr") == "D'accord ?"
    assert inst.item("consent").required_message.zh == "请回答是否同意"
    assert inst.group("place").field_list and inst.group("members").repeat
    assert inst.group("place").relevant.source == 'consent = "yes"'  # “yes” normalised
    assert inst.group("members").repeat_count.source == "size"
    assert inst.item("street").choice_filter.source == "choice.district = district"
    assert inst.item("tenure_other").relevant.source == "selected(tenure, 'other')"
    assert inst.choice(inst.item("tenure"), "other").label.zh == "其他"
    assert inst.item("visit_time").default == "09:00"
    assert inst.item("who").label.zh == "第 ${size} 人中的这一位"
    note = next(i for i in inst.items if i.type == "note")
    assert note.read_only and note.label.en == "Summary: ${summary}"
    coded = instruments.code_response(inst, FEATURE_ANSWERS, today="2026-11-30")
    assert coded.errors == ()
    assert coded.calculated["members[1].age"] == 56
    assert coded.calculated["members[2].age"] == 7
    assert coded.calculated["summary"] == "d1-s12 small 130.27"
    assert "members[2].works" not in coded.relevant  # a 7-year-old is not asked


def test_feature_form_refuses_what_breaks_its_rules(tmp_path):
    inst = loads_instrument(import_xlsform(feature_form(tmp_path)))
    bad = dict(FEATURE_ANSWERS, street="s21", size=3, phone_tail="12a4")
    bad["members"] = [{"who": "户主", "born": "2030-01-01"}]
    codes = {(e.item, e.code) for e in instruments.validate_answers(inst, bad)}
    assert codes == {
        ("street", "choice_filter"),
        ("members", "repeat_count"),
        ("members[1].born", "constraint"),
        ("phone_tail", "constraint"),
    }


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_imported_form_runs_the_same_on_the_tablet(tmp_path):
    from .test_js_agreement import run_node

    inst = loads_instrument(import_xlsform(feature_form(tmp_path)))
    answer_sets = [FEATURE_ANSWERS, dict(FEATURE_ANSWERS, consent="no"),
                   dict(FEATURE_ANSWERS, size="x", members=[{"born": "2001-01-01"}])]  # fmt: skip
    js = run_node(
        "process.stdout.write(JSON.stringify(input.answers.map(a => {"
        " var v = X.visible(input.inst, a, {today: '2026-11-30'});"
        " return [v.relevant, v.values, v.calculated]; })));",
        {"inst": json.loads(json.dumps(inst.to_client_dict())), "answers": answer_sets},
    )
    for answers, (relevant, values, calculated) in zip(answer_sets, js, strict=True):
        run = inst.compiled.run(answers, {"today": "2026-11-30"})
        assert (run.relevance, run.values, run.calculated) == (relevant, values, calculated)


def test_unsupported_type_names_the_cell(tmp_path):
    survey = [["text", "a", "问一"], ["text", "b", "问二"], ["image", "photo", "照片"]]
    assert errors(tmp_path, survey=survey, header=["type", "name", "label"]) == [
        "survey!A4: type 'image' is not supported"
    ]


def test_unsupported_function_names_the_cell(tmp_path):
    survey = [["select_one yn", "d", "是否", None, None, None, None, None, None]]
    survey += [["text", "n", "数", None, None, "jr:choice-name(${d}, '${d}') = '是'"]]
    assert errors(tmp_path, survey=survey) == [
        "survey!F3: function 'jr:choice-name' is not supported",
    ]


def test_device_identifiers_are_left_out_with_a_note(tmp_path):
    survey = [["phonenumber", "phone"], ["text", "a", "问一"]]
    notes: list[str] = []
    text = import_xlsform(workbook(tmp_path, survey=survey, header=["type", "name", "label"]),
                          notes=notes)  # fmt: skip
    assert [i.name for i in loads_instrument(text).items] == ["a"]
    assert any(n.startswith("survey!A2: 'phonenumber' is not recorded") for n in notes)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("/data/n > 2 div", "expected an answer or a condition, found end of expression"),
        ("format-date(${d}, '%Y') = '2026'", "function 'format-date' is not supported"),
        ("${n} / 2 > 1", "'/' is not division in XPath; use div"),
        ("n > 2", "'n' is not supported here; refer to items as ${name}"),
        ("${n} + 1", "the expression is an answer, not a condition"),
    ],
)
def test_untranslatable_expressions(expression, reason):
    with pytest.raises(ValueError) as info:
        translate_expression(expression)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("source", "field", "ours"),
    [
        ("${a} = 'x' and (${b} != 'y' or not(${c} >= 3))", "relevant",
         "a = 'x' and (b != 'y' or not (c >= 3))"),
        ("${n} + 1 > 2", "relevant", "n + 1 > 2"),
        ("${n} mod 2 = 0", "relevant", "n mod 2 = 0"),
        ("/data/grp/n > -2", "relevant", "n > - 2"),
        ("string-length(.) > 2", "constraint", "string_length(.) > 2"),
        ("regex(., '[0-9]+')", "constraint", "regex(., '[0-9]+')"),
        ("selected-at(${m}, 0) = 'a'", "relevant", "selected_at(m, 0) = 'a'"),
        ("position(..) = 1", "relevant", "position() = 1"),
        ("name = ${d} or name = 'x'", "choice_filter", "choice.code = d or choice.code = 'x'"),
        ("today()", "calculation", "today()"),
        ("${a}=‘是’", "relevant", "a = '是'"),
    ],
)  # fmt: skip
def test_translations(source, field, ours):
    assert translate_expression(source, field) == ours


def test_calculation_on_a_question_is_refused_at_its_cell(tmp_path):
    header = ["type", "name", "label", "calculation"]
    survey = [["text", "a", "问一"], ["text", "b", "问二", "1 + 1"]]
    assert errors(tmp_path, survey=survey, header=header) == [
        "survey!D3: b: 'calculation' only applies to calculate items"
    ]


def test_conditional_required_and_nested_repeats_are_refused(tmp_path):
    header = ["type", "name", "label", "required"]
    survey = [
        ["select_one yn", "x", "问"],
        ["begin repeat", "people", "家庭成员"],
        ["text", "a", "问", "${x} = 'yes'"],
        ["begin repeat", "pets", "宠物"],
        ["text", "pet", "名字"],
        ["end repeat"],
        ["end repeat"],
    ]
    assert errors(tmp_path, survey=survey, header=header) == [
        "survey!D4: required '${x} = 'yes'' must be yes or no (a condition is not "
        "supported; use relevant)",
        "survey!A5: a repeat inside a repeat is not supported",
    ]


def test_pyxform_refusals_name_the_row(tmp_path):
    survey = [["select_one colours", "c", "颜色", None, None, None, None, None, None]]
    (line,) = errors(tmp_path, survey=survey)
    assert line == "form.xlsx: [row : 2] List name not in choices sheet: colours"
    header = ["type", "name", "label"]
    (line,) = errors(tmp_path, survey=[["text", "a", "问"], [None, "b", "问二"]], header=header)
    assert line.startswith("form.xlsx: [row : 3] Question with no type.")
    survey = [["begin group", "g", None], ["text", "a", "问"]]
    (line,) = errors(tmp_path, survey=survey, header=header)
    assert line.startswith("form.xlsx: [row : 2] Unmatched 'begin_group'.")


def test_problems_found_by_the_loader_name_the_cell(tmp_path):
    survey = [
        ["text", "a", "问一", None, None, "${later} = 'x'", None, None, None],
        ["text", "later", "问二", None, None, None, None, None, None],
    ]
    (line,) = errors(tmp_path, survey=survey)
    assert line.startswith("survey!F2: a: relevant \"later = 'x'\": refers to item 'later'")


def test_not_a_workbook(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip", encoding="utf-8")
    with pytest.raises(XLSFormError, match="bad.xlsx: not an .xlsx or .xls workbook"):
        import_xlsform(bad)
    with pytest.raises(XLSFormError, match="no such file"):
        import_xlsform(tmp_path / "missing.xlsx")


def test_version_from_settings_that_is_not_whole_becomes_1_with_a_note(tmp_path):
    notes: list[str] = []
    settings = [["form_id", "version"], ["f", "1.2"]]
    text = import_xlsform(workbook(tmp_path, settings=settings), notes=notes)
    assert loads_instrument(text).version == 1
    assert "settings: version '1.2' is not a whole number; version 1 used" in notes


def test_a_workbook_under_the_wrong_extension_is_read_as_what_it_is(tmp_path):
    """Uploads are saved under a fixed name: .xls bytes named .xlsx (and the reverse)."""
    real = Path(__file__).parent / "xlsforms"
    xls_as_xlsx = tmp_path / "tutorial.xlsx"
    xls_as_xlsx.write_bytes((real / "pyxform__tutorial.xls").read_bytes())
    xlsx_as_xls = tmp_path / "fields.xls"
    xlsx_as_xls.write_bytes((real / "pyxform__field-list.xlsx").read_bytes())
    for path in (xls_as_xlsx, xlsx_as_xls):
        assert loads_instrument(import_xlsform(path)).items
