"""An analyst takes a wave from plan to close at 1280×800 — creates it, draws a sample,
assigns, reassigns a building, watches progress, closes — and a canvasser's tablet shows
the households the new wave gave them. Screenshots: test-artifacts/screenshots/waves-*."""

from __future__ import annotations

from sqlmodel import select

from survey_app.models import Assignment, Building, Community, Household, User, Wave
from survey_app.setup import users

from .conftest import TABLET, shot, sign_in

LAPTOP = {"width": 1280, "height": 800}


def test_analyst_runs_a_wave_and_the_tablet_shows_it(browser, live_server):
    with live_server.session() as s:
        community = s.exec(select(Community).where(Community.code == "C0101")).one()
        users.create_user(session=s, username="helper", password="demo12345", role="canvasser",
                          display_name="新调查员", community_code="C0101",
                          enforce_policy=False)  # the demo accounts' password  # fmt: skip
    base = live_server.url
    analyst = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    page = analyst.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, "analyst")
    page.goto(f"{base}/fieldwork/waves")
    page.click("#new-wave")
    page.fill("input[name=name]", "桃园社区专项测评")
    page.check(f"input[name=communities][value='{community.code}']")
    page.fill("input[name=starts_on]", "2026-01-01")
    page.fill("input[name=ends_on]", "2030-12-31")
    shot(page, "waves-01-new-wave")
    page.click("#wave-form button[type=submit]")
    page.wait_for_selector("#sample-form")
    page.select_option("#design", "srs")
    page.fill("#per-community", "16")
    page.fill("#seed", "20261130")
    page.click("#draw")
    page.wait_for_selector("#do-assign")
    assert "已抽取 16 户" in page.content()
    page.click("#do-assign")
    page.wait_for_selector("#assignment-table")
    shot(page, "waves-02-sampled-and-assigned")

    with live_server.session() as s:
        wave = s.exec(select(Wave).where(Wave.name == "桃园社区专项测评")).one()
        codes = s.exec(
            select(Building.code)
            .join(Household, Household.building_id == Building.id)
            .join(Assignment, Assignment.household_id == Household.id)
            .where(Assignment.wave_id == wave.id, Assignment.released)
        ).all()
    building = sorted(set(codes))[0]
    page.fill("input[name=community]", community.code)
    page.fill("#reassign-buildings", building)
    page.select_option("#reassign-to", "helper")
    page.click("#do-reassign")
    page.wait_for_selector(".flash")
    assert "已改派" in page.content()
    assert "新调查员" in page.locator("#assignment-table").inner_text()
    shot(page, "waves-03-building-reassigned")
    page.click("#do-open")
    page.wait_for_selector("#progress-link")
    page.click("#progress-link")
    page.wait_for_selector("#by-community")
    assert "RR1" in page.content() and "桃园社区" in page.locator("#by-community").inner_text()
    shot(page, "waves-04-progress")

    # The new canvasser's tablet shows the reassigned building's households of this wave.
    tablet = browser.new_context(viewport=TABLET, locale="zh-CN", has_touch=True)
    tpage = tablet.new_page()
    tpage.set_default_timeout(15_000)
    sign_in(tpage, base, "helper")
    tpage.goto(f"{base}/canvass/")
    tpage.wait_for_selector("a.household")
    assert "桃园社区专项测评" in tpage.content()
    with live_server.session() as s:
        helper = s.exec(select(User).where(User.username == "helper")).one()
        mine = s.exec(
            select(Household.code)
            .join(Assignment, Assignment.household_id == Household.id)
            .where(Assignment.wave_id == wave.id, Assignment.canvasser_id == helper.id)
        ).all()
    assert mine
    shown = tpage.locator("a.household").evaluate_all("els => els.map(e => e.dataset.code)")
    assert sorted(shown) == sorted(mine)
    shot(tpage, "waves-05-tablet-new-assignments")
    tablet.close()

    # The demo's own wave, in the field for a week: progress by day and per canvasser.
    with live_server.session() as s:
        demo = s.exec(select(Wave).where(Wave.status == "open", Wave.id != wave.id)).first()
    page.goto(f"{base}/fieldwork/waves/{demo.id}/progress")
    page.wait_for_selector("#progress-chart svg")
    shot(page, "waves-07-demo-progress-by-day")

    page.goto(f"{base}/fieldwork/waves/{wave.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#do-close")
    page.wait_for_selector("#wave-status")
    assert "已结束" in page.locator("#wave-status").inner_text()
    shot(page, "waves-06-closed")
    analyst.close()
