"""Results on the wave's own design: the 64-household community of issue 9, and one srs
wave filled through the sync API whose figures agree on the secretary page, the
overview, the raw export and ``survey-estimate`` run on that export."""

from __future__ import annotations

import io
import json
import random
import re
from contextlib import redirect_stdout

import pandas as pd
import pytest
from sqlmodel import select

from analysis import cli as survey_estimate
from survey_app.fieldwork import plan
from survey_app.models import Assignment, Community, Role, User
from survey_app.results import pages

from .canvass_factories import complete_answers, response_payload, visit_payload
from .factories import make_user
from .wave_factories import PASSWORD, cli, make_city, questionnaire

ADMIN = User(username="t", display_name="t", password_hash="", role="admin")


def login(client, username):
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code in (
        302,
        303,
    )


def fill(client, session, wave_id, plan_by_assignment):
    """Send each household's outcome through the sync API as its canvasser."""
    users = {u.id: u.username for u in session.exec(select(User))}
    rows = session.exec(
        select(Assignment).where(Assignment.wave_id == wave_id, Assignment.released)
    ).all()
    by_user: dict = {}
    for a in rows:
        outcome = plan_by_assignment(a)
        if outcome is not None:
            by_user.setdefault(a.canvasser_id, []).append((a, outcome))
    for uid, items in by_user.items():
        login(client, users[uid])
        responses, visits = [], []
        for a, outcome in items:
            if outcome in ("satisfied", "dissatisfied"):
                answers = complete_answers(sat_overall=outcome)
                responses.append(response_payload(a.id, answers=answers))
            else:
                visits.append(visit_payload(a.id, outcome))
        body = client.post("/api/sync", json={"visits": visits, "responses": responses}).get_json()
        assert all(r["status"] == 201 for r in body["visits"] + body["responses"]), body


def community_rate(session, wave_id, code, key="satisfaction"):
    community = session.exec(select(Community).where(Community.code == code)).one()
    wave = plan.get_wave(session=session, wave_id=wave_id)
    report = pages.community_report(
        session=session, user=ADMIN, community_id=community.id, wave=wave
    )
    return next(r for r in report.rates if r.key == key)


@pytest.fixture
def city(session, runner, tmp_path):
    return make_city(
        session, runner, tmp_path, canvassers={"C01": ["can1", "can2"], "C02": ["can3"]}
    )


def census(runner, app):
    wave_id = int(cli(runner, "create", "--name", "全覆盖", "--questionnaire", questionnaire(app),
                      "--communities", "C01"))  # fmt: skip
    cli(runner, "sample", wave_id, "--design", "census", "--seed", 1)
    cli(runner, "assign", wave_id)
    cli(runner, "open", wave_id)
    return wave_id


def test_64_households_one_not_satisfied_is_certainly_not_met(client, session, runner, app, city):
    """Issue 9: 64 households in 4 buildings, 32 interviews, 31 satisfied."""
    wave_id = census(runner, app)
    rows = session.exec(
        select(Assignment).where(Assignment.wave_id == wave_id).order_by(Assignment.id)
    ).all()
    heard = {a.id for a in rows[::2]}  # 32 of 64, 8 in each building
    first_no = min(heard)
    fill(client, session, wave_id,
         lambda a: None if a.id not in heard else ("dissatisfied" if a.id == first_no else "satisfied"))  # fmt: skip
    r = community_rate(session, wave_id, "C01")
    assert r.n == 32 and r.estimate == pytest.approx(31 / 32)
    assert r.population == 64
    assert r.verdict == "not_met" and r.why == "exact_finite"
    assert r.rate_if_unheard_yes == pytest.approx(
        63 / 64
    ) and r.rate_if_unheard_no == pytest.approx(31 / 64)
    assert r.ci_high <= 63 / 64 + 1e-12
    assert r.response_rate == pytest.approx(32 / 64)
    login(client, "can1")
    community = session.exec(select(Community).where(Community.code == "C01")).one()
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    page = client.get(f"/results/community/{community.id}?wave={wave_id}").get_data(as_text=True)
    assert "这是确定的" in page and "98.4%" in page and "应答率 50.0%" in page
    assert "无法单独证明" not in page


