"""``flask waves …`` from plan to close on a city set up from files."""

from __future__ import annotations

import json

from sqlmodel import select

from survey_app.models import Assignment, AuditLog, User, Wave, WaveCommunity

from .wave_factories import cli, make_city, questionnaire


def test_wave_from_create_to_close(runner, session, app, tmp_path):
    make_city(session, runner, tmp_path)
    q = questionnaire(app)
    wave_id = int(cli(runner, "create", "--name", "2026年第四季度", "--questionnaire", q,
                      "--communities", "all", "--starts", "2026-11-01", "--ends", "2026-11-30"))  # fmt: skip
    wave = session.get(Wave, wave_id)
    assert wave.status == "draft" and wave.target == 0.99
    out = cli(runner, "sample", wave_id, "--design", "srs", "--per-community", 20, "--seed", 42,
              "--reserves", 2, "--reserve-size", 5)  # fmt: skip
    assert "40 户" in out
    session.expire_all()
    rows = session.exec(select(Assignment).where(Assignment.wave_id == wave_id)).all()
    main = [a for a in rows if a.released]
    assert len(main) == 40 and len(rows) == 60
    c01 = [a for a in main if a.stratum == "C01"]
    assert all(abs(a.inclusion_prob - 20 / 64) < 1e-12 for a in c01)
    assert abs(sum(1 / a.inclusion_prob for a in c01) - 64) < 1e-9
    sizes = {wc.community_id: wc.households for wc in session.exec(select(WaveCommunity))}
    assert sorted(sizes.values()) == [50, 64]
    # The same seed draws the same households.
    before = sorted(a.household_id for a in main)
    cli(runner, "sample", wave_id, "--design", "srs", "--per-community", 20, "--seed", 42,
        "--reserves", 2, "--reserve-size", 5)  # fmt: skip
    session.expire_all()
    again = session.exec(
        select(Assignment).where(Assignment.wave_id == wave_id, Assignment.released)
    ).all()
    assert sorted(a.household_id for a in again) == before

    out = cli(runner, "assign", wave_id)
    assert "40 户" in out
    session.expire_all()
    people = {u.username: u.id for u in session.exec(select(User))}
    mine = [
        a
        for a in session.exec(
            select(Assignment).where(Assignment.wave_id == wave_id, Assignment.released)
        )
    ]
    loads = [sum(1 for a in mine if a.canvasser_id == people[n]) for n in ("can1", "can2")]
    assert sum(loads) == 20 and abs(loads[0] - loads[1]) <= 8  # whole buildings, balanced
    assert all(a.canvasser_id == people["can3"] for a in mine if a.stratum == "C02")

    out = cli(runner, "release", wave_id)
    assert "第 2 组" in out and "10 户" in out
    session.expire_all()
    c01 = session.exec(select(Assignment).where(Assignment.wave_id == wave_id, Assignment.released,
                                                Assignment.stratum == "C01")).all()  # fmt: skip
    assert len(c01) == 25 and all(abs(a.inclusion_prob - 25 / 64) < 1e-12 for a in c01)

    cli(runner, "assign", wave_id)
    out = cli(runner, "reassign", wave_id, "--to", "can2", "--from", "can1")
    assert "can2" in out
    cli(runner, "open", wave_id)
    listing = cli(runner, "list")
    assert f"{wave_id}\topen\tsrs" in listing
    progress = json.loads(cli(runner, "progress", wave_id, "--format", "json"))
    total = [r for r in progress["rows"] if r["level"] == "total"][0]
    assert total["assigned"] == 50 and total["pending"] == 50 and total["rr1"] == 0
    cli(runner, "close", wave_id)
    session.expire_all()
    wave = session.get(Wave, wave_id)
    assert wave.status == "closed" and wave.frozen is not None
    assert session.exec(select(AuditLog).where(AuditLog.action == "wave.close")).first()
    cli(runner, "archive", wave_id)


def test_census_two_stage_and_upload(runner, session, app, tmp_path):
    make_city(session, runner, tmp_path)
    q = questionnaire(app)
    a = int(cli(runner, "create", "--name", "全覆盖", "--questionnaire", q, "--communities", "C01"))
    assert "64 户" in cli(runner, "sample", a, "--design", "census", "--seed", 1)
    b = int(cli(runner, "create", "--name", "两阶段", "--questionnaire", q, "--communities", "S1"))
    out = cli(runner, "sample", b, "--design", "two-stage", "--buildings", 2, "--per-building", 5,
              "--equal-buildings", "--seed", 9)  # fmt: skip
    assert "20 户" in out
    session.expire_all()
    rows = session.exec(
        select(Assignment).where(Assignment.wave_id == b, Assignment.released)
    ).all()
    c01 = [r for r in rows if r.stratum == "C01"]
    assert {r.psu_prob for r in c01} == {0.5} and {r.inclusion_prob for r in c01} == {0.5 * 5 / 16}
    c = int(cli(runner, "create", "--name", "上传", "--questionnaire", q, "--communities", "C02"))
    f = tmp_path / "sample.csv"
    f.write_text(
        "community_code,household_code,probability\nC02,1-01,0.2\nC02,1-02,0.2\nC02,2-01,0.1\n"
    )
    assert "3 户" in cli(runner, "sample", c, "--design", "upload", "--file", f, "--seed", 0)


def test_cli_errors_are_one_line(runner, session, app, tmp_path):
    make_city(session, runner, tmp_path)
    q = questionnaire(app)
    cases = [
        (["create", "--name", "x", "--questionnaire", "household:99", "--communities", "all"], "找不到已发布的问卷"),
        (["create", "--name", "x", "--questionnaire", q, "--communities", "C99"], "找不到社区或街道"),
        (["create", "--name", "x", "--questionnaire", q, "--communities", "all", "--starts", "2026-13-01"],
         "2026-11-24"),
        (["sample", "999", "--design", "srs", "--seed", "1", "--per-community", "3"], "找不到测评轮次"),
    ]  # fmt: skip
    for args, text in cases:
        result = runner.invoke(args=["waves", *args])
        assert result.exit_code != 0 and text in result.output, result.output
        assert "Traceback" not in result.output
    wave_id = int(
        cli(runner, "create", "--name", "x", "--questionnaire", q, "--communities", "all")
    )
    for args, text in [
        (["sample", str(wave_id), "--design", "srs", "--seed", "1"], "二选一"),
        (["open", str(wave_id)], "请先抽取样本"),
        (["assign", str(wave_id)], "请先抽样"),
        (["close", str(wave_id)], "不在进行中"),
        (["release", str(wave_id)], "还没有抽样"),
    ]:
        result = runner.invoke(args=["waves", *args])
        assert result.exit_code != 0 and text in result.output, result.output


def test_a_deactivated_community_drops_out_of_new_waves(runner, session, app, tmp_path):
    from survey_app.models import Community

    make_city(session, runner, tmp_path)
    q = questionnaire(app)
    closed = session.exec(select(Community).where(Community.code == "C02")).one()
    closed.active = False
    session.add(closed)
    session.commit()
    wave_id = int(cli(runner, "create", "--name", "停用之后", "--questionnaire", q,
                      "--communities", "all"))  # fmt: skip
    covered = session.exec(select(WaveCommunity).where(WaveCommunity.wave_id == wave_id)).all()
    assert [wc.community_id for wc in covered] == [
        session.exec(select(Community.id).where(Community.code == "C01")).one()
    ]
    result = runner.invoke(args=["waves", "create", "--name", "x", "--questionnaire", q,
                                 "--communities", "C02"])  # fmt: skip
    assert result.exit_code != 0 and "已停用" in result.output
