"""Real public XLSForm workbooks (tests/instruments/xlsforms/SOURCES.md): each one either
imports — and then loads, codes an empty response and gives the tablet its JSON — or is
refused with messages that each name the workbook cell (or pyxform's sheet and row)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

import instruments
from instruments.xlsform import XLSFormError, import_xlsform

FORMS = sorted((Path(__file__).parent / "xlsforms").glob("*.xls*"))
CELL = re.compile(
    r"^((survey|choices|settings)![A-Z]+[0-9]+: "  # survey!G28: ...
    r"|\S+\.xlsx?: \[row : [0-9]+\] "  # pyxform's own refusals: file, row and sheet
    r"|survey row [0-9]+ \('[a-z_]+'\): )"
)
# The forms that import today; SOURCES.md gives the share. A form leaving this list is a
# regression; one joining it is progress (add it here and to SOURCES.md).
IMPORTS = {
    "correlaid__testA.xlsx", "pyxform__cascading_select_test_equivalent.xls",
    "pyxform__choice_filter_test.xlsx", "pyxform__hidden.xls", "pyxform__default_time_demo.xls", "pyxform__field-list.xlsx", "pyxform__gps.xls",
    "pyxform__ict_survey_fails.xls", "pyxform__repeat_date_test.xls",
    "pyxform__specify_other.xlsx", "pyxform__table-list.xls", "pyxform__text_and_integer.xlsx",
    "pyxform__tutorial.xls", "pyxform__yes_or_no_question.xlsx", "unhcr__KoBoXLSFormExamples.xlsx",
}  # fmt: skip


def test_the_collection_is_there_with_its_sources():
    sources = (Path(__file__).parent / "xlsforms" / "SOURCES.md").read_text(encoding="utf-8")
    assert len(FORMS) >= 25
    for form in FORMS:
        assert f"`{form.name}`" in sources, f"{form.name} is not in SOURCES.md"


@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_real_form_imports_or_is_refused_naming_the_cell(form: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl: headers and footers it cannot parse
        try:
            text = import_xlsform(form)
        except XLSFormError as exc:
            assert form.name not in IMPORTS, exc.errors
            assert exc.errors
            for line in exc.errors:
                assert CELL.match(line), line
            return
    assert form.name in IMPORTS
    inst = instruments.loads_instrument(text, source=form.name)
    json.dumps(inst.to_client_dict(), ensure_ascii=False)
    coded = instruments.code_response(inst, {})
    assert all(e.code in ("required", "repeat_count") for e in coded.errors)
