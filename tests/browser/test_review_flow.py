"""Supervision in Chromium, at a portrait tablet (800×1280) and a landscape laptop
(1280×800): a supervisor (督导) rejects an interview with a comment; the canvasser's
tablet shows it after a sync, the canvasser corrects it offline and resubmits when the
network returns; the supervisor approves; the secretary page counts it."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from survey_app.models import Community, Response, ResponseRevision, User

from .conftest import shot, sign_in
from .test_canvass import (
    answer_until,
    click_choice,
    current_item,
    next_question,
    wait_outbox,
    wait_ready,
)

VIEWPORTS = {"tablet": {"width": 800, "height": 1280}, "laptop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def supervisor(live_server):
    """The demo's 督导 of 东湖街道 (a street scope: 桃园、柳岸、杏林社区)."""
    with live_server.session() as s:
        user = s.exec(select(User).where(User.username == "supervisor")).one()
        assert user.role == "supervisor"
    return "supervisor"


def counted(page) -> dict:
    note = page.locator("#excluded-note")
    return {k: int(note.get_attribute(f"data-{k}")) for k in ("counted", "rejected", "pending")}


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_reject_correct_offline_resubmit_approve_counted(browser, live_server, supervisor, size):
    viewport = VIEWPORTS[size]
    contexts = {
        who: browser.new_context(viewport=viewport, locale="zh-CN", has_touch=size == "tablet")
        for who in ("canvasser", "supervisor", "secretary")
    }
    try:
        tablet, desk, sec = (
            contexts[k].new_page() for k in ("canvasser", "supervisor", "secretary")
        )
        for p in (tablet, desk, sec):
            p.set_default_timeout(15_000)
        with live_server.session() as s:
            community = s.exec(select(Community).where(Community.code == "C0101")).one()
        sign_in(sec, live_server.url, "secretary")
        sec.goto(f"{live_server.url}/results/community/{community.id}")
        before = counted(sec)

        # The canvasser completes an interview (all 满意) and it syncs.
        sign_in(tablet, live_server.url, "canvasser")
        wait_ready(tablet)
        code = tablet.locator("a.household.state-todo").first.get_attribute("data-code")
        tablet.click(f"a.household[data-code='{code}']")
        tablet.click("button[data-start]")
        tablet.wait_for_selector("section.question")
        answer_until(tablet)
        tablet.click("#submit")
        tablet.wait_for_selector(f"a.household.state-done[data-code='{code}']")
        wait_outbox(tablet, 0, 0)
        with live_server.session() as s:
            response = s.exec(select(Response).order_by(Response.id.desc())).first()
            assert response.review_state == "pending"
        sec.reload()
        assert counted(sec)["counted"] == before["counted"] + 1

        # The supervisor finds it in the queue and rejects it with comments.
        sign_in(desk, live_server.url, supervisor)
        assert "/review/" in desk.url
        desk.goto(f"{live_server.url}/review/?state=pending")
        desk.wait_for_selector(f"li.rv-item[data-id='{response.id}']")
        shot(desk, f"review-01-queue-{size}")
        desk.click(f"li.rv-item[data-id='{response.id}'] a")
        desk.wait_for_selector("#answers")
        assert desk.locator("li[data-item='not_eligible']").count() == 0  # skip logic applied
        desk.click("li[data-item='sat_overall'] summary")
        desk.fill("input[name='c_sat_overall']", "请再确认总体满意度,与第 12 题矛盾")
        desk.fill("textarea[name='comment']", "请回访核实后修改")
        shot(desk, f"review-02-interview-{size}")
        desk.click("button[name='action'][value='reject']")
        desk.wait_for_selector(".flash.success")
        assert "已退回" in desk.locator(".flash.success").inner_text()
        shot(desk, f"review-03-rejected-{size}")
        sec.reload()
        assert counted(sec)["counted"] == before["counted"]
        assert counted(sec)["rejected"] == before["rejected"] + 1

        # The tablet, opened again, shows the rejected interview with the comments.
        tablet.reload()
        wait_ready(tablet)
        tablet.wait_for_selector(f"#returned a[data-returned='{response.uuid}']")
        assert "请回访核实后修改" in tablet.locator("#returned").inner_text()
        shot(tablet, f"review-04-tablet-returned-{size}")

        # Offline: the canvasser corrects the answer and resubmits into the outbox.
        contexts["canvasser"].set_offline(True)
        live_server.api_down = True
        tablet.wait_for_selector("#net.off")
        tablet.click(f"#returned a[data-returned='{response.uuid}']")
        tablet.wait_for_selector("#returned-comment")
        assert "与第 12 题矛盾" in tablet.locator("#returned-items").inner_text()
        # 中止 on a correction drops the correction only; the interview stays returned.
        tablet.click("button[data-fix-edit]")
        tablet.wait_for_selector("section.question")
        tablet.once("dialog", lambda dialog: dialog.accept())
        tablet.click("details.abort summary")
        tablet.click("details.abort button[data-abort='refused']")
        tablet.wait_for_selector("button[data-fix-edit]")
        wait_outbox(tablet, 0, 0)
        tablet.fill("#fix-note", "回访后受访者改为比较满意")
        tablet.click("button[data-fix-edit]")
        tablet.wait_for_selector("section.question")
        while current_item(tablet) != "sat_overall":
            next_question(tablet)
        assert "与第 12 题矛盾" in tablet.locator("[data-comment-for='sat_overall']").inner_text()
        click_choice(tablet, "fairly_satisfied")
        tablet.wait_for_selector("button.choice[data-code='fairly_satisfied'][aria-checked='true']")
        shot(tablet, f"review-05-tablet-correcting-offline-{size}")
        answer_until(tablet)
        tablet.click("#submit")
        wait_outbox(tablet, 1, 0)
        assert "修改已保存" in tablet.locator("#returned").inner_text()
        shot(tablet, f"review-06-tablet-outbox-offline-{size}")
        with live_server.session() as s:
            assert s.exec(select(ResponseRevision)).all() == [] or response.id not in {
                r.response_id for r in s.exec(select(ResponseRevision)).all()
            }

        # Back online: the revision is accepted; the list empties.
        live_server.api_down = False
        contexts["canvasser"].set_offline(False)  # the tablet syncs by itself
        wait_outbox(tablet, 0, 0)
        tablet.wait_for_function("!document.querySelector('#returned')")
        with live_server.session() as s:
            stored = s.get(Response, response.id)
            assert (stored.review_state, stored.revision) == ("pending", 2)
            assert stored.answers["sat_overall"] == "fairly_satisfied"
            assert s.exec(select(func_count(ResponseRevision.id)).where(
                ResponseRevision.response_id == response.id)).one() == 2  # fmt: skip
        shot(tablet, f"review-07-tablet-synced-{size}")

        # The supervisor sees the corrected answer and approves it.
        desk.goto(f"{live_server.url}/review/interviews/{response.id}")
        assert desk.locator("li.changed[data-item='sat_overall']").count() == 1
        assert "回访后受访者改为比较满意" in desk.locator("#revisions").inner_text()
        desk.click("button[name='action'][value='approve']")
        desk.wait_for_selector(".flash.success")
        assert re.search("督导已通过", desk.locator(".flash.success").inner_text())
        shot(desk, f"review-08-approved-{size}")

        # The secretary page counts it again (the corrected revision).
        sec.reload()
        assert counted(sec) == {**before, "counted": before["counted"] + 1}
        shot(sec, f"review-09-secretary-counts-{size}")
        with live_server.session() as s:
            assert s.exec(select(User).where(User.username == "supervisor")).one()
    finally:
        live_server.api_down = False
        for c in contexts.values():
            c.close()


def func_count(column):
    from sqlalchemy import func

    return func.count(column)
