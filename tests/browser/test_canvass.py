"""The canvasser's tablet in Chromium at 800×1280: visit outcomes, the questionnaire with
skip logic, working offline (drafts and outbox survive a reload), sync when the network
returns, and replaying the outbox adding nothing. Also: the browser's skip-logic
interpreter agrees with the server's on the same cases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from survey_app.models import Response, Visit

from .conftest import shot, sign_in

STATIC = Path(__file__).resolve().parents[2] / "survey_app" / "static" / "canvass"


def wait_ready(page):
    page.wait_for_selector("html[data-ready='1']")


def outbox(page) -> dict:
    box = page.locator("#outbox-count")
    return {k: int(box.get_attribute(f"data-{k}")) for k in ("responses", "visits", "failed")}


def wait_outbox(page, responses: int, visits: int = 0):
    page.wait_for_function(
        "([r, v]) => { const b = document.getElementById('outbox-count');"
        " return b.dataset.responses == r && b.dataset.visits == v; }",
        arg=[responses, visits],
    )


def current_item(page) -> str:
    return page.locator("section.question").get_attribute("data-item")


def click_choice(page, code: str):
    page.click(f"section.question button.choice[data-code='{code}']")


def next_question(page):
    before = page.locator("section.question").get_attribute("data-item")
    page.click("#next")
    page.wait_for_function(
        "b => !document.querySelector('section.question') ||"
        " document.querySelector('section.question').dataset.item !== b",
        arg=before,
    )


def answer_until(page, stop: str | None = None, text: str = "小区路灯不亮"):
    """Answer every question (first choice, 满意 where asked) until ``stop`` or the review."""
    while page.locator("section.question").count():
        item = current_item(page)
        if item == stop:
            return
        kind = page.locator("section.question").get_attribute("data-type")
        if kind in ("single", "yesno", "multiple"):
            if page.locator("button.choice[aria-checked='true']").count() == 0:
                page.locator("section.question button.choice").first.click()
        elif kind == "text":
            page.fill("#answer", text)
        elif kind == "number":
            page.fill("#answer", "3")
        next_question(page)


def db_counts(live_server) -> tuple[int, int]:
    with live_server.session() as s:
        return (
            s.exec(select(func.count()).select_from(Response)).one(),
            s.exec(select(func.count()).select_from(Visit)).one(),
        )


def test_canvasser_offline_day(page, context, live_server):
    sign_in(page, live_server.url, "canvasser")
    assert "/canvass/" in page.url
    wait_ready(page)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    shot(page, "canvass-01-households")
    responses0, visits0 = db_counts(live_server)  # the demo city comes with some fieldwork done
    todo = page.locator("a.household.state-todo")
    codes = [todo.nth(i).get_attribute("data-code") for i in range(4)]

    def open_household(code):
        page.click(f"a.household[data-code='{code}']")

    # 不在家 at the first household: recorded, synced, shown as visited once.
    first = codes[0]
    open_household(first)
    page.wait_for_selector("button[data-outcome='not_home']")
    shot(page, "canvass-02-household-outcomes")
    page.click("button[data-outcome='not_home']")
    wait_outbox(page, 0, 0)
    page.wait_for_selector(f"a.household.state-visited[data-code='{first}']")
    shot(page, "canvass-03-not-home-recorded")

    # A questionnaire where skip logic hides and shows questions.
    open_household(codes[1])
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    assert current_item(page) == "opening"
    next_question(page)
    assert current_item(page) == "screen_resident"
    click_choice(page, "no")
    next_question(page)
    assert current_item(page) == "not_eligible"  # screen_age hidden, the end note shown
    assert "1" in page.locator(".step").inner_text()
    shot(page, "canvass-04-skip-not-eligible")
    page.click("#prev")
    click_choice(page, "yes")
    next_question(page)
    assert current_item(page) == "screen_age"  # shown again
    shot(page, "canvass-05-skip-shows-age")
    answer_until(page, stop="sat_overall")
    page.click("#next")  # required: refused without an answer
    assert page.locator("#problem").inner_text()
    shot(page, "canvass-06-required")
    answer_until(page)
    page.wait_for_selector("ol.review")
    shot(page, "canvass-07-review")
    page.click("#submit")
    wait_outbox(page, 0, 0)
    page.wait_for_selector(f"a.household.state-done[data-code='{codes[1]}']")
    shot(page, "canvass-08-submitted")
    assert db_counts(live_server) == (responses0 + 1, visits0 + 2)

    # Offline: a second interview goes to the outbox; a third stays a draft.
    context.set_offline(True)
    page.wait_for_selector("#net.off")
    open_household(codes[2])
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    answer_until(page)
    page.click("#submit")
    wait_outbox(page, 1, 0)
    open_household(codes[3])
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    answer_until(page, stop="aware_campaign")
    click_choice(page, "no")
    shot(page, "canvass-09-offline-draft")
    saved = page.evaluate(
        """() => new Promise(ok => { const r = indexedDB.open('canvass-' +
        JSON.parse(document.getElementById('canvass-config').textContent).user);
        r.onsuccess = () => { const t = r.result.transaction('outbox');
          const q = t.objectStore('outbox').getAll(); q.onsuccess = () => ok(q.result); }; })"""
    )
    assert [o["kind"] for o in saved] == ["response"]

    # Reload while offline: the shell comes from the service worker, the draft and the
    # outbox from IndexedDB.
    page.reload()
    wait_ready(page)
    assert outbox(page) == {"responses": 1, "visits": 0, "failed": 0}
    assert current_item(page) == "aware_campaign"
    assert page.locator("button.choice[data-code='no'][aria-checked='true']").count() == 1
    page.goto(live_server.url + "/canvass/#/")
    wait_ready(page)
    assert page.locator("a.banner").count() == 1
    shot(page, "canvass-10-offline-reload")
    assert db_counts(live_server)[0] == responses0 + 1

    # Back online: the outbox empties by itself; the server holds exactly two responses.
    context.set_offline(False)
    wait_outbox(page, 0, 0)
    page.wait_for_selector("#net.on")
    shot(page, "canvass-11-synced")
    assert db_counts(live_server) == (responses0 + 2, visits0 + 3)

    # Replaying the whole outbox adds nothing: every item comes back 200.
    replay = page.evaluate(
        """async (payloads) => {
          const r = await fetch('/api/sync', {method: 'POST', headers: {
            'Content-Type': 'application/json',
            'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({visits: [], responses: payloads})});
          return [r.status, await r.json()]; }""",
        [o["payload"] for o in saved],
    )
    assert replay[0] == 200
    assert [x["status"] for x in replay[1]["responses"]] == [200]
    assert db_counts(live_server) == (responses0 + 2, visits0 + 3)
