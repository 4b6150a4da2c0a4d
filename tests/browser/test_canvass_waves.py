"""Two waves open at once on different questionnaires (issue 9.1), on a tablet at 800×1280:
the canvasser assigned in both sees the households of both, each labelled by its wave
and questionnaire, with a filter by wave; one interview in each wave, done offline from
the cached questionnaires, reaches the server under its own wave and questionnaire
version; a wave closed on the server leaves the tablet at the next sync while an unsent
interview for it stays in the outbox with the server's reason.

Everything is set up through the product's own commands: ``geography import``,
``households import``, ``create-user``, ``questionnaires publish`` and ``waves …``.
Screenshots: test-artifacts/screenshots/canvass-waves-*."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from survey_app import create_app
from survey_app.config import Settings
from survey_app.models import Assignment, Household, Response, Visit

from ..app.wave_factories import PASSWORD, cli, make_city
from .conftest import LiveServer, shot, sign_in
from .test_canvass import answer_until, current_item, wait_outbox, wait_ready

STREET_FORM = """\
key: street_env
version: 3
title: {zh: 街道环境专项, en: Street environment}
choices:
  yn:
    - {code: yes, label: {zh: 是, en: Yes}}
    - {code: no, label: {zh: 否, en: No}}
  sat:
    - {code: satisfied, label: {zh: 满意, en: Satisfied}}
    - {code: fairly, label: {zh: 比较满意, en: Fairly satisfied}}
    - {code: no, label: {zh: 不满意, en: Not satisfied}}
items:
  - name: consent
    type: single
    choices: yn
    required: true
    label: {zh: 同意接受访问吗？, en: "Do you agree?"}
  - name: street_sat
    type: single
    choices: sat
    required: true
    relevant: consent = 'yes'
    label: {zh: 您对本街道的环境满意吗？, en: "Are you satisfied with the street?"}
indicators:
  satisfaction:
    label: {zh: 街道环境满意率, en: Street satisfaction}
    item: street_sat
    positive: [satisfied, fairly]
