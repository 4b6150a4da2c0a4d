"""The canvasser's tablet in Chromium at 800×1280: visit outcomes, the questionnaire with
skip logic, working offline (drafts and outbox survive a reload), sync when the network
returns, and replaying the outbox adding nothing. Also: the browser's skip-logic
interpreter agrees with the server's on the same cases."""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path

import pytest
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


ADVANCED = (
    "b => !document.querySelector('section.question') ||"
    " document.querySelector('section.question').dataset.item !== b"
)


def next_question(page):
    before = page.locator("section.question").get_attribute("data-item")
    page.click("#next")
    page.wait_for_function(ADVANCED, arg=before)


def choose(page, code: str):
    """Tap a single-choice answer and wait for the app to move on by itself."""
    before = current_item(page)
    click_choice(page, code)
    page.wait_for_function(ADVANCED, arg=before)


def answer_screen(page, text: str = "小区路灯不亮") -> None:
    """Answer the screen on show (first choice, 满意 where asked) and move on: a single
    choice or a grid's last row moves on by itself; other screens take 下一题."""
    item = current_item(page)
    kind = page.locator("section.question").get_attribute("data-type")
    checked = page.locator("section.question button.choice[aria-checked='true']").count()
    if kind in ("single", "yesno") and not checked:
        choose(
            page, page.locator("section.question button.choice").first.get_attribute("data-code")
        )
        return
    if kind == "grid":
        rows = page.locator("section.question tr[data-row]:not(.answered)")
        names = [rows.nth(i).get_attribute("data-row") for i in range(rows.count())]
        for k, name in enumerate(names):
            page.locator(f"tr[data-row='{name}'] button.choice").first.click()
            if k < len(names) - 1:
                page.wait_for_selector(f"tr[data-row='{name}'].answered")
        if names:
            page.wait_for_function(ADVANCED, arg=item)
            return
    if kind == "multiple" and not checked:
        page.locator("section.question button.choice").first.click()
    elif kind == "text":
        page.fill("#answer", text)
    elif kind == "number":
        page.fill("#answer", "3")
    next_question(page)


def answer_until(page, stop: str | None = None, text: str = "小区路灯不亮"):
    """Answer every screen until ``stop`` or the review."""
    while page.locator("section.question").count():
        if current_item(page) == stop:
            return
        answer_screen(page, text)


def db_counts(live_server) -> tuple[int, int]:
    with live_server.session() as s:
        return (
            s.exec(select(func.count()).select_from(Response)).one(),
            s.exec(select(func.count()).select_from(Visit)).one(),
        )


def wait_db(live_server, expected: tuple[int, int], timeout: float = 10.0):
    """Wait until the server holds ``expected`` (responses, visits): sync is asynchronous."""
    deadline = time.monotonic() + timeout
    while db_counts(live_server) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert db_counts(live_server) == expected


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
    page.dblclick("button[data-outcome='not_home']")  # a double tap records one visit
    page.wait_for_selector(f"a.household.state-visited[data-code='{first}']")
    wait_db(live_server, (responses0, visits0 + 1))
    wait_outbox(page, 0, 0)
    shot(page, "canvass-03-not-home-recorded")

    # A questionnaire where skip logic hides and shows questions.
    open_household(codes[1])
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    assert current_item(page) == "opening"
    next_question(page)
    assert current_item(page) == "screen_resident"
    choose(page, "no")  # a single choice moves on by itself
    assert current_item(page) == "not_eligible"  # screen_age hidden, the end note shown
    assert "说明" in page.locator(".step").inner_text()  # a note: no question number
    shot(page, "canvass-04-skip-not-eligible")
    page.click("#prev")
    page.wait_for_selector("section.question[data-item='screen_resident']")
    choose(page, "yes")
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
    page.wait_for_selector(f"a.household.state-done[data-code='{codes[1]}']")
    wait_db(live_server, (responses0 + 1, visits0 + 2))
    wait_outbox(page, 0, 0)
    shot(page, "canvass-08-submitted")

    # Offline: a second interview goes to the outbox; a third stays a draft.
    context.set_offline(True)
    live_server.api_down = True
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
    page.wait_for_selector("button.choice[data-code='no'][aria-checked='true']")
    shot(page, "canvass-09-offline-draft")
    page.wait_for_selector("section.question[data-item='aware_values']")  # moved on
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
    assert current_item(page) == "aware_values"
    page.click("#prev")
    page.wait_for_selector("section.question[data-item='aware_campaign']")
    assert page.locator("button.choice[data-code='no'][aria-checked='true']").count() == 1
    page.goto(live_server.url + "/canvass/#/")
    wait_ready(page)
    assert page.locator("a.banner").count() == 1
    shot(page, "canvass-10-offline-reload")
    assert db_counts(live_server)[0] == responses0 + 1

    # Back online: the outbox empties by itself; the server holds exactly two responses.
    live_server.api_down = False
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


