"""The fieldwork pages: an analyst takes a wave from plan to close in the browser's
forms; bad input is a message, never a 500; canvassers cannot reach the pages."""

from __future__ import annotations

from sqlmodel import select

from survey_app.models import Assignment, AuditLog, User, Wave

from .wave_factories import PASSWORD, make_city, questionnaire


def login(client, username):
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code in (
        302,
        303,
    )


def test_analyst_takes_a_wave_from_plan_to_close(client, session, runner, app, tmp_path):
    make_city(session, runner, tmp_path)
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    assert client.get("/fieldwork/waves").status_code == 200
    form = client.get("/fieldwork/waves/new").get_data(as_text=True)
    assert questionnaire(app) in form
    r = client.post("/fieldwork/waves/new", data={"name": "东街道第四季度", "questionnaire": questionnaire(app),
                                                  "all": "1", "target": "99", "confidence": "95",
                                                  "starts_on": "2026-11-01", "ends_on": "2026-12-31",
                                                  "max_attempts": "3"})  # fmt: skip
    assert r.status_code == 302
    wave = session.exec(select(Wave)).one()
    page = client.get(f"/fieldwork/waves/{wave.id}").get_data(as_text=True)
    assert "抽取样本" in page and "草稿" in page
    r = client.post(f"/fieldwork/waves/{wave.id}/sample", data={"design": "srs", "per_community": "10", "seed": "5",
                                                               "reserves": "1", "pps": "1"})  # fmt: skip
    assert r.status_code == 302
    page = client.get(f"/fieldwork/waves/{wave.id}").get_data(as_text=True)
    assert "已抽取 20 户" in page
    client.post(f"/fieldwork/waves/{wave.id}/assign")
    r = client.post(f"/fieldwork/waves/{wave.id}/reassign", data={"community": "C01", "buildings": "1栋,2栋",
                                                                 "to": "can2"})  # fmt: skip
    page = client.get(f"/fieldwork/waves/{wave.id}").get_data(as_text=True)
    assert "已改派" in page or "没有符合条件" in page
    client.post(f"/fieldwork/waves/{wave.id}/open")
    session.expire_all()
    assert session.get(Wave, wave.id).status == "open"
    progress = client.get(f"/fieldwork/waves/{wave.id}/progress").get_data(as_text=True)
    assert "RR1" in progress and "社区1" in progress and "完成 ÷" in progress
    csv_body = client.get(f"/fieldwork/waves/{wave.id}/progress.csv")
    assert csv_body.status_code == 200 and "rr1" in csv_body.get_data(as_text=True)
    assert client.get(f"/fieldwork/waves/{wave.id}/progress.xlsx").status_code == 200
    r = client.post(f"/fieldwork/waves/{wave.id}/close")
    session.expire_all()
    assert session.get(Wave, wave.id).status == "closed"
    r = client.post(f"/fieldwork/waves/{wave.id}/recompute", data={"reason": "复核后"})
    assert session.exec(select(AuditLog).where(AuditLog.action == "wave.recompute")).first()
    client.post(f"/fieldwork/waves/{wave.id}/archive")
    session.expire_all()
    assert session.get(Wave, wave.id).status == "archived"


def test_bad_input_is_a_message(client, session, runner, app, tmp_path):
    make_city(session, runner, tmp_path)
    runner.invoke(
        args=["create-user", "--username", "ana", "--role", "analyst", "--password", PASSWORD]
    )
    login(client, "ana")
    r = client.post(
        "/fieldwork/waves/new", data={"name": "", "questionnaire": questionnaire(app), "all": "1"}
    )
    assert r.status_code == 400 and "请填写轮次名称" in r.get_data(as_text=True)
    r = client.post("/fieldwork/waves/new", data={"name": "x", "questionnaire": "nope", "all": "1"})
    assert r.status_code == 400
    r = client.post("/fieldwork/waves/new", data={"name": "x", "questionnaire": questionnaire(app), "all": "1",
                                                  "target": "abc"})  # fmt: skip
    assert r.status_code == 400
    client.post(
        "/fieldwork/waves/new", data={"name": "x", "questionnaire": questionnaire(app), "all": "1"}
    )
    wave = session.exec(select(Wave)).one()
    r = client.post(f"/fieldwork/waves/{wave.id}/sample", data={"design": "srs", "seed": "x"})
    assert r.status_code == 302
    assert "不是整数" in client.get(f"/fieldwork/waves/{wave.id}").get_data(as_text=True)
    assert client.post(f"/fieldwork/waves/{wave.id}/nonsense").status_code == 404
    assert client.get("/fieldwork/waves/99999").status_code == 404
    r = client.post(f"/fieldwork/waves/{wave.id}/open")
    assert "请先抽取样本" in client.get(f"/fieldwork/waves/{wave.id}").get_data(as_text=True)


def test_canvasser_cannot_manage_waves(client, session, runner, app, tmp_path):
    make_city(session, runner, tmp_path)
    login(client, "can1")
    assert client.get("/fieldwork/waves").status_code == 403
    assert client.post("/fieldwork/waves/new", data={}).status_code == 403
    assert session.exec(select(User).where(User.username == "can1")).one()
    assert session.exec(select(Assignment)).all() == []
