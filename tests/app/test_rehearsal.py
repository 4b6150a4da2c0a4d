"""Rehearse a wave (issue 15 item 4): test interviews are generated into a wave, never
counted, shown only in the bannered rehearsal view, and removed in one step."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import select

from survey_app.fieldwork import review
from survey_app.models import (
    Assignment,
    AuditLog,
    Community,
    IndicatorTotal,
    Response,
    User,
    Visit,
)

from .canvass_factories import response_payload, visit_payload
from .factories import login, make_user
from .wave_factories import PASSWORD, cli, make_city, questionnaire

pytestmark = pytest.mark.db


def _open_wave(session, runner, app, tmp_path, *, sample=True) -> int:
    make_city(session, runner, tmp_path)
    wave_id = int(cli(runner, "create", "--name", "演练轮次", "--questionnaire", questionnaire(app),
                      "--communities", "all"))  # fmt: skip
    if sample:
        cli(runner, "sample", wave_id, "--design", "srs", "--per-community", 10, "--seed", 5,
            "--reserves", 0)  # fmt: skip
        cli(runner, "assign", wave_id)
        cli(runner, "open", wave_id)
    return wave_id


def _real_interviews(session, client, wave_id, n=4) -> list[int]:
    can1 = session.exec(select(User).where(User.username == "can1")).one()
    mine = session.exec(
        select(Assignment)
        .where(Assignment.wave_id == wave_id, Assignment.canvasser_id == can1.id)
        .order_by(Assignment.id)
    ).all()
    client.post("/login", data={"username": "can1", "password": PASSWORD})
    ids = []
    for a in mine[:n]:
        got = client.post("/api/responses", json=response_payload(a.id))
        assert got.status_code in (200, 201), got.get_data(as_text=True)
        ids.append(got.json["id"])
    client.post("/logout")
    return ids


def _n(page: str) -> int:
    found = re.search(r'data-indicator="satisfaction".*?完成问卷 (\d+) 份', page, re.S)
    return int(found.group(1)) if found else 0


def _main(got) -> str:
    """The page's content (the header carries a fresh CSRF token every time)."""
    page = got.get_data(as_text=True)
    return page[page.index("<main") :]


