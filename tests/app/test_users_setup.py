"""Users: bulk import with generated one-time passwords, forced change at first sign-in,
deactivation ends sessions, scope edits take effect, the admin list with search and
pages, password resets."""

import csv
import io

from sqlmodel import select

from survey_app.models import Community, User, UserScope

from .factories import login, make_geo, make_user
from .setup_files import csv_text, xlsx

USER_HEADER = ["用户名", "姓名", "角色", "范围", "密码"]


def _communities(session, n=3):
    return make_geo(session, communities=n, households=2)


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def test_cli_import_generates_one_time_passwords_and_forces_a_change(
    runner, session, tmp_path, app
):
    c1, c2, c3 = _communities(session)
    rows = [
        ["wang.li", "王丽", "入户调查员", f"{c1.code}、{c2.code}", ""],
        ["zhao.min", "赵敏", "社区书记", c3.code, ""],
        ["du.dao", "杜导", "督导", f"{c1.code};{c3.code}", ""],
        ["fen.xi", "分析员甲", "analyst", "", "Tz7-kq4!mR2x"],
    ]
    path = tmp_path / "users.csv"
    path.write_text(csv_text(USER_HEADER, rows), encoding="utf-8")
    out = tmp_path / "passwords.csv"
    result = runner.invoke(args=["users", "import", str(path), "--passwords-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "已新建 4 个用户" in result.output
    passwords = {r[0]: r[2] for r in list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))[1:]}
    assert set(passwords) == {"wang.li", "zhao.min", "du.dao", "fen.xi"}
    assert passwords["fen.xi"] == "Tz7-kq4!mR2x"
    canvasser = session.exec(select(User).where(User.username == "wang.li")).one()
    scope = session.exec(select(UserScope.community_id).where(UserScope.user_id == canvasser.id))
    assert set(scope.all()) == {c1.id, c2.id} and canvasser.must_change_password

    client = app.test_client()
    r = _login(client, "wang.li", passwords["wang.li"])
    assert r.status_code == 302
    r = client.get("/canvass/")
    assert r.status_code == 302 and "/account/password" in r.headers["Location"]
    assert client.get("/api/canvass/assignments").status_code == 403
    r = client.post(
        "/account/password",
        data={"current": passwords["wang.li"], "new": "12345678", "confirm": "12345678"},
    )
    assert r.status_code == 400 and "10" in r.get_data(as_text=True)
    new = "桃园社区走访2026"
    r = client.post(
        "/account/password", data={"current": passwords["wang.li"], "new": new, "confirm": new}
    )
    assert r.status_code == 302
    assert client.get("/canvass/").status_code == 200
    client.post("/logout")
    assert _login(client, "wang.li", new).status_code == 302


def test_import_errors_name_row_and_column_and_store_nothing(runner, session, tmp_path):
    c1, _, _ = _communities(session)
    rows = [
        ["a.b", "甲", "入户调查员", c1.code, ""],
        ["a.b", "乙", "入户调查员", c1.code, ""],  # line 3: duplicate
        ["c.d", "丙", "厨师", c1.code, ""],  # line 4: unknown role
        ["e.f", "丁", "社区书记", "NOPE", ""],  # line 5: unknown code
        ["g.h", "戊", "入户调查员", c1.code, "12345678"],  # line 6: weak password
        ["i.j", "己", "社区书记", "", ""],  # line 7: secretary needs one community
    ]
    path = tmp_path / "users.xlsx"
    path.write_bytes(xlsx(USER_HEADER, rows))
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    out = result.output
    assert "第 3 行,用户名 列:与第 2 行重复" in out
    assert "第 4 行,角色 列:未知角色" in out
    assert "第 5 行,范围 列:找不到社区或街道编码 NOPE" in out
    assert "第 6 行,密码 列:密码至少需要 10 个字符" in out
    assert "第 7 行,范围 列" in out
    assert session.exec(select(User)).all() == []


def test_deactivated_user_cannot_sign_in_and_their_session_ends(runner, session, app):
    (c1, _, _) = _communities(session)
    canvasser = make_user(session, "canvasser", c1, username="leaver")
    admin = make_user(session, "admin")
    theirs, mine = app.test_client(), app.test_client()
    login(theirs, canvasser)
    assert theirs.get("/canvass/").status_code == 200
    login(mine, admin)
    r = mine.post(f"/admin/users/{canvasser.id}/deactivate")
    assert r.status_code == 302
    assert theirs.get("/canvass/").status_code == 302  # the open session has ended
    assert login(app.test_client(), canvasser).status_code == 401
    r = mine.post(f"/admin/users/{admin.id}/deactivate")
    assert "不能停用自己的账号" in mine.get(r.headers["Location"]).get_data(as_text=True)
    assert runner.invoke(args=["users", "activate", "leaver"]).exit_code == 0
    assert login(app.test_client(), canvasser).status_code == 302
    result = runner.invoke(args=["users", "deactivate", "leaver"])
    assert result.exit_code == 0 and "已停用" in result.output
    result = runner.invoke(args=["users", "deactivate", "nobody"])
    assert result.exit_code != 0 and "找不到用户 nobody" in result.output


