"""Insight on the result pages (issue 15): the change since the last wave in words, the
areas that most affect 满意率 (with the honest fallback), and the planning page."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from survey_app.demo.simulate import Rates
from survey_app.models import Role, Wave, WaveStatus
from survey_app.results import insight
from survey_app.results.indicators import IndicatorInfo
from survey_app.results.rates import Rate

from .factories import login, make_user
from .results_data import add_interviews, build_city


@pytest.fixture
def instrument(app):
    return app.extensions["instruments"]["household"]


def _rate(estimate, se, df, n=200, low=None, high=None):
    info = IndicatorInfo("satisfaction", "满意率", "Satisfaction", "headline")
    return Rate(info, None, n, estimate, low, high, se, 1.0, df, "undetermined", 10, None,
                0.95, 0.99)  # fmt: skip


def test_change_words_match_the_worked_example():
    # docs/methodology.md: 188/200 then 196/200 (SRS): +4.0 points, significant;
    # 192/200 then 196/200: +2.0 points, possibly sampling noise.
    def srs(p):
        return _rate(p, (p * (1 - p) / 199) ** 0.5, 199)

    up = insight.change_since(srs(0.94), srs(0.98), previous_wave="一")
    assert up.points == 4.0 and up.significant
    small = insight.change_since(srs(0.96), srs(0.98), previous_wave="一")
    assert small.points == 2.0 and not small.significant
    assert insight.change_since(None, srs(0.98), previous_wave="一") is None


def test_all_yes_wave_does_not_make_a_change_significant_on_zero_variance():
    before = _rate(1.0, 0.0, 31, n=32, low=0.891, high=1.0)  # 32 of 32, exact interval
    after = _rate(0.97, 0.03, 31, n=32, low=0.84, high=0.999)
    change = insight.change_since(before, after, previous_wave="一")
    assert change.points == -3.0 and not change.significant


def test_secretary_page_says_the_change_and_the_drivers(client, session, instrument):
    city = build_city(session, instrument, wave_name="本轮", starts_on=date(2026, 11, 1),
                      rates=Rates(awareness=0.97, support=0.96, satisfaction=0.95))  # fmt: skip
    earlier = Wave(name="上一轮", instrument_key=instrument.key,
                   instrument_version=str(instrument.version), status=WaveStatus.CLOSED,
                   starts_on=date(2026, 5, 1))  # fmt: skip
    session.add(earlier)
    session.flush()
    import random

    add_interviews(session, instrument, city, earlier, completed=0.9,
                   rates=Rates(awareness=0.97, support=0.96, satisfaction=0.6),
                   rng=random.Random(3))  # fmt: skip
    session.commit()
    community = city.communities[0]
    login(client, make_user(session, Role.SECRETARY, community))
    text = client.get(f"/results/community/{community.id}?wave={city.wave.id}").get_data(
        as_text=True
    )
    card = re.search(r'data-indicator="satisfaction">(.*?)</li>', text, re.S).group(1)
    assert re.search(r"较上一轮上升 \d+\.\d 个百分点\((变化显著|可能是抽样波动)\)", card)
    assert "最影响满意率的三个方面" in text
    drivers = re.search(r'<section class="card" id="drivers">(.*?)</section>', text, re.S).group(1)
    # 30-odd interviews: too few dissatisfied residents to rank areas alone, said so
    assert "本社区问卷还太少" in drivers or "问卷还太少" in drivers or "根据本社区" in drivers


def test_drivers_fall_back_to_the_street_or_city_and_say_so(session, instrument):
    city = build_city(session, instrument, layout=((4, 4), (4, 4)), per_building=20,
                      completed=0.95, rates=Rates(awareness=0.97, support=0.96,
                                                  satisfaction=0.85))  # fmt: skip
    from survey_app.results.indicators import indicator_catalog

    community = city.communities[0]
    street = city.streets[0]
    found = insight.drivers_for(session=session, community=community, street=street,
                                wave=city.wave, instrument=instrument,
                                catalog=indicator_catalog(instrument))  # fmt: skip
    assert found.community_n > 0
    assert found.scope in ("community", "street", "city")
    assert 1 <= len(found.top) <= 3
    gains = [a.gain for a in found.top]
    assert gains == sorted(gains, reverse=True) and all(g > 0 for g in gains)
    # cached: the same answer without recomputing
    again = insight.drivers_for(session=session, community=community, street=street,
                                wave=city.wave, instrument=instrument,
                                catalog=indicator_catalog(instrument))  # fmt: skip
    assert again == found


def _wait(client, url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = client.get(url).get_json()["state"]
        if state != "running":
            return state
        time.sleep(0.2)
    raise AssertionError("the simulation did not finish")


def test_planning_page_runs_the_simulation(client, session, instrument):
    city = build_city(session, instrument)
    analyst = make_user(session, Role.ANALYST)
    login(client, analyst)
    assert client.get("/results/plan/").status_code == 200
    form = {"design": "srs", "n": "20", "buildings": "", "per_building": "",
            "expected_source": "last", "expected": "99.5", "indicator": "satisfaction",
            "response_rate": "85", "icc": "0.05", "goal": "80", "replicates": "300",
            "street": ""}  # fmt: skip
    reply = client.post("/results/plan/", data=form)
    assert reply.status_code == 302
    job_url = reply.headers["Location"]
    assert _wait(client, job_url + ".json") == "done"
    page = client.get(job_url).get_data(as_text=True)
    shown = set(re.findall(r'<tr data-community="(\d+)"', page))
    assert shown == {str(c.id) for c in city.communities}
    assert "至少需抽户数" in page and "个社区按这个设计有至少 80% 的把握" in page
    # another analyst cannot see it; a secretary cannot plan
    client.get("/logout")
    login(client, make_user(session, Role.ANALYST))
    assert client.get(job_url).status_code == 404
    client.get("/logout")
    login(client, make_user(session, Role.SECRETARY, city.communities[0]))
    assert client.get("/results/plan/").status_code == 403


@pytest.mark.parametrize(
    "change, status",
    [({"replicates": "5"}, 400), ({"expected": "120"}, 400), ({"n": ""}, 400),
     ({"design": "quota"}, 400), ({"design": "two-stage", "buildings": ""}, 400)],
)  # fmt: skip
def test_planning_bad_input_is_a_clear_400(client, session, instrument, change, status):
    build_city(session, instrument)
    login(client, make_user(session, Role.ANALYST))
    form = {"design": "srs", "n": "20", "buildings": "3", "per_building": "10",
            "expected_source": "typed", "expected": "99", "indicator": "satisfaction",
            "response_rate": "85", "icc": "0.05", "goal": "80", "replicates": "300",
            "street": "", **change}  # fmt: skip
    assert client.post("/results/plan/", data=form).status_code == status
    assert client.get("/results/plan/nosuchjob").status_code == 404
    assert client.get("/results/plan/../../etc").status_code == 404


def _closed_waves(session, instrument, city, satisfaction, seed=10):
    import random

    waves = []
    for k, p in enumerate(satisfaction):
        wave = Wave(name=f"第{k + 1}轮", instrument_key=instrument.key,
                    instrument_version=str(instrument.version), status=WaveStatus.CLOSED,
                    starts_on=date(2025, 1 + 3 * k, 1))  # fmt: skip
        session.add(wave)
        session.flush()
        add_interviews(session, instrument, city, wave, completed=0.9,
                       rates=Rates(awareness=0.97, support=0.96, satisfaction=p),
                       rng=random.Random(seed + k))  # fmt: skip
        waves.append(wave)
    session.commit()
    return waves


def test_trend_over_three_closed_waves_in_words_matches_the_glm(client, session, instrument):
    """«三轮以来满意率呈上升趋势(显著)», and the page's test is analysis.trend_test on
    the respondents themselves (weight 1, building PSUs, each wave its own sample)."""
    import numpy as np
    import pandas as pd
    from sqlmodel import select

    import instruments
    from analysis.trends import trend_test
    from survey_app.models import Household, Response

    city = build_city(session, instrument, wave_name="本轮", starts_on=date(2026, 11, 1),
                      layout=((6,),), per_building=12)  # fmt: skip
    waves = _closed_waves(session, instrument, city, (0.55, 0.75, 0.92))
    community = city.communities[0]
    login(client, make_user(session, Role.SECRETARY, community))
    text = client.get(f"/results/community/{community.id}?wave={city.wave.id}").get_data(
        as_text=True
    )
    lines = re.search(r'<ul class="trend-tests" id="trend-tests">(.*?)</ul>', text, re.S).group(1)
    sat = re.search(r'data-indicator="satisfaction" data-direction="(\w+)">(.*?)</li>', lines, re.S)
    assert sat.group(1) == "up"
    assert re.search(
        r"3 轮已结束的测评以来,满意率呈上升趋势\(趋势显著,平均每轮约上升 \d+\.\d 个百分点\)",
        sat.group(2),
    )

    rows = session.exec(
        select(Response.wave_id, Response.answers, Household.building_id)
        .join(Household, Response.household_id == Household.id)
        .where(Response.community_id == community.id,
               Response.wave_id.in_([w.id for w in waves]))
    ).all()  # fmt: skip
    order = {w.id: k for k, w in enumerate(waves)}
    data = pd.DataFrame(
        [{"wave": order[wid], "psu": b, "stratum": "c", "w": 1.0,
          "satisfaction": instruments.indicator_values(instrument, a)["satisfaction"]}
         for wid, a, b in rows]
    ).astype({"satisfaction": float})  # fmt: skip
    (reference,) = [
        t for t in trend_test(data, indicators=["satisfaction"], weight="w", wave="wave",
                              strata="stratum", cluster="psu", linked=False) if t.domain is None
    ]  # fmt: skip
    with client.application.app_context():
        from survey_app.results.indicators import indicator_catalog
        from survey_app.results.rates import headline

        words = insight.trends_for(session=session, community=community, waves=waves,
                                   catalog=headline(indicator_catalog(instrument)))  # fmt: skip
    found = {t.info.key: t for t in words}["satisfaction"]
    assert reference.significant and found.significant and found.waves == 3
    assert np.isclose(found.p_value, reference.p_value, rtol=1e-9, atol=1e-15)
    assert found.points_per_wave == round(reference.per_wave * 100, 1)


def test_no_trend_line_before_three_closed_waves_and_flat_said_plainly(client, session, instrument):
    city = build_city(session, instrument, wave_name="本轮", starts_on=date(2026, 11, 1),
                      layout=((6,),), per_building=12)  # fmt: skip
    _closed_waves(session, instrument, city, (0.9, 0.9))
    community = city.communities[0]
    login(client, make_user(session, Role.SECRETARY, community))
    url = f"/results/community/{community.id}?wave={city.wave.id}"
    assert 'id="trend-tests"' not in client.get(url).get_data(as_text=True)
    later = _closed_waves(session, instrument, city, (0.9,), seed=20)[0]
    later.starts_on = date(2026, 8, 1)
    session.add(later)
    session.commit()
    text = client.get(url).get_data(as_text=True)
    sat = re.search(r'data-indicator="satisfaction" data-direction="(\w+)">(.*?)</li>', text, re.S)
    assert sat.group(1) == "flat"
    assert "3 轮已结束的测评以来,满意率没有明显的上升或下降趋势(起伏可能是抽样波动)" in sat.group(2)
    client.get("/lang/en")
    text = client.get(url).get_data(as_text=True)
    assert "no clear rise or fall" in text


def test_a_wave_all_yes_leaves_the_trend_untested_and_says_so(client, session, instrument):
    """At the boundary (a wave where every answer was yes) the linearised test misleads:
    the page says so instead of «上升» or «没有明显趋势»."""
    city = build_city(session, instrument, wave_name="本轮", starts_on=date(2026, 11, 1),
                      layout=((6,),), per_building=12)  # fmt: skip
    _closed_waves(session, instrument, city, (0.8, 1.0, 0.9))
    community = city.communities[0]
    login(client, make_user(session, Role.SECRETARY, community))
    url = f"/results/community/{community.id}?wave={city.wave.id}"
    text = client.get(url).get_data(as_text=True)
    sat = re.search(r'data-indicator="satisfaction" data-direction="(\w+)">(.*?)</li>', text, re.S)
    assert sat.group(1) == "boundary"
    assert "有一轮的满意率是 100% 或 0%:这时趋势检验不可靠,不作判断" in sat.group(2)
    client.get("/lang/en")
    assert "the trend test is not reliable then" in client.get(url).get_data(as_text=True)
