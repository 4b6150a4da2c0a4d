"""A questionnaire beyond the household form on the tablet (Chromium, 800×1280): a
field-list group on one screen with a cascading select, a household roster (a repeat
sized by an earlier answer), a date, a calculation that decides a later question, a default, a geopoint from the tablet's
position, ${name} in labels — synced and accepted by the server's checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from survey_app import create_app
from survey_app.config import Settings
from survey_app.models import Response, Wave, WaveStatus

from .conftest import LiveServer, shot, sign_in
from .test_canvass import click_choice, current_item, next_question, wait_outbox, wait_ready

FORMS = Path(__file__).resolve().parents[1] / "instruments" / "data"  # roster.yaml


@pytest.fixture(scope="module")
def roster_server(databases, tmp_path_factory):
    """The demo city, its open waves asking the roster questionnaire instead."""
    from survey_app.demo import seed
    from survey_app.instrument_registry import get_instrument

    url, drop = databases.new()
    settings = Settings(
        database_url=url,
        secret_key="browser-test-secret",
        instance_path=tmp_path_factory.mktemp("instance"),
        testing=True,
        csrf_enabled=True,
        log_level="WARNING",
        instruments_dir=FORMS,
    )
    app = create_app(settings)
    with app.app_context(), Session(app.extensions["engine"], expire_on_commit=False) as s:
        seed.seed_demo(session=s, instrument=get_instrument("household"))
        for wave in s.exec(select(Wave).where(Wave.status == WaveStatus.OPEN)).all():
            wave.instrument_key, wave.instrument_version = "roster", "1"
            s.add(wave)
        s.commit()
    server = LiveServer(app)
    yield server
    server.stop()


def test_roster_with_cascading_select_date_geopoint(page, context, roster_server):
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 30.2741, "longitude": 120.1551, "accuracy": 8})
    sign_in(page, roster_server.url, "canvasser")
    wait_ready(page)
    page.locator("a.household.state-todo").first.click()
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    assert current_item(page) == "consent"
    page.select_option("#form-lang", "fr")  # a label language beyond zh/en, picked here
    page.wait_for_function(
        "document.querySelector('section.question h1').textContent.includes('D')"
    )
    assert "D'accord ?" in page.locator("section.question h1").inner_text()
    page.select_option("#form-lang", "")
    page.wait_for_function(
        "document.querySelector('section.question h1').textContent.includes('同意')"
    )
    click_choice(page, "yes")
    next_question(page)
    assert page.locator("section.question").get_attribute("data-type") == "group"  # one screen
    assert current_item(page) == "district"
    page.click("button.choice[data-item='district'][data-code='d2']")  # 西区
    page.wait_for_selector("button.choice[data-item='street'][aria-checked='false']")
    offered = page.locator("button.choice[data-item='street']")
    assert [offered.nth(i).get_attribute("data-code") for i in range(offered.count())] == ["s21"]
    page.click("#next")
    assert "所在街道" in page.locator("#problem").inner_text()  # required, on the same screen
    shot(page, "canvass-20-field-list-cascading-select")
    page.click("button.choice[data-item='street'][data-code='s21']")
    next_question(page)
    page.fill("#answer", "2")  # two people: the roster has two entries
    next_question(page)
    assert current_item(page) == "members[1].relation"
    assert "家庭成员 1 · 第 2 口人中的这一位" in page.locator("section.question h1").inner_text()
    click_choice(page, "head")
    next_question(page)
    assert page.locator("#answer").get_attribute("type") == "date"
    page.fill("#answer", "1980-05-01")
    next_question(page)
    assert current_item(page) == "members[1].works"  # age 46, calculated on the tablet
    assert "46 岁" in page.locator("section.question h1").inner_text()
    click_choice(page, "yes")
    next_question(page)
    click_choice(page, "child")
    next_question(page)
    page.fill("#answer", "2020-01-02")
    next_question(page)
    assert current_item(page) == "sat"  # a six-year-old is not asked about work
    assert "您对西一街的环境满意吗" in page.locator("section.question h1").inner_text()
    shot(page, "canvass-21-label-with-answer")
    click_choice(page, "satisfied")
    next_question(page)
    assert current_item(page) == "phone_tail"
    page.fill("#answer", "12a4")
    page.click("#next")
    assert page.locator("#problem").inner_text() == "四位数字"  # regex() constraint
    page.fill("#answer", "")
    next_question(page)
    assert current_item(page) == "visit_time"
    assert page.locator("#answer").input_value() == "09:00"  # the default
    next_question(page)
    assert current_item(page) == "where"
    page.click("#geo")
    page.wait_for_function("document.getElementById('geo-value').textContent.startsWith('30.2741')")
    shot(page, "canvass-22-geopoint")
    next_question(page)
    assert "记录：d2-s21 小户" in page.locator("section.question h1").inner_text()
    page.click("#next")
    page.wait_for_selector("#submit")
    shot(page, "canvass-23-roster-review")
    page.click("#submit")
    page.wait_for_selector("a.household")
    wait_outbox(page, 0, 0)
    with roster_server.session() as s:
        response = s.exec(select(Response).where(Response.instrument_key == "roster")).one()
    answers = response.answers
    assert [m["relation"] for m in answers["members"]] == ["head", "child"]
    assert answers["street"] == "s21" and answers["where"].startswith("30.2741")
    assert answers["deviceid"] and answers["today"] and answers["start"]
    assert "age" not in answers["members"][0]  # the server computes calculations