def test_64_households_all_heard_all_yes_is_met(client, session, runner, app, city):
    wave_id = census(runner, app)
    fill(client, session, wave_id, lambda a: "satisfied")
    r = community_rate(session, wave_id, "C01")
    assert r.n == 64 and r.verdict == "met" and r.why == "exact_finite"
    assert r.never_reason is None and r.response_rate == 1.0
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    community = session.exec(select(Community).where(Community.code == "C01")).one()
    page = client.get(f"/results/community/{community.id}?wave={wave_id}").get_data(as_text=True)
    assert "无法单独证明" not in page and "已达到 99%" in page


def test_srs_wave_same_figures_on_pages_exports_and_survey_estimate(
    client, session, runner, app, city, tmp_path
):
    q = questionnaire(app)
    wave_id = int(
        cli(runner, "create", "--name", "简单随机", "--questionnaire", q, "--communities", "all")
    )
    cli(runner, "sample", wave_id, "--design", "srs", "--share", 0.5, "--seed", 11)
    cli(runner, "assign", wave_id)
    cli(runner, "open", wave_id)
    rng = random.Random(5)

    def outcome(a):
        x = rng.random()
        if x < 0.15:
            return "refused"
        if x < 0.2:
            return "vacant"
        return "dissatisfied" if rng.random() < 0.08 else "satisfied"

    fill(client, session, wave_id, outcome)
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    raw = client.get(f"/analysis/responses.csv?wave={wave_id}")
    assert raw.status_code == 200
    path = tmp_path / "raw.csv"
    path.write_bytes(raw.get_data())
    out = io.StringIO()
    with redirect_stdout(out):
        status = survey_estimate.main([str(path), "--weight", "weight", "--strata", "stratum", "--cluster", "psu",
                                       "--fpc", "fpc", "--population", "population", "--by", "community",
                                       "--indicator", "satisfaction", "--format", "json"])  # fmt: skip
    assert status == 0
    cli_rows = {r["domain"]: r for r in json.loads(out.getvalue())["results"]}
    frame = pd.read_csv(path, encoding="utf-8-sig")
    wave = plan.get_wave(session=session, wave_id=wave_id)
    overview = pages.overview(session=session, wave=wave, indicator="satisfaction")
    by_code = {c.id: c.code for c in session.exec(select(Community))}
    for code in ("C01", "C02"):
        page = community_rate(session, wave_id, code)
        ranked = next(o.rate for o in overview.rows if by_code[o.community_id] == code)
        ref = cli_rows[code]
        # What the households not heard from allow (from the export's own columns):
        # the pages intersect the interval with it whatever the weights (analysis does
        # so only for equal weights), and a verdict it settles is certain.
        mine = frame[frame["community"] == code]
        big_n, yes, n = int(mine["population"].iloc[0]), int(mine["satisfaction"].sum()), len(mine)
        low_bound, high_bound = yes / big_n, (yes + big_n - n) / big_n
        expected_low = max(ref["ci_low"], low_bound)
        expected_high = min(ref["ci_high"], high_bound)
        verdict = ref["verdict"]
        if high_bound < 0.99:
            verdict = "not_met"
        for r in (page, ranked):
            assert r.n == ref["n"]
            assert r.estimate == pytest.approx(ref["estimate"], abs=1e-12)
            assert r.se == pytest.approx(ref["se"], abs=1e-12)
            assert r.ci_low == pytest.approx(expected_low, abs=1e-12)
            assert r.ci_high == pytest.approx(expected_high, abs=1e-12)
            assert r.verdict == verdict
            assert r.rate_if_unheard_yes == pytest.approx(high_bound)
    # The analyst's workspace (no extra weighting) estimates on the same design.
    from survey_app.results import weighting

    with app.app_context():
        from survey_app.instrument_registry import get_instrument

        inst = get_instrument("household")
        ws = weighting.run_estimates(
            session=session,
            settings=weighting.Settings(
                wave, ("satisfaction",), "none", None, "korn-graubard", 0.95, 0.99
            ),
            instrument=inst,
        )
    ws_rows = {r.domain: r for r in ws.result.rows}
    for code in ("C01", "C02"):
        assert ws_rows[code].estimate == pytest.approx(cli_rows[code]["estimate"], abs=1e-12)
        assert ws_rows[code].se == pytest.approx(cli_rows[code]["se"], abs=1e-12)
        assert ws_rows[code].ci_low == pytest.approx(cli_rows[code]["ci_low"], abs=1e-12)
    city_rate = overview.city
    assert city_rate.estimate == pytest.approx(cli_rows[None]["estimate"], abs=1e-12)
    assert city_rate.se == pytest.approx(cli_rows[None]["se"], abs=1e-12)
    # The design columns: weights sum to the eligible households' estimate per community.
    text = path.read_text(encoding="utf-8-sig").splitlines()
    header = text[0].split(",")
    assert {"weight", "stratum", "psu", "fpc", "population"} <= set(header)


