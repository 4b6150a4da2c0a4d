"""Exports for people and for statistics packages: the estimates "for reading" (Chinese
headers, percentages, verdicts in words), SPSS .sav and Stata .dta with labels read back
by pyreadstat, the codebook, and a Content-Type that says its charset once."""

from __future__ import annotations

import io
import os
import tempfile

import pyreadstat
import pytest
from openpyxl import load_workbook

from survey_app.models import Role

from .factories import login, make_user
from .results_data import build_city

RUN = "indicators=satisfaction&indicators=awareness&method=korn-graubard&level=0.95&target=99&run=1"


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


@pytest.fixture
def city(session, instrument):
    return build_city(session, instrument)


@pytest.fixture
def analyst(client, session):
    user = make_user(session, Role.ANALYST)
    login(client, user)
    return user


def _read(body: bytes, suffix: str, reader):
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.write(fd, body)
    os.close(fd)
    try:
        return reader(path)
    finally:
        os.unlink(path)


def test_report_for_reading_has_percentages_words_and_widths(client, city, analyst):
    resp = client.get(f"/analysis/report.xlsx?wave={city.wave.id}&weighting=none&{RUN}")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb["测评结果"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["指标", "范围", "社区", "完成问卷数", "估计值"]
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["C"].width == 18
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == 2 * (len(city.communities) + 1)
    verdicts = {r[7].value for r in rows}
    assert verdicts <= {"达标", "未达标", "待定"} and verdicts
    for r in rows:
        assert r[4].number_format == "0.0%"
        assert 0 <= r[4].value <= 1
        if r[7].value != "待定":
            assert r[8].value is None  # "still needed" blank where it does not apply
        else:
            assert r[8].value is None or r[8].value > 0
    notes = dict(wb["说明"].iter_rows(min_row=2, values_only=True))
    assert "Asia/Shanghai" in notes["导出时间"]


def test_sav_and_dta_round_trip_with_labels(client, city, analyst, instrument):
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        resp = client.get(f"/analysis/responses.{fmt}?wave={city.wave.id}")
        assert resp.status_code == 200, fmt
        df, meta = _read(resp.data, f".{fmt}", reader)
        assert len(df) > 0
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        # variable labels from question labels, in Chinese
        overall = next(i for i in instrument.items if i.name == "sat_overall")
        assert labels["q_sat_overall"] == overall.label.zh
        # value labels from choices
        vl = meta.variable_value_labels["q_sat_overall"]
        assert set(vl.values()) >= {"满意", "比较满意", "不满意"}
        assert set(df["q_sat_overall"].dropna().unique()) <= set(vl)
        # multiple choice: one 0/1 column per choice besides the joined form
        multi = next(i for i in instrument.items if i.type == "multiple")
        dummies = [c for c in df.columns if c.startswith(f"q_{multi.name}_")]
        assert len(dummies) == len(instrument.choice_lists[multi.choices])
        assert set(df[dummies[0]].dropna().unique()) <= {0, 1}
        # indicators coded 0/1 with labels
        assert meta.variable_value_labels["satisfaction"] == {1: "是", 0: "否"}


def test_codebook_lists_every_variable(client, city, analyst):
    resp = client.get(f"/analysis/codebook.csv?wave={city.wave.id}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = resp.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "变量,标签,类型,取值与标签,原始编码,跳转条件"
    assert "q_sat_overall" in text and "1=满意" in text
    wb = load_workbook(io.BytesIO(client.get(f"/analysis/codebook.xlsx?wave={city.wave.id}").data))
    assert wb.active.max_row > 10


def test_csv_content_type_names_its_charset_once(client, city, analyst):
    for url in (
        f"/analysis/export.csv?wave={city.wave.id}&weighting=none&{RUN}",
        f"/analysis/responses.csv?wave={city.wave.id}",
    ):
        assert client.get(url).headers["Content-Type"] == "text/csv; charset=utf-8"


def test_bad_wave_parameters_are_4xx(client, city, analyst):
    assert client.get("/analysis/responses.sav?wave=abc").status_code == 400
    assert client.get("/analysis/responses.dta?wave=99999999999999999999999").status_code == 400
    assert client.get("/analysis/codebook.csv?wave=999999").status_code == 404
    assert client.get(f"/analysis/responses.pdf?wave={city.wave.id}").status_code == 404


def test_raw_export_has_no_duplicated_profile_columns(client, city, analyst):
    text = client.get(f"/analysis/responses.csv?wave={city.wave.id}").data.decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert len(header) == len(set(header))
    assert "age_group" in header and "q_age_group" not in header and "q_sex" not in header


def test_items_inside_a_repeat_are_exported_one_answer_per_member():
    from pathlib import Path

    import instruments
    from survey_app.results import exports

    roster = instruments.load_instrument(
        Path(__file__).resolve().parents[1] / "instruments" / "data" / "roster.yaml"
    )
    repeats = exports.repeat_names(roster)
    assert repeats["born"] == "members" and "consent" not in repeats
    born = next(i for i in roster.items if i.name == "born")
    answers = {"members": [{"born": "1980-01-02"}, {"born": "2011-05-06"}, {}]}
    assert exports.answer_cell(answers, born, "members") == "1980-01-02 | 2011-05-06 | "
    assert exports.answer_cell({}, born, "members") == ""
