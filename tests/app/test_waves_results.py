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
        select(Assignment)
        .where(Assignment.wave_id == wave_id, Assignment.released)
        .order_by(Assignment.id)
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


def raw_export(client, wave_id, tmp_path):
    """The raw export as the analyst downloads it: its path and the frame."""
    raw = client.get(f"/analysis/responses.csv?wave={wave_id}")
    assert raw.status_code == 200
    path = tmp_path / f"raw{wave_id}.csv"
    path.write_bytes(raw.get_data())
    return path, pd.read_csv(path, encoding="utf-8-sig")


def survey_estimate_rows(path, *, population=True) -> dict:
    """``survey-estimate`` on the export with its design columns: rows by community."""
    args = [str(path), "--weight", "weight", "--strata", "stratum", "--cluster", "psu",
            "--fpc", "fpc", "--by", "community", "--indicator", "satisfaction",
            "--format", "json"]  # fmt: skip
    if population:
        args += ["--population", "population"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert survey_estimate.main(args) == 0
    return {r["domain"]: r for r in json.loads(out.getvalue())["results"]}


def assert_same_as_survey_estimate(rate, ref):
    """A page's rate equals survey-estimate's row: figures, interval, verdict and why."""
    assert (rate.n, rate.df, rate.verdict, rate.why) == (ref["n"], ref["df"], ref["verdict"],
                                                         ref["why"])  # fmt: skip
    assert (rate.needed_n, rate.population) == (ref["needed_n"], ref["population"])
    for key in ("estimate", "se", "ci_low", "ci_high", "rate_if_unheard_no",
                "rate_if_unheard_yes"):  # fmt: skip
        assert getattr(rate, key) == pytest.approx(ref[key], abs=1e-12), key


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
    path, frame = raw_export(client, wave_id, tmp_path)
    # The non-response adjustment within community × building makes the weights differ
    # between a community's buildings: the case where the pages once bounded the
    # interval themselves and survey-estimate on the export did not.
    assert (frame.groupby("community")["weight"].nunique() > 1).all()
    cli_rows = survey_estimate_rows(path)
    plain = survey_estimate_rows(path, population=False)  # no N: the design's interval only
    wave = plan.get_wave(session=session, wave_id=wave_id)
    overview = pages.overview(session=session, wave=wave, indicator="satisfaction")
    by_code = {c.id: c.code for c in session.exec(select(Community))}
    cut = 0
    for code in ("C01", "C02"):
        page = community_rate(session, wave_id, code)
        ranked = next(o.rate for o in overview.rows if by_code[o.community_id] == code)
        ref = cli_rows[code]
        # What the households not heard from allow, from the export's own columns:
        mine = frame[frame["community"] == code]
        big_n, yes, n = int(mine["population"].iloc[0]), int(mine["satisfaction"].sum()), len(mine)
        assert ref["rate_if_unheard_no"] == pytest.approx(yes / big_n, abs=1e-15)
        assert ref["rate_if_unheard_yes"] == pytest.approx((yes + big_n - n) / big_n, abs=1e-15)
        high = (yes + big_n - n) / big_n
        if high < 0.99:  # even every household not heard satisfied leaves it below 99%
            assert (ref["verdict"], ref["why"]) == ("not_met", "exact_finite")
        assert ref["ci_high"] == pytest.approx(min(plain[code]["ci_high"], high), abs=1e-15)
        cut += ref["ci_high"] < plain[code]["ci_high"]
        for r in (page, ranked):
            assert_same_as_survey_estimate(r, ref)
    assert cut  # the bounds cut a design interval here (C02: 15 of 18 satisfied, N = 50)
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
    assert_same_as_survey_estimate(overview.city, cli_rows[None])
    # The design columns: weights sum to the eligible households' estimate per community.
    text = path.read_text(encoding="utf-8-sig").splitlines()
    header = text[0].split(",")
    assert {"weight", "stratum", "psu", "fpc", "population"} <= set(header)


def test_unequal_weights_all_yes_one_refusal_is_met_on_pages_and_survey_estimate(
    client, session, runner, app, tmp_path
):
    """110 households, census, one refusal: the weights differ between buildings
    (50/49 in the refusing one, 1 elsewhere) and everyone heard said yes. The design's
    interval alone leaves 99% open; 109 of 110 satisfied whatever the one refusal would
    say is 99.1%, so 已达到 is certain — on the pages and from survey-estimate alike."""
    make_city(session, runner, tmp_path, buildings={"C01": [50, 50, 10]},
              canvassers={"C01": ["can1"]})  # fmt: skip
    wave_id = census(runner, app)
    rows = session.exec(select(Assignment).where(Assignment.wave_id == wave_id)).all()
    refusing = min(a.id for a in rows)
    fill(client, session, wave_id, lambda a: "refused" if a.id == refusing else "satisfied")
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    path, frame = raw_export(client, wave_id, tmp_path)
    assert frame["weight"].nunique() == 2 and len(frame) == 109
    ref = survey_estimate_rows(path)["C01"]
    plain = survey_estimate_rows(path, population=False)["C01"]
    assert plain["verdict"] == "undetermined" and plain["ci_low"] < 0.99
    assert (ref["verdict"], ref["why"], ref["population"]) == ("met", "exact_finite", 110)
    assert ref["rate_if_unheard_no"] == pytest.approx(109 / 110)
    assert ref["ci_low"] == pytest.approx(109 / 110) and ref["needed_n"] is None
    page = community_rate(session, wave_id, "C01")
    assert_same_as_survey_estimate(page, ref)
    community = session.exec(select(Community).where(Community.code == "C01")).one()
    html = client.get(f"/results/community/{community.id}?wave={wave_id}").get_data(as_text=True)
    assert "已达到 99%,这是确定的" in html and "99.1%" in html


def test_systematic_wave_rows_carry_the_srs_design(client, session, runner, app, city, tmp_path):
    """A systematic sample is estimated as srs (docs/methodology.md, Wolter 2007 ch. 8):
    stratum = community, PSU = household (each interview its own), fpc = N households;
    the pages equal survey-estimate on those columns, and the fpc does enter."""
    wave_id = int(cli(runner, "create", "--name", "等距", "--questionnaire", questionnaire(app),
                      "--communities", "all"))  # fmt: skip
    cli(runner, "sample", wave_id, "--design", "systematic", "--share", 0.5, "--seed", 3)
    cli(runner, "assign", wave_id)
    cli(runner, "open", wave_id)
    fill(client, session, wave_id,
         lambda a: "refused" if a.id % 7 == 0 else ("dissatisfied" if a.id % 5 == 0 else "satisfied"))  # fmt: skip
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    path, frame = raw_export(client, wave_id, tmp_path)
    assert (frame["stratum"] == frame["community"]).all()
    assert frame["psu"].is_unique and frame["fpc_ssu"].isna().all()  # household PSUs, one stage
    sizes = {"C01": 64, "C02": 50}
    assert (frame["fpc"] == frame["community"].map(sizes)).all()
    assert (frame["population"] == frame["community"].map(sizes)).all()
    ref = survey_estimate_rows(path)
    args = [str(path), "--weight", "weight", "--strata", "stratum", "--cluster", "psu",
            "--by", "community", "--indicator", "satisfaction", "--format", "json"]  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        assert survey_estimate.main(args) == 0
    no_fpc = {r["domain"]: r for r in json.loads(out.getvalue())["results"]}
    for code in sizes:
        page = community_rate(session, wave_id, code)
        assert page.df == page.n - 1  # one stratum, one PSU per household
        assert_same_as_survey_estimate(page, ref[code])
        assert page.se < no_fpc[code]["se"]  # (1 − n/N) < 1


@pytest.mark.parametrize(
    ("yes", "n", "certain", "words"),
    [
        (600, 600, False, "已达到 99%。"),  # exact interval ≥ 99.6%, but 400 not heard
        (490, 500, False, "未达到 99%。"),  # exact interval ≤ 98.7%; at best 99.0%
        (10, 1000, True, "未达到 99%,这是确定的"),  # 990 no answers of 1000
    ],
)
def test_only_what_the_unheard_households_settle_is_said_certain(app, yes, n, certain, words):
    """The exact (hypergeometric) interval can settle a verdict at 95% that the bounds
    leave open; the page then says the verdict without 这是确定的."""
    import analysis
    from survey_app.results.indicators import IndicatorInfo
    from survey_app.results.rates import to_rate

    data = pd.DataFrame({"w": 1.0, "y": [1.0] * yes + [0.0] * (n - yes), "c": "C1", "N": 1000})
    result = analysis.estimate(data, indicators=["y"], weight="w", by="c", population="N")
    (row,) = [r for r in result.rows if r.domain == "C1"]
    assert row.why == "exact_finite"
    info = IndicatorInfo("satisfaction", "满意率", "Satisfaction", "headline")
    rate = to_rate(row, info, domain="c1", level=0.95, target=0.99)
    with app.test_request_context("/"):
        from flask import render_template_string

        out = render_template_string(
            '{% from "results/_macros.html" import rate_sentence %}{{ rate_sentence(r) }}', r=rate
        )
    assert words in out and ("这是确定的" in out) == certain


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