EXPRESSIONS = [
    "q = 'yes'",
    "q != 'yes'",
    "q = 1",
    "q = '1'",
    "q = n",
    "n >= 16",
    "n < 16",
    "n <= 2.5",
    "n > m",
    "not (n >= 16)",
    "selected(m3, 'a')",
    "selected(q, 'yes')",
    "count_selected(m3) <= 2",
    "count_selected(q) = 1",
    "answered(q)",
    "answered(m3) and not answered(n)",
    "q = 'yes' or n = 3 or selected(m3, 'b')",
    "q = '' and n != ''",
    "t = 'x' and (n > 1 or m < 1)",
    "n = m",
]
VALUE_SETS = [
    {},
    {"q": "yes", "n": 16, "m": "16", "m3": ["a", "b"], "t": "x"},
    {"q": "no", "n": "15", "m": 2.5, "m3": [], "t": ""},
    {"q": "1", "n": "abc", "m": 1, "m3": ["b"]},
    {"q": "", "n": 3, "m": "3.0", "m3": ["a", "b", "c"], "t": "x"},
    {"q": "yes", "n": -1, "m": "-1", "t": "y"},
]


def test_browser_skip_logic_agrees_with_the_server(page, live_server):
    """expr.js and instruments/expr.py + answers.py give the same results, case by case."""
    import instruments
    from instruments.answers import visible_values

    page.goto(live_server.url + "/healthz")
    page.add_script_tag(url=live_server.url + "/static/canvass/expr.js")  # CSP: own files only
    cases = [
        (instruments.parse(src), values)
        for src, values in itertools.product(EXPRESSIONS, VALUE_SETS)
    ]
    expected = [instruments.evaluate(ast, values) for ast, values in cases]
    got = page.evaluate(
        "cases => cases.map(([ast, v]) => CanvassExpr.evaluate(ast, v))",
        [[instruments.expr.to_json(ast), values] for ast, values in cases],
    )
    assert got == expected

    # Relevance and constraints of the household form over random answer sets.
    with live_server.app.app_context():
        from survey_app.instrument_registry import get_instrument

        form = get_instrument("household")
    client_form = json.loads(json.dumps(form.to_client_dict()))
    rng = random.Random(7)
    answer_sets = []
    for _ in range(60):
        answers = {}
        for item in form.items:
            if item.type == "note" or rng.random() < 0.2:
                continue
            codes = form.choice_codes(item)
            if item.type == "multiple":
                answers[item.name] = rng.sample(codes, rng.randint(0, 5))
            elif item.type == "yesno":  # mostly yes, so later questions are reached
                answers[item.name] = rng.choice(["yes", "yes", "yes", "no", "bogus"])
            elif codes:
                answers[item.name] = rng.choice([*codes, "bogus"])
            else:
                answers[item.name] = rng.choice(["", "some text"])
        answer_sets.append(answers)
    expected = [
        [
            visible_values(form, a)[0],
            [e.item for e in instruments.validate_answers(form, a) if e.code == "constraint"],
        ]
        for a in answer_sets
    ]
    got = page.evaluate(
        """([form, sets]) => sets.map(a => [CanvassExpr.visible(form, a).relevant,
            form.items.filter(it => !CanvassExpr.constraintOk(form, it, a)).map(it => it.name)])""",
        [client_form, answer_sets],
    )
    assert got == expected
    assert any(broken for _, broken in expected)  # the cases do exercise constraints