def test_closed_wave_figures_are_frozen_until_recomputed(client, session, runner, app, city):
    from survey_app.models import AuditLog, IndicatorTotal, Response

    wave_id = census(runner, app)
    fill(client, session, wave_id, lambda a: "satisfied" if a.id % 3 else "dissatisfied")
    before = community_rate(session, wave_id, "C01")
    cli(runner, "close", wave_id)
    # Something changes the stored data after closing (say a review rejects interviews):
    session.expire_all()
    session.exec(IndicatorTotal.__table__.delete().where(IndicatorTotal.wave_id == wave_id))
    for r in session.exec(select(Response).where(Response.wave_id == wave_id)).all()[:5]:
        r.review_state = "rejected"
        session.add(r)
    session.commit()
    frozen = community_rate(session, wave_id, "C01")
    assert (frozen.n, frozen.estimate, frozen.ci_low, frozen.ci_high, frozen.verdict) == (
        before.n, before.estimate, before.ci_low, before.ci_high, before.verdict)  # fmt: skip
    result = runner.invoke(args=["waves", "recompute", str(wave_id), "--reason", "审核后重算"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert community_rate(session, wave_id, "C01").estimate is None  # the sums are gone now
    entry = session.exec(select(AuditLog).where(AuditLog.action == "wave.recompute")).one()
    assert entry.detail["reason"] == "审核后重算"
    # A closed wave takes no more data.
    login(client, "can1")
    a = session.exec(select(Assignment).where(Assignment.wave_id == wave_id)).first()
    r = client.post("/api/visits", json=visit_payload(a.id))
    assert r.status_code in (409, 422)


def test_each_community_page_opens_on_the_open_wave_that_covers_it(
    client, session, runner, app, city
):
    first = census(runner, app)  # covers C01
    other = int(cli(runner, "create", "--name", "西片专项", "--questionnaire", questionnaire(app),
                    "--communities", "C02"))  # fmt: skip
    cli(runner, "sample", other, "--design", "census", "--seed", 2)
    cli(runner, "open", other)
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    ids = {c.code: c.id for c in session.exec(select(Community))}

    def head(code):
        page = client.get(f"/results/community/{ids[code]}").get_data(as_text=True)
        head = page.split('<header class="page-head">')[1]
        return head.split('<p class="muted">')[1].split("</p>")[0]  # street · wave · target

    assert "全覆盖" in head("C01") and "西片专项" not in head("C01")
    assert "西片专项" in head("C02")
    assert first != other


def test_with_no_open_wave_pages_open_on_the_latest_wave_in_time_not_the_highest_id(
    session, app, client, runner, tmp_path
):
    """A city entering an older wave after a newer one: with none open, the pages open on
    the wave whose days are latest."""
    from datetime import date

    from survey_app.models import Wave, WaveStatus

    make_city(session, runner, tmp_path)
    made = []
    for name, starts in (("第四季度", "2026-10-01"), ("第三季度", "2026-07-01")):
        wave_id = int(cli(runner, "create", "--name", name, "--questionnaire", questionnaire(app),
                          "--communities", "all", "--starts", starts))  # fmt: skip
        made.append(wave_id)
    session.expire_all()
    for wave_id in made:
        wave = session.get(Wave, wave_id)
        wave.status = WaveStatus.CLOSED
        session.add(wave)
    session.commit()
    assert session.get(Wave, made[0]).starts_on == date(2026, 10, 1)
    c01 = session.exec(select(Community).where(Community.code == "C01")).one()
    make_user(session, Role.SECRETARY, community=c01, username="sec1")
    login(client, "sec1")
    page = client.get("/results/", follow_redirects=True).get_data(as_text=True)
    selected = re.search(r'<option value="(\d+)" selected', page)
    assert selected is not None, "the wave menu marks the wave shown"
    assert int(selected.group(1)) == made[0]