def test_scope_edit_takes_effect_on_the_next_request(session, app):
    c1, c2, _ = _communities(session)
    secretary = make_user(session, "secretary", c1)
    admin = make_user(session, "admin")
    theirs, mine = app.test_client(), app.test_client()
    login(theirs, secretary)
    login(mine, admin)
    assert theirs.get(f"/results/community/{c2.id}").status_code == 404
    r = mine.post(
        f"/admin/users/{secretary.id}",
        data={"display_name": "书记", "role": "secretary", "scope": c2.code},
    )
    assert r.status_code == 302
    assert theirs.get(f"/results/community/{c2.id}").status_code == 200
    assert theirs.get(f"/results/community/{c1.id}").status_code == 404
    r = mine.post(
        f"/admin/users/{secretary.id}",
        data={"display_name": "书记", "role": "secretary", "scope": f"{c1.code},{c2.code}"},
    )
    assert r.status_code == 400 and "社区书记的范围应是一个社区编码" in r.get_data(as_text=True)
    r = mine.post(
        f"/admin/users/{secretary.id}",
        data={"display_name": "督导", "role": "supervisor", "scope": f"{c1.code}、{c2.code}"},
    )
    assert r.status_code == 302
    session.expire_all()
    assert session.get(User, secretary.id).role == "supervisor"


def test_admin_list_searches_filters_and_pages_200_users(client, session):
    (c1, c2, _) = _communities(session)
    admin = make_user(session, "admin")
    rows = [
        [f"user{i:03}", f"调查员{i:03}", "入户调查员", c1.code if i % 2 else c2.code, ""]
        for i in range(200)
    ]
    from survey_app.setup import user_import

    report = user_import.import_users(session=session, source=xlsx(USER_HEADER, rows))
    assert report.created == 200 and len(report.passwords) == 200
    login(client, admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "共 201 个用户" in page and "第 1 / 5 页" in page
    page = client.get("/admin/users?page=5").get_data(as_text=True)
    assert "第 5 / 5 页" in page
    page = client.get("/admin/users?q=调查员17").get_data(as_text=True)
    assert "共 10 个用户" in page
    page = client.get(f"/admin/users?role=canvasser&community={c1.id}").get_data(as_text=True)
    assert "共 100 个用户" in page
    assert client.get("/admin/users?page=abc").status_code == 400
    assert client.get("/admin/users?community=99999999999999999").status_code == 400


def test_web_import_offers_the_passwords_once_and_reset_forces_a_change(client, session, app):
    (c1, _, _) = _communities(session)
    admin = make_user(session, "admin")
    login(client, admin)
    data = xlsx(USER_HEADER, [["new.one", "新人", "入户调查员", c1.code, ""]])
    r = client.post(
        "/admin/users/import",
        data={"file": (io.BytesIO(data), "users.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    link = r.get_data(as_text=True).split('id="download-passwords" href="')[1].split('"')[0]
    first = client.get(link)
    assert first.status_code == 200 and "new.one" in first.get_data(as_text=True)
    assert client.get(link).status_code == 404  # once only
    user = session.exec(select(User).where(User.username == "new.one")).one()
    r = client.post(f"/admin/users/{user.id}/reset-password")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    password = r.get_data(as_text=True).split('<code class="password">')[1].split("<")[0]
    other = app.test_client()
    assert _login(other, "new.one", password).status_code == 302
    assert "/account/password" in other.get("/").headers["Location"]


def test_community_scope_lists_new_communities_of_a_supervisors_street(session):
    (c1, _, _) = _communities(session)
    from survey_app import scope
    from survey_app.models import Street
    from survey_app.setup import users

    street = session.get(Street, c1.street_id)
    supervisor = users.create_user(
        session=session,
        username="street.boss",
        password="Tz7-kq4!mR2x",
        role="督导",
        scope_codes=[street.code],
    )
    later = Community(code="LATE", name="后建社区", street_id=street.id)
    session.add(later)
    session.commit()
    assert later.id in scope.community_ids(supervisor, session=session)