"""


@pytest.fixture(scope="module")
def two_waves(databases, tmp_path_factory):
    """A city from files; wave A (household form) and wave B (street_env v3) both open
    over community C01, whose only canvasser ``can1`` is assigned in both."""
    url, drop = databases.new()
    tmp = tmp_path_factory.mktemp("two-waves")
    settings = Settings(
        database_url=url,
        secret_key="browser-test-secret",
        instance_path=tmp_path_factory.mktemp("instance"),
        testing=True,
        csrf_enabled=True,
        log_level="WARNING",
    )
    app = create_app(settings)
    runner = app.test_cli_runner()
    with app.app_context(), Session(app.extensions["engine"], expire_on_commit=False) as s:
        make_city(s, runner, tmp, canvassers={"C01": ["can1"], "C02": ["can3"]})
    form = tmp / "street_env.yaml"
    form.write_text(STREET_FORM, encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "publish", str(form)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from survey_app.instrument_registry import get_instrument

        household = f"household:{get_instrument('household').version}"
    ids = {}
    for name, form_key, per, seed in (
        ("东片第四季度", household, 4, 7),
        ("东片环境专项", "street_env:3", 3, 11),
    ):
        wave_id = int(cli(runner, "create", "--name", name, "--questionnaire", form_key,
                          "--communities", "C01"))  # fmt: skip
        cli(runner, "sample", wave_id, "--design", "srs", "--per-community", per, "--seed", seed)
        cli(runner, "assign", wave_id)
        cli(runner, "open", wave_id)
        ids[name] = wave_id
    server = LiveServer(app)
    server.runner, server.waves, server.household_version = runner, ids, household.split(":")[1]
    yield server
    server.stop()
    drop()


def listed(page) -> list[tuple[str, str, str]]:
    """(wave id, household code, label) of every household on the work list."""
    return page.locator("a.household").evaluate_all(
        "els => els.map(e => [e.dataset.wave, e.dataset.code,"
        " (e.querySelector('.wave') || {}).textContent || ''])"
    )


def assigned(server, wave_id: int) -> set[str]:
    with server.session() as s:
        rows = s.exec(
            select(Assignment).where(Assignment.wave_id == wave_id, Assignment.released)
        ).all()
        return {s.get(Household, a.household_id).code for a in rows}


def interview(page, wave_id: int, code: str) -> None:
    page.click(f"a.household[data-wave='{wave_id}'][data-code='{code}']")
    page.click("button[data-start]")
    page.wait_for_selector("section.question")


def stored(server) -> list[Response]:
    with server.session() as s:
        return list(s.exec(select(Response).order_by(Response.id)).all())


def eventually(fetch, check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    value = fetch()
    while not check(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    assert check(value), value
    return value


def test_two_open_waves_on_one_tablet(page, context, two_waves):
    server = two_waves
    a, b = server.waves["东片第四季度"], server.waves["东片环境专项"]
    sign_in(page, server.url, "can1", PASSWORD)
    wait_ready(page)
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null")

    # Both waves' households are listed, each labelled by its wave and questionnaire.
    rows = listed(page)
    by_wave = {w: {code for wid, code, _ in rows if wid == str(w)} for w in (a, b)}
    assert by_wave[a] == assigned(server, a) and len(by_wave[a]) == 4
    assert by_wave[b] == assigned(server, b) and len(by_wave[b]) == 3
    labels = {wid: label for wid, _, label in rows}
    assert labels[str(a)].startswith("东片第四季度 · ") and "第 1 版" in labels[str(a)]
    assert labels[str(b)] == "东片环境专项 · 街道环境专项 第 3 版"
    header = page.inner_text("#wave-label")
    assert "东片第四季度" in header and "东片环境专项" in header
    shot(page, "canvass-waves-01-both-listed")

    # The filter by wave: one wave's households, its counts and buildings only.
    page.select_option("#filter-wave", str(b))
    page.wait_for_function(
        "w => [...document.querySelectorAll('a.household')].every(e => e.dataset.wave == w)",
        arg=str(b),
    )
    assert {code for _, code, _ in listed(page)} == by_wave[b]
    assert page.inner_text("#count-todo") == "3" and page.inner_text("#count-done") == "0"
    shot(page, "canvass-waves-02-filtered")
    page.select_option("#filter-wave", "")
    page.wait_for_function("document.querySelectorAll('a.household').length === 7")

    # Offline from here, after a reload: the app from the service worker, both
    # questionnaires from this tablet's own copies.
    context.set_offline(True)
    server.api_down = True
    page.reload()
    wait_ready(page)
    page.wait_for_selector("#net.off")
    assert len(listed(page)) == 7
    code_a = sorted(by_wave[a])[0]
    interview(page, a, code_a)
    assert current_item(page) == "opening"  # the household form
    answer_until(page)
    page.click("#submit")
    wait_outbox(page, 1, 0)
    code_b, later_b = sorted(by_wave[b])[:2]
    interview(page, b, code_b)
    assert current_item(page) == "consent"  # street_env
    answer_until(page)
    page.click("#submit")
    wait_outbox(page, 2, 0)
    saved = page.evaluate(
        """() => new Promise(ok => { const r = indexedDB.open('canvass-' +
        JSON.parse(document.getElementById('canvass-config').textContent).user);
        r.onsuccess = () => { const t = r.result.transaction('outbox');
          const q = t.objectStore('outbox').getAll(); q.onsuccess = () => ok(q.result); }; })"""
    )
    kept = {o["wave_id"]: o for o in saved}
    assert set(kept) == {a, b}  # outbox entries keep their wave…
    assert {o["payload"]["wave_id"] for o in saved} == {a, b}  # …and send it
    assert kept[b]["payload"]["instrument_key"] == "street_env"
    assert kept[b]["payload"]["instrument_version"] == "3"

    # Online again: each interview stored under its own wave and questionnaire version.
    server.api_down = False
    context.set_offline(False)  # the tablet syncs by itself when the network returns
    wait_outbox(page, 0, 0)
    responses = eventually(lambda: stored(server), lambda r: len(r) == 2)
    got = {r.wave_id: (r.instrument_key, r.instrument_version) for r in responses}
    assert got[b] == ("street_env", "3")
    assert got[a] == ("household", server.household_version)
    with server.session() as s:
        for r in responses:
            assert s.get(Assignment, r.assignment_id).wave_id == r.wave_id
    page.wait_for_selector(f"a.household.state-done[data-wave='{b}'][data-code='{code_b}']")
    page.wait_for_selector(f"a.household.state-done[data-wave='{a}'][data-code='{code_a}']")

    # A second street_env interview waits offline; meanwhile wave B is closed.
    context.set_offline(True)
    server.api_down = True
    page.wait_for_selector("#net.off")
    interview(page, b, later_b)
    answer_until(page)
    page.click("#submit")
    wait_outbox(page, 1, 0)
    cli(server.runner, "close", b)
    server.api_down = False
    context.set_offline(False)
    page.wait_for_selector("#outbox-count[data-failed='1']")
    # Wave B has left the tablet; wave A is still there, now without a wave filter.
    page.wait_for_function(f"!document.querySelector(\"a.household[data-wave='{b}']\")")
    assert {wid for wid, _, _ in listed(page)} == {str(a)}
    assert page.locator("#filter-wave").count() == 0
    assert page.locator("a.household .wave").count() == 0  # one wave: no label on each
    page.click("a.outbox-link")
    item = page.locator(f"li.outbox-item.failed[data-wave='{b}']")
    text = item.inner_text()
    assert "东片环境专项" in text  # the entry keeps its wave's name
    assert "该测评轮次已结束" in text  # the server's reason, in words
    assert item.locator("button[data-edit]").count() == 0  # nothing to correct
    assert item.locator("button[data-discard]").count() == 1
    shot(page, "canvass-waves-03-closed-wave-in-outbox")
    with server.session() as s:
        assert len(s.exec(select(Response)).all()) == 2  # the late one was refused
        late = item.get_attribute("data-uuid")
        assert s.exec(select(Visit).where(Visit.uuid == late)).first() is None