def _totals(session, wave_id):
    session.expire_all()
    return sorted(
        (t.indicator, t.building_id, t.n, t.positive)
        for t in session.exec(select(IndicatorTotal).where(IndicatorTotal.wave_id == wave_id))
    )


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_test_interviews_never_count_and_show_only_in_the_rehearsal_view(
    session, app, client, runner, tmp_path
):
    wave_id = _open_wave(session, runner, app, tmp_path)
    real = _real_interviews(session, client, wave_id)
    c01 = session.exec(select(Community).where(Community.code == "C01")).one()
    analyst = make_user(session, "analyst")
    login(client, analyst)
    page_url = f"/results/community/{c01.id}?wave={wave_id}"
    before = {
        "totals": _totals(session, wave_id),
        "n": _n(client.get(page_url).get_data(as_text=True)),
        "overview": _main(client.get(f"/results/overview?wave={wave_id}")),
        "csv": _csv(client.get(f"/analysis/responses.csv?wave={wave_id}").data),
        "queue": client.get(f"/review/?wave={wave_id}").get_data(as_text=True).count("/review/"),
        "visits": len(session.exec(select(Visit)).all()),
    }
    assert before["n"] == len(real) and len(before["csv"]) == len(real) + 1

    out = cli(runner, "rehearse", wave_id, "--count", 12, "--seed", 3)
    assert (
        out
        == f"轮次 {wave_id}:已为本轮样本住户生成 12 份测试问卷(种子 3;共 12 份测试数据,不计入结果)。"
    )
    session.expire_all()
    tests = session.exec(select(Response).where(Response.is_test)).all()
    assert len(tests) == 12 and all(r.canvasser_id is None and r.assignment_id for r in tests)
    # counted figures unchanged: totals, the secretary page, the overview, the export,
    # the review queue, no visit made
    assert _totals(session, wave_id) == before["totals"]
    page = client.get(page_url).get_data(as_text=True)
    assert _n(page) == before["n"] and 'id="rehearsal-banner"' not in page
    assert _main(client.get(f"/results/overview?wave={wave_id}")) == before["overview"]
    assert _csv(client.get(f"/analysis/responses.csv?wave={wave_id}").data) == before["csv"]
    queue = client.get(f"/review/?wave={wave_id}").get_data(as_text=True)
    assert queue.count("/review/") == before["queue"]
    assert len(session.exec(select(Visit)).all()) == before["visits"]
    with app.app_context():
        excluded = review.excluded(session=session, wave_id=wave_id)
    assert excluded.counted == len(real) and excluded.total == 0
    with pytest.raises(Exception, match="测试数据"):
        with app.app_context():
            review.act(session=session, user=analyst, response_id=tests[0].id, action="approve")
    session.rollback()

    # the rehearsal view: bannered, with the test interviews of the community
    in_c01 = sum(1 for r in tests if r.community_id == c01.id)
    page = client.get(page_url + "&rehearsal=1").get_data(as_text=True)
    assert 'id="rehearsal-banner"' in page and "12 份测试问卷" in page
    assert _n(page) == before["n"] + in_c01
    overview = client.get(f"/results/overview?wave={wave_id}&rehearsal=1")
    assert 'id="rehearsal-banner"' in overview.get_data(as_text=True)
    got = client.get(f"/analysis/responses.csv?wave={wave_id}&rehearsal=1")
    assert "rehearsal-responses" in got.headers["Content-Disposition"]
    rows = _csv(got.data)
    assert rows[0][-1] == "test_data" and len(rows) == len(real) + 12 + 1
    assert sum(r[-1] == "1" for r in rows[1:]) == 12
    # only the 创文办 sees test data
    client.post("/logout")
    secretary = make_user(session, "secretary", c01)
    login(client, secretary)
    assert client.get(page_url + "&rehearsal=1").status_code == 403
    assert _n(client.get(page_url).get_data(as_text=True)) == before["n"]


def test_remove_deletes_all_and_only_test_data_in_one_step(session, app, client, runner, tmp_path):
    wave_id = _open_wave(session, runner, app, tmp_path)
    real = _real_interviews(session, client, wave_id, n=3)
    analyst = make_user(session, "analyst")
    login(client, analyst)
    page = client.get(f"/fieldwork/waves/{wave_id}").get_data(as_text=True)
    assert "本轮现有测试问卷 0 份" in page and 'id="do-remove-test"' not in page
    got = client.post(f"/fieldwork/waves/{wave_id}/rehearse", data={"count": "7", "seed": "1"})
    assert got.status_code == 302
    page = client.get(f"/fieldwork/waves/{wave_id}").get_data(as_text=True)
    assert "已生成 7 份测试问卷" in page and "本轮现有测试问卷 7 份" in page
    assert 'id="do-remove-test"' in page and "data-confirm" in page
    totals = _totals(session, wave_id)
    client.post(f"/fieldwork/waves/{wave_id}/remove-test")
    page = client.get(f"/fieldwork/waves/{wave_id}").get_data(as_text=True)
    assert "已删除 7 份测试问卷" in page and "本轮现有测试问卷 0 份" in page
    session.expire_all()
    left = session.exec(select(Response).where(Response.wave_id == wave_id)).all()
    assert sorted(r.id for r in left) == sorted(real) and not any(r.is_test for r in left)
    assert _totals(session, wave_id) == totals
    actions = [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions.count("rehearse_generate") == 1 and actions.count("rehearse_remove") == 1
    # refused input: a message, not a 500
    got = client.post(f"/fieldwork/waves/{wave_id}/rehearse", data={"count": "0"})
    assert got.status_code == 302
    assert "1 到 5000" in client.get(f"/fieldwork/waves/{wave_id}").get_data(as_text=True)


def test_a_wave_without_a_sample_rehearses_on_the_frame(session, app, client, runner, tmp_path):
    wave_id = _open_wave(session, runner, app, tmp_path, sample=False)
    out = cli(runner, "rehearse", wave_id, "--count", 30, "--seed", 9)
    assert "覆盖社区的住户(尚未抽样)" in out and "30 份测试问卷" in out
    session.expire_all()
    tests = session.exec(select(Response).where(Response.wave_id == wave_id)).all()
    assert len(tests) == 30 and all(r.is_test and r.assignment_id is None for r in tests)
    assert len({r.household_id for r in tests}) == 30
    assert _totals(session, wave_id) == []
    c01 = session.exec(select(Community).where(Community.code == "C01")).one()
    login(client, make_user(session, "analyst"))
    url = f"/results/community/{c01.id}?wave={wave_id}"
    assert _n(client.get(url).get_data(as_text=True)) == 0
    in_c01 = sum(1 for r in tests if r.community_id == c01.id)
    assert _n(client.get(url + "&rehearsal=1").get_data(as_text=True)) == in_c01
    assert (
        cli(runner, "rehearse", wave_id, "--remove")
        == f"轮次 {wave_id}:已删除 30 份测试问卷(演练数据)。"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "二者选一"),
        (("--count", "3", "--remove"), "二者选一"),
        (("--count", "0"), "1 到 5000"),
        (("--count", "500"), "最多生成 20 份"),
    ],
)
def test_rehearse_command_refuses_in_one_line(session, app, runner, tmp_path, args, message):
    wave_id = _open_wave(session, runner, app, tmp_path)
    result = runner.invoke(args=["waves", "rehearse", str(wave_id), *args])
    assert result.exit_code != 0
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_rehearse_command_refuses_a_closed_or_unknown_wave(session, app, runner, tmp_path):
    wave_id = _open_wave(session, runner, app, tmp_path)
    cli(runner, "close", wave_id)
    result = runner.invoke(args=["waves", "rehearse", str(wave_id), "--count", "2"])
    assert result.exit_code != 0 and "已结束的轮次" in result.output
    result = runner.invoke(args=["waves", "rehearse", "999", "--count", "2"])
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1


