"""Back-checks: the draw (share, randomness, reproducible seed), agreement, contradictions."""

from __future__ import annotations

import pytest
from sqlmodel import select

import instruments
from survey_app.errors import ServiceError
from survey_app.fieldwork import backcheck
from survey_app.models import BackCheck, QualityFlag, Response

from .canvass_factories import assignments_of, make_fieldwork, response_payload
from .factories import login, make_user

HOUSEHOLD = instruments.load_directory(instruments.FORMS_DIR)["household"]


def test_key_items_are_the_headline_questions_and_stable_profile():
    assert backcheck.key_items(HOUSEHOLD) == [
        "aware_campaign", "support", "sat_overall", "age_group", "sex"
    ]  # fmt: skip


def test_draw_share_per_canvasser_is_random_and_reproducible():
    ids = {1: list(range(100)), 2: list(range(100, 150)), 3: [7]}
    a = backcheck.draw_sample(ids, 0.10, seed=42)
    assert [len(a[c]) for c in (1, 2, 3)] == [10, 5, 1]  # ceil(10% × n)
    assert backcheck.draw_sample(ids, 0.10, seed=42) == a  # same seed, same draw
    b = backcheck.draw_sample(ids, 0.10, seed=43)
    assert b[1] != a[1]  # another seed, another draw
    assert all(set(a[c]) <= set(ids[c]) for c in ids)
    # one canvasser's draw does not depend on the others'
    assert backcheck.draw_sample({1: ids[1]}, 0.10, seed=42)[1] == a[1]
    # randomness: over many seeds each interview is drawn about 10% of the time
    hits = [0] * 100
    for seed in range(2000):
        for i in backcheck.draw_sample({1: ids[1]}, 0.10, seed=seed)[1]:
            hits[i] += 1
    assert 140 < min(hits) and max(hits) < 265  # binomial(2000, 0.1): 200 ± 4.7 sd


def test_compare_and_contradiction_rule():
    items = ["support", "sat_overall", "sex"]
    original = {"support": "support", "sat_overall": "satisfied", "sex": "female"}
    same = backcheck.compare(original, dict(original), items)
    assert same == {"support": True, "sat_overall": True, "sex": True}
    one = backcheck.compare(original, {**original, "sat_overall": "neutral"}, items)
    assert not backcheck.contradicts(True, one)
    two = backcheck.compare(original, {**original, "sat_overall": "neutral", "sex": "male"}, items)
    assert backcheck.contradicts(True, two)
    assert backcheck.contradicts(False, {})


@pytest.mark.db
def test_draw_record_and_flag_through_the_service(session, app, client):
    wave, (me, other) = make_fieldwork(session, app)
    login(client, me)
    ids = [client.post("/api/responses", json=response_payload(a.id)).json["id"]
           for a in assignments_of(session, me)]  # fmt: skip
    analyst = make_user(session, "analyst")
    with app.app_context():
        drawn = backcheck.draw(session=session, user=analyst, wave_id=wave.id, share=0.5, seed=7)
        assert len(drawn) == 2 and {bc.response_id for bc in drawn} <= set(ids)
        # drawing again adds nothing; the same seed on a fresh copy gives the same ids
        assert backcheck.draw(session=session, user=analyst, wave_id=wave.id) == []
        assert sorted(bc.response_id for bc in drawn) == backcheck.draw_sample(
            {me.id: ids}, 0.5, 7)[me.id]  # fmt: skip
        # no other canvasser in community 0: back-checked by phone
        assert {bc.mode for bc in drawn} == {"phone"}
        ok, bad = drawn
        original = session.get(Response, ok.response_id).answers
        backcheck.record(session=session, user=analyst, check_id=ok.id, visited=True,
                         answers={n: original[n] for n in ok.items})  # fmt: skip
        backcheck.record(session=session, user=analyst, check_id=bad.id, visited=False,
                         answers={})  # fmt: skip
        with pytest.raises(ServiceError) as err:
            backcheck.record(session=session, user=analyst, check_id=ok.id, visited=True,
                             answers={})  # fmt: skip
        assert err.value.status == 409
        per_canvasser, per_item = backcheck.agreement(list(session.exec(select(BackCheck)).all()))
    (mine,) = per_canvasser
    assert (mine.checks, mine.compared, mine.agreed, mine.contradictions) == (2, 5, 5, 1)
    assert {a.key: a.share for a in per_item}["sat_overall"] == 1.0
    flag = session.exec(
        select(QualityFlag).where(QualityFlag.code == "backcheck_contradiction")
    ).one()
    assert flag.response_id == bad.response_id
    session.expire_all()
    assert "backcheck_contradiction" in session.get(Response, bad.response_id).quality_flags


@pytest.mark.db
def test_review_commands(session, app, client, runner):
    wave, (me, _) = make_fieldwork(session, app)
    login(client, me)
    for a in assignments_of(session, me):
        client.post("/api/responses", json=response_payload(a.id))
    make_user(session, "admin", username="admin")
    r = runner.invoke(args=["review", "flags", "--wave", str(wave.id)])
    assert r.exit_code == 0 and "质量标记" in r.output
    r = runner.invoke(args=["review", "draw-backchecks", "--wave", str(wave.id), "--share", "0.5",
                            "--seed", "1"])  # fmt: skip
    assert r.exit_code == 0 and "新抽取回访核查 2 户" in r.output
    r = runner.invoke(args=["review", "counts", "--wave", str(wave.id), "approved"])
    assert r.exit_code == 0 and "待审核未计入 3 份" in r.output
    r = runner.invoke(args=["review", "flags", "--wave", "999"])
    assert r.exit_code != 0 and "找不到测评轮次 999" in r.output and "Traceback" not in r.output
    r = runner.invoke(args=["review", "draw-backchecks", "--wave", str(wave.id), "--share", "2"])
    assert r.exit_code != 0 and "抽查比例" in r.output