def test_english_screens_and_ending_an_interview_early(page, live_server):
    """Strings follow the language switch; 中止访问 records the visit instead of a response."""
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 30.274151, "longitude": 120.155151})
    sign_in(page, live_server.url, "canvasser2")
    page.goto(live_server.url + "/lang/en")
    page.goto(live_server.url + "/canvass/")
    wait_ready(page)
    assert page.locator("#sync-now").inner_text() == "Sync now"
    responses0, visits0 = db_counts(live_server)
    code = page.locator("a.household.state-todo").first.get_attribute("data-code")
    page.click(f"a.household[data-code='{code}']")
    assert page.locator("button[data-outcome='not_home']").inner_text() == "Not at home"
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    next_question(page)
    choose(page, "no")  # not resident for six months: not eligible
    assert current_item(page) == "not_eligible"
    page.click("details.abort summary")  # 中止访问 is on every question...
    shot(page, "canvass-12-english-end-early")
    page.click("#next")  # ...and the review says this was no interview
    page.wait_for_selector("#ended")
    assert page.locator("#submit").count() == 0
    shot(page, "canvass-13-english-not-interviewed")
    page.click("button[data-now][data-abort='ineligible']")
    page.wait_for_selector(f"a.household.state-closed[data-code='{code}']")  # 不符合条件: closed
    wait_db(live_server, (responses0, visits0 + 1))
    wait_outbox(page, 0, 0)
    assert "Not eligible" in page.locator(f"a.household[data-code='{code}']").inner_text()
    assert page.locator("a.banner").count() == 0  # the draft is gone
    shot(page, "canvass-14-english-list")
    with live_server.session() as s:
        visit = s.exec(select(Visit).order_by(Visit.id.desc())).first()
    assert visit.outcome == "ineligible"  # positions are kept to about 10 m (4 decimals)
    assert (visit.latitude, visit.longitude) == pytest.approx((30.27415, 120.15515), abs=1e-4)


def test_refused_items_stay_in_the_outbox_until_deleted(page, live_server):
    """A 4xx from the server is not retried and not dropped: shown, then deleted by hand."""
    sign_in(page, live_server.url, "canvasser")
    wait_ready(page)
    aid = int(page.locator("a.household").first.get_attribute("href").rsplit("/", 1)[1])
    page.evaluate(
        """aid => new Promise(ok => { const r = indexedDB.open('canvass-' +
        JSON.parse(document.getElementById('canvass-config').textContent).user);
        r.onsuccess = () => { const t = r.result.transaction('outbox', 'readwrite');
          t.objectStore('outbox').put({uuid: crypto.randomUUID(), kind: 'visit', assignment_id: aid,
            household: 'test', state: 'pending', tries: 0, next: 0, error: null, created: Date.now(),
            payload: {uuid: crypto.randomUUID(), assignment_id: aid, outcome: 'gone fishing',
                      visited_at: new Date().toISOString()}});
          t.oncomplete = ok; }; })""",
        aid,
    )
    page.reload()
    wait_ready(page)
    page.wait_for_function("document.getElementById('outbox-count').dataset.failed === '1'")
    page.click("#outbox-count a")
    page.wait_for_selector("li.outbox-item.failed")
    assert "gone fishing" in page.locator("li.outbox-item.failed").inner_text()
    shot(page, "canvass-15-outbox-refused")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-discard]")
    page.wait_for_function("document.getElementById('outbox-count').dataset.failed === '0'")