def test_rehearsal_pages_in_english(session, app, client, runner, tmp_path):
    from .test_english import data_strings, untranslated

    wave_id = _open_wave(session, runner, app, tmp_path)
    cli(runner, "rehearse", wave_id, "--count", 5, "--seed", 2)
    c01 = session.exec(select(Community).where(Community.code == "C01")).one()
    login(client, make_user(session, "analyst"))
    client.get("/lang/en")
    data = data_strings(session)
    page = client.get(f"/results/community/{c01.id}?wave={wave_id}&rehearsal=1")
    html = page.get_data(as_text=True)
    banner = html[
        html.index('id="rehearsal-banner"') : html.index("</p>", html.index("rehearsal-banner"))
    ]
    assert "Rehearsal view" in banner and not untranslated("<p " + banner + "</p>", data)
    html = client.get(f"/fieldwork/waves/{wave_id}").get_data(as_text=True)
    card = html[
        html.index('id="rehearsal"') : html.index("</section>", html.index('id="rehearsal"'))
    ]
    assert "Generate test interviews" in card
    assert not untranslated("<section " + card + "</section>", data)


def test_workspace_exports_and_the_interview_page_in_rehearsal(
    session, app, client, runner, tmp_path
):
    wave_id = _open_wave(session, runner, app, tmp_path)
    real = _real_interviews(session, client, wave_id, n=3)
    cli(runner, "rehearse", wave_id, "--count", 6, "--seed", 4)
    login(client, make_user(session, "analyst"))
    query = (
        f"wave={wave_id}&indicators=satisfaction&run=1&method=korn-graubard&level=0.95&target=99"
    )
    page = client.get(f"/analysis/?{query}").get_data(as_text=True)
    assert 'id="rehearsal-banner"' not in page
    page = client.get(f"/analysis/?{query}&rehearsal=1").get_data(as_text=True)
    assert 'id="rehearsal-banner"' in page
    got = client.get(f"/analysis/export.csv?{query}&rehearsal=1")
    assert got.status_code == 200 and "rehearsal-estimates" in got.headers["Content-Disposition"]
    city = [r for r in _csv(got.data)[1:] if r[2] == "全部"]
    assert int(city[0][4]) == len(real) + 6  # n: the real and the test interviews
    plain = _csv(client.get(f"/analysis/export.csv?{query}").data)
    assert int([r for r in plain[1:] if r[2] == "全部"][0][4]) == len(real)
    for fmt in ("xlsx", "sav"):
        got = client.get(f"/analysis/responses.{fmt}?wave={wave_id}&rehearsal=1")
        assert (
            got.status_code == 200 and "rehearsal-responses" in got.headers["Content-Disposition"]
        )
    test = session.exec(select(Response).where(Response.is_test)).first()
    page = client.get(f"/review/interviews/{test.id}").get_data(as_text=True)
    assert 'id="test-data-note"' in page and 'name="action"' not in page
    got = client.post(f"/review/interviews/{test.id}", data={"action": "approve"},
                      follow_redirects=True)  # fmt: skip
    assert "这是演练生成的测试数据,不参与审核" in got.get_data(as_text=True)
    session.expire_all()
    assert session.get(Response, test.id).review_state == "pending"


