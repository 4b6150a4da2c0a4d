"""A wave through the tablet: several open waves on one tablet, reassignment with a stale
draft held for an analyst, the wave's dates, monitoring rates checked by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from survey_app.fieldwork import monitor, plan
from survey_app.models import Assignment, AuditLog, HeldSubmission, Response, User

from .canvass_factories import response_payload, visit_payload
from .wave_factories import PASSWORD, cli, make_city, questionnaire


def login(client, username):
    client.post("/logout")
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code in (302, 303), r.status_code


def srs_wave(runner, app, name="第四季度", communities="all", per=12, seed=7, **dates):
    args = [
        "create",
        "--name",
        name,
        "--questionnaire",
        questionnaire(app),
        "--communities",
        communities,
    ]
    for k, v in dates.items():
        args += [f"--{k}", v]
    wave_id = int(cli(runner, *args))
    cli(runner, "sample", wave_id, "--design", "srs", "--per-community", per, "--seed", seed)
    cli(runner, "assign", wave_id)
    cli(runner, "open", wave_id)
    return wave_id


@pytest.fixture
def city(session, runner, tmp_path):
    return make_city(session, runner, tmp_path)


def mine(session, username, wave_id):
    uid = session.exec(select(User.id).where(User.username == username)).one()
    return session.exec(
        select(Assignment)
        .where(Assignment.wave_id == wave_id, Assignment.canvasser_id == uid)
        .order_by(Assignment.id)
    ).all()


def test_tablet_lists_every_open_wave_labelled(client, session, runner, app, city):
    a = srs_wave(runner, app, name="东片第四季度", communities="C01")
    b = srs_wave(runner, app, name="东片专项", communities="C01", per=5, seed=3)
    login(client, "can1")
    body = client.get("/api/canvass/assignments").get_json()
    labels = [w["label"] for w in body["waves"]]
    assert labels == ["东片专项", "东片第四季度"]
    assert body["wave"]["id"] == b  # backward compatible: the first listed wave
    assert body["buildings"] == body["waves"][0]["buildings"]
    for w in body["waves"]:
        hh = [h for bld in w["buildings"] for h in bld["households"]]
        assert hh and {h["wave_id"] for h in hh} == {w["id"]}
        assert w["instrument_key"] == "household" and w["max_attempts"] == 3
    session.expire_all()
    reserves = session.exec(
        select(Assignment).where(Assignment.wave_id == a, ~Assignment.released)
    ).all()
    listed = {
        h["assignment_id"]
        for w in body["waves"]
        for bld in w["buildings"]
        for h in bld["households"]
    }
    assert reserves and not listed & {r.id for r in reserves}  # reserves stay off the tablet


def test_reassigned_household_refuses_the_stale_draft_and_an_analyst_accepts_it(
    client, session, runner, app, city
):
    wave_id = srs_wave(runner, app)
    first = mine(session, "can1", wave_id)[0]
    building = session.exec(select(Assignment).where(Assignment.id == first.id)).one()
    from survey_app.models import Building, Household

    code = session.exec(
        select(Building.code)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == building.household_id)
    ).one()
    cli(runner, "reassign", wave_id, "--to", "can2", "--building", code)
    login(client, "can1")
    listed = client.get("/api/canvass/assignments").get_json()
    ids = {
        h["assignment_id"] for w in listed["waves"] for b in w["buildings"] for h in b["households"]
    }
    assert first.id not in ids  # gone from the old tablet at its next sync
    stale = response_payload(first.id)
    body = client.post("/api/sync", json={"visits": [], "responses": [stale]}).get_json()
    item = body["responses"][0]
    assert item["status"] == 409 and item["reason"] == "reassigned" and item["held"] is True
    assert "改派" in item["error"] and "不会丢失" in item["error"]
    again = client.post("/api/sync", json={"visits": [], "responses": [stale]}).get_json()[
        "responses"
    ][0]
    assert again["status"] == 409  # sent again: the same answer, held once
    session.expire_all()
    held = session.exec(select(HeldSubmission)).all()
    assert len(held) == 1 and held[0].payload["uuid"] == stale["uuid"]
    assert session.exec(select(Response)).all() == []
    # A canvasser of another community gets a plain 403, nothing held.
    other = mine(session, "can3", wave_id)[0]
    r = client.post(
        "/api/sync", json={"visits": [visit_payload(other.id)], "responses": []}
    ).get_json()
    assert r["visits"][0]["status"] == 403
    # The analyst accepts it: stored as can1 sent it.
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    page = client.get("/fieldwork/held/").get_data(as_text=True)
    assert "已改派他人" in page
    r = client.post(f"/fieldwork/held/{held[0].id}", data={"decision": "accept"})
    assert r.status_code == 302
    session.expire_all()
    stored = session.exec(select(Response)).one()
    can1 = session.exec(select(User).where(User.username == "can1")).one()
    assert stored.uuid == stale["uuid"] and stored.canvasser_id == can1.id
    assert session.get(HeldSubmission, held[0].id).resolution == "accepted"
    assert session.exec(select(AuditLog).where(AuditLog.action == "held.accepted")).first()
    # The old tablet's retry now replays the stored interview (200): it leaves the outbox.
    login(client, "can1")
    assert (
        client.post("/api/sync", json={"visits": [], "responses": [stale]}).get_json()["responses"][
            0
        ]["status"]
        == 200
    )


def test_visits_outside_the_waves_dates_are_held(client, session, runner, app, city):
    today = datetime.now(UTC).date()
    wave_id = srs_wave(
        runner,
        app,
        starts=(today - timedelta(days=3)).isoformat(),
        ends=(today + timedelta(days=3)).isoformat(),
    )
    a, b = mine(session, "can1", wave_id)[:2]
    login(client, "can1")
    late = visit_payload(a.id)
    late["visited_at"] = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    ok = visit_payload(b.id)
    ok["visited_at"] = datetime.now(UTC).isoformat()
    body = client.post("/api/sync", json={"visits": [late, ok], "responses": []}).get_json()
    assert body["visits"][0]["status"] == 409 and body["visits"][0]["reason"] == "outside_dates"
    assert "不在本轮调查日期" in body["visits"][0]["error"]
    assert body["visits"][1]["status"] == 201
    session.expire_all()
    assert session.exec(select(HeldSubmission)).one().reason == "outside_dates"


def test_monitoring_rates_by_hand(client, session, runner, app, city):
    wave_id = srs_wave(runner, app, communities="C01", per=10)
    hh = mine(session, "can1", wave_id) + mine(session, "can2", wave_id)
    assert len(hh) == 10
    login(client, "can1")
    # 4 completed, 2 refused, 1 not home, 1 vacant, 2 never visited.
    plan_ = ["completed"] * 4 + ["refused"] * 2 + ["not_home", "vacant"]
    by_user = {}
    for a, outcome in zip(hh, plan_, strict=False):
        by_user.setdefault(a.canvasser_id, []).append((a, outcome))
    users = {u.id: u.username for u in session.exec(select(User))}
    for uid, items in by_user.items():
        login(client, users[uid])
        for a, outcome in items:
            if outcome == "completed":
                r = client.post("/api/responses", json=response_payload(a.id))
            else:
                v = visit_payload(a.id, outcome)
                v["visited_at"] = datetime.now(UTC).isoformat()
                r = client.post("/api/visits", json=v)
            assert r.status_code == 201, r.get_json()
    session.expire_all()
    admin = User(username="x", display_name="x", password_hash="", role="admin")
    m = monitor.monitor(
        session=session, user=admin, wave=plan.get_wave(session=session, wave_id=wave_id)
    )
    t = m.total
    assert t.counts == Counter(completed=4, refused=2, not_home=1, vacant=1, pending=2)
    r = t.rates
    # I=4 R=2 NC=1 UH=2 NE=1; e = 7/8
    assert r["rr1"] == pytest.approx(4 / 9)
    assert r["rr3"] == pytest.approx(4 / (7 + 7 / 8 * 2))
    assert r["contact"] == pytest.approx(6 / 9)
    assert r["cooperation"] == pytest.approx(4 / 6)
    assert r["refusal"] == pytest.approx(2 / 9)
    assert sum(d[1] for d in m.days) == 8 and sum(d[2] for d in m.days) == 4
    csv_text = monitor.progress_csv(m)
    assert csv_text.splitlines()[0].startswith("level,name,households")


def test_unassign_and_state_selection(session, runner, app, city):
    wave_id = srs_wave(runner, app, communities="C01")
    out = cli(runner, "unassign", wave_id, "--from", "can1", "--state", "pending")
    assert "已收回" in out
    session.expire_all()
    assert mine(session, "can1", wave_id) == []
    cli(runner, "assign", wave_id)
    session.expire_all()
    assert mine(session, "can1", wave_id)
    result = runner.invoke(
        args=["waves", "reassign", str(wave_id), "--to", "can3", "--from", "can1"]
    )
    assert result.exit_code != 0 and "没有符合条件" in result.output


def test_a_canvasser_of_two_communities_gets_households_in_both(session, runner, app, city):
    from survey_app.models import Community, UserScope

    helper = session.exec(select(User).where(User.username == "can3")).one()
    c01 = session.exec(select(Community).where(Community.code == "C01")).one()
    session.add(UserScope(user_id=helper.id, community_id=c01.id))
    session.commit()
    wave_id = srs_wave(runner, app, per=16)
    session.expire_all()
    communities = {a.community_id for a in mine(session, "can3", wave_id)}
    assert c01.id in communities and len(communities) == 2


def test_a_closed_wave_leaves_the_tablet_and_its_late_interview_is_refused_with_a_reason(
    client, session, runner, app, city
):
    a = srs_wave(runner, app, name="东片第四季度", communities="C01")
    b = srs_wave(runner, app, name="东片专项", communities="C01", per=5, seed=3)
    login(client, "can1")
    in_a, in_b = mine(session, "can1", a)[0], mine(session, "can1", b)[0]
    sent = response_payload(in_a.id) | {"wave_id": a}  # the tablet names the wave it sends for
    body = client.post("/api/sync", json={"visits": [], "responses": [sent]}).get_json()
    assert body["responses"][0]["status"] == 201
    cli(runner, "close", b)
    listed = client.get("/api/canvass/assignments").get_json()
    assert [w["id"] for w in listed["waves"]] == [a]  # wave B gone at the next download
    late = response_payload(in_b.id) | {"wave_id": b}
    item = client.post("/api/sync", json={"visits": [], "responses": [late]}).get_json()[
        "responses"
    ][0]
    assert item["status"] == 422 and item["reason"] == "wave_closed"
    assert "东片专项" in item["error"] and "已结束" in item["error"]
    session.expire_all()
    stored = session.exec(select(Response)).all()
    assert [(r.uuid, r.wave_id) for r in stored] == [(sent["uuid"], a)]
