"""Quality flags: each on a built example that trips it and one that does not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from scipy.stats import fisher_exact
from sqlmodel import select

import instruments
from survey_app.fieldwork import quality_rules as rules
from survey_app.fieldwork.quality_rules import Interview, Thresholds

from .canvass_factories import SATISFACTION_ITEMS, complete_answers

HOUSEHOLD = instruments.load_directory(instruments.FORMS_DIR)["household"]
T = Thresholds()
SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def iv(i, *, canvasser=1, community=1, household=None, building=1, answers=None, start=NOON,
       minutes=5.0, device=None, lat=None, lon=None) -> Interview:  # fmt: skip
    return Interview(
        id=i, canvasser_id=canvasser, community_id=community,
        household_id=household if household is not None else i, building_id=building,
        answers=answers if answers is not None else complete_answers(), started_at=start,
        submitted_at=start + timedelta(minutes=minutes), device=device, latitude=lat,
        longitude=lon,
    )  # fmt: skip


def flags_of(interview, **kw):
    return rules.interview_flags(interview, HOUSEHOLD, T, tz=SH, **kw)


def test_too_fast_per_answered_question():
    n = rules.answered(complete_answers())
    assert "too_fast" in flags_of(iv(1, minutes=n * 1.5 / 60))
    assert "too_fast" not in flags_of(iv(1, minutes=n * 3 / 60))


def test_straight_lining_on_the_satisfaction_items():
    assert rules.satisfaction_items(HOUSEHOLD) == SATISFACTION_ITEMS
    neutral = complete_answers(**{name: "neutral" for name in SATISFACTION_ITEMS})
    assert flags_of(iv(1, answers=neutral))["straight_line"] == {"code": "neutral", "items": 10}
    mixed = complete_answers(sat_traffic_order="fairly_satisfied")
    assert "straight_line" not in flags_of(iv(1, answers=mixed))
    # uniform 满意 is what a city near 99% expects: not flagged unless the wave says so
    assert "straight_line" not in flags_of(iv(1))
    strict = Thresholds.from_settings({"straightline_ignore": []})
    assert rules.straight_lined(HOUSEHOLD, complete_answers(), strict)


def test_odd_hours_and_outside_the_wave():
    night = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert flags_of(iv(1, start=night))["odd_hours"]["local_time"] == "22:30"
    assert "odd_hours" not in flags_of(iv(1))
    wave = {"starts_on": date(2026, 11, 25), "ends_on": date(2026, 11, 30)}
    assert "outside_wave" in flags_of(iv(1), **wave)
    assert "outside_wave" not in flags_of(iv(1, start=NOON + timedelta(days=2)), **wave)


def test_repeated_patterns_within_one_canvasser():
    same = [iv(i) for i in range(5)]
    assert set(rules.repeated_patterns(same, HOUSEHOLD, T)) == set(range(5))
    ages = ["a16_29", "a30_44", "a45_59", "a60_plus"]
    varied = [iv(i, answers=complete_answers(age_group=ages[i % 4])) for i in range(5)]
    assert rules.repeated_patterns(varied, HOUSEHOLD, T) == {}
    split = [iv(i, canvasser=i % 2) for i in range(5)]  # 3 and 2: below 5 each
    assert rules.repeated_patterns(split, HOUSEHOLD, T) == {}


def test_bursts_more_than_a_door_to_door_hour_allows():
    fast = [iv(i, start=NOON + timedelta(minutes=8 * i)) for i in range(7)]  # 7 in 56 min
    assert set(rules.bursts(fast, T)) == set(range(7))
    steady = [iv(i, start=NOON + timedelta(minutes=12 * i)) for i in range(7)]  # 5 an hour
    assert rules.bursts(steady, T) == {}


def test_positions_far_from_the_building_and_identical_across_households():
    base = (30.00000, 120.00000)
    near = [iv(i, lat=base[0] + i * 1e-5, lon=base[1]) for i in range(4)]
    far = iv(9, lat=base[0] + 0.01, lon=base[1])  # about 1.1 km north
    found = rules.positions(near + [far], T)
    assert set(found) == {9} and found[9]["far_position"]["metres"] > 1000
    assert rules.positions(near, T) == {}
    copies = [iv(i, building=i, lat=31.1, lon=121.2) for i in range(3)]
    assert set(rules.positions(copies, T)) == {0, 1, 2}
    same_building = [iv(i, building=1, lat=31.1, lon=121.2) for i in range(3)]
    assert "same_position" not in str(rules.positions(same_building, T))
    assert 1100 < rules.metres(30.0, 120.0, 30.01, 120.0) < 1125


def test_one_tablet_used_by_two_canvassers():
    a = iv(1, canvasser=1, device="Mozilla/5.0 dev:0a1b2c3d4e 800x1280")
    b = iv(2, canvasser=2, device="Mozilla/5.0 dev:0a1b2c3d4e 800x1280")
    c = iv(3, canvasser=3, device="Mozilla/5.0 dev:ffffeeee00 800x1280")
    assert set(rules.shared_devices([a, b, c])) == {1, 2}
    # the same tablet model (user agent) without an id is not a shared tablet
    assert rules.shared_devices([iv(1, device="Mozilla/5.0 800x1280"),
                                 iv(2, canvasser=2, device="Mozilla/5.0 800x1280")]) == {}  # fmt: skip


def _community(canvasser_rates: dict[int, tuple[int, int, int]]):
    """canvasser -> (n, satisfied, dont_know) on sat_overall."""
    out, i = [], 0
    for canvasser, (n, satisfied, dont_know) in canvasser_rates.items():
        for k in range(n):
            code = (
                "satisfied"
                if k < satisfied
                else "dont_know"
                if k < satisfied + dont_know
                else "neutral"
            )
            out.append(iv(i, canvasser=canvasser, answers=complete_answers(sat_overall=code)))
            i += 1
    return out


def test_a_canvasser_far_from_their_community_by_fishers_exact_test():
    # canvasser 1: 30 of 30 满意; others: 60 of 90 (and 10 说不清)
    ivs = _community({1: (30, 30, 0), 2: (45, 30, 5), 3: (45, 30, 5)})
    found = {(o.code, o.canvasser_id): o for o in rules.outliers(ivs, HOUSEHOLD, T)}
    o = found[("rate_outlier", 1)]
    expected = fisher_exact([[30, 0], [60, 30]])[1]
    assert o.p == pytest.approx(expected) and o.p < o.threshold
    assert o.threshold == pytest.approx(0.05 / 6)  # Bonferroni over 3 canvassers × 2 tests
    assert (o.n, o.share, o.others_n) == (30, 1.0, 90)
    # alike canvassers: nothing
    alike = _community({1: (30, 27, 1), 2: (30, 28, 1), 3: (30, 27, 2)})
    assert rules.outliers(alike, HOUSEHOLD, T) == []
    # too few interviews to test
    few = _community({1: (5, 5, 0), 2: (45, 20, 5)})
    assert rules.outliers(few, HOUSEHOLD, T) == []


def test_dont_know_share_outlier():
    ivs = _community({1: (30, 10, 20), 2: (45, 40, 1), 3: (45, 40, 1)})
    codes = {(o.code, o.canvasser_id) for o in rules.outliers(ivs, HOUSEHOLD, T)}
    assert ("dont_know_outlier", 1) in codes


def test_thresholds_from_a_wave_and_bad_values():
    t = Thresholds.from_settings(
        {"burst_per_hour": "4", "straightline_ignore": "satisfied,neutral"}
    )
    assert t.burst_per_hour == 4 and t.straightline_ignore == ("satisfied", "neutral")
    with pytest.raises(ValueError, match="未知的阈值"):
        Thresholds.from_settings({"nope": 1})
    with pytest.raises(ValueError, match="无效"):
        Thresholds.from_settings({"far_metres": "far"})
    with pytest.raises(ValueError, match="负数"):
        Thresholds.from_settings({"repeat_min": -1})


@pytest.mark.db
def test_the_wave_pass_stores_flags_and_arrival_flags_come_with_the_sync(session, app, client):
    from survey_app.fieldwork import quality
    from survey_app.models import QualityFlag, Response

    from .canvass_factories import assignments_of, make_fieldwork, response_payload
    from .factories import login

    wave, (me, _) = make_fieldwork(session, app)
    login(client, me)
    a1, a2 = assignments_of(session, me)[:2]
    neutral = complete_answers(**{name: "neutral" for name in SATISFACTION_ITEMS})
    r1 = client.post("/api/responses", json=response_payload(a1.id, answers=neutral))
    assert r1.json["quality_flags"] == ["straight_line"]  # on arrival
    r2 = client.post("/api/responses", json=response_payload(a2.id, minutes=0.2))
    assert r2.json["quality_flags"] == ["too_fast"]
    with app.app_context():
        assert quality.is_stale(session=session, wave_id=wave.id)
        quality.refresh_flags(session=session, wave_id=wave.id)
        assert not quality.is_stale(session=session, wave_id=wave.id)
    stored = {(f.response_id, f.code) for f in session.exec(select(QualityFlag))}
    assert (r1.json["id"], "straight_line") in stored and (r2.json["id"], "too_fast") in stored
    session.expire_all()
    assert "too_fast" in session.get(Response, r2.json["id"]).quality_flags