def test_one_interview_per_household_real_or_test(session, app, client, runner, tmp_path):
    wave_id = _open_wave(session, runner, app, tmp_path)  # 20 sampled households
    real = _real_interviews(session, client, wave_id, n=4)
    result = runner.invoke(args=["waves", "rehearse", str(wave_id), "--count", "17"])
    assert result.exit_code != 0 and "尚未走访、也没有测试问卷的住户只有 16 户" in result.output
    cli(runner, "rehearse", wave_id, "--count", 16, "--seed", 8)
    session.expire_all()
    rows = session.exec(select(Response).where(Response.wave_id == wave_id)).all()
    tests = [r for r in rows if r.is_test]
    assert len({r.household_id for r in rows}) == len(rows) == len(real) + 16
    login(client, make_user(session, "analyst"))
    url = f"/analysis/export.csv?wave={wave_id}&indicators=satisfaction&run=1&target=99"

    def n_city(rehearsal: str) -> int:
        rows = _csv(client.get(url + rehearsal).data)[1:]
        return int([r for r in rows if r[2] == "全部"][0][4])

    assert (n_city(""), n_city("&rehearsal=1")) == (len(real), len(real) + 16)
    # a real interview arrives for a household with a test one: the real one replaces it
    test = tests[0]
    holder = session.get(User, session.get(Assignment, test.assignment_id).canvasser_id)
    client.post("/logout")
    client.post("/login", data={"username": holder.username, "password": PASSWORD})
    got = client.post("/api/responses", json=response_payload(test.assignment_id))
    assert got.status_code in (200, 201), got.get_data(as_text=True)
    # and a household with a test interview is found vacant: the test one leaves the view
    vacant = next(
        r for r in tests[1:]
        if session.get(Assignment, r.assignment_id).canvasser_id == holder.id
    )  # fmt: skip
    got = client.post("/api/visits", json=visit_payload(vacant.assignment_id, "vacant"))
    assert got.status_code in (200, 201), got.get_data(as_text=True)
    client.post("/logout")
    login(client, make_user(session, "analyst"))
    assert (n_city(""), n_city("&rehearsal=1")) == (len(real) + 1, len(real) + 15)


def test_counted_line_counts_test_interviews_in_the_rehearsal_view_under_approved_only(
    session, app, client, runner, tmp_path
):
    """A wave counting approved interviews only: its rehearsal view counts the test
    interviews it shows (they are in the figures), never as «尚未审核 … 未计入»."""
    wave_id = _open_wave(session, runner, app, tmp_path)
    _real_interviews(session, client, wave_id, n=2)
    make_user(session, "analyst", username="ana1")
    result = runner.invoke(
        args=["review", "counts", "approved", "--wave", str(wave_id), "--as", "ana1"]
    )
    assert result.exit_code == 0, result.output
    cli(runner, "rehearse", wave_id, "--count", 6, "--seed", 3)
    session.expire_all()
    real = review.excluded(session=session, wave_id=wave_id)
    assert (real.pending, real.counted) == (2, 0)
    with review.rehearsal_view():
        shown = review.excluded(session=session, wave_id=wave_id)
    assert (shown.pending, shown.counted) == (2, 6)
