"""Household frame import: all rows or none, errors naming the line and the column."""

import io

from sqlmodel import select

from survey_app.models import AuditLog, Building, Household

from .factories import login, make_geo, make_user


def _households(session):
    return session.exec(select(Household)).all()


def test_cli_imports_a_good_file(runner, session, tmp_path):
    (c1, c2) = make_geo(session, households=0)
    path = tmp_path / "frame.csv"
    path.write_text(
        "community_code,building,household_code,grid\n"
        f"{c1.code},3栋,3-101,网格1\n{c1.code},3栋,3-102,网格1\n{c2.code},A座,A-1,\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(args=["import-households", str(path)])
    assert result.exit_code == 0, result.output
    assert "已导入 3 户" in result.output
    session.expire_all()
    assert {h.code for h in _households(session)} == {"3-101", "3-102", "A-1"}
    assert len(session.exec(select(Building).where(Building.code.in_(["3栋", "A座"]))).all()) == 2
    assert session.exec(select(AuditLog).where(AuditLog.entity == "household")).first() is not None


def test_chinese_headers_and_gb18030_encoding(runner, session, tmp_path):
    (c1, _) = make_geo(session, households=0)
    path = tmp_path / "frame.csv"
    path.write_bytes(f"社区编码,楼栋,户编码\n{c1.code},5栋,5-101\n".encode("gb18030"))
    result = runner.invoke(args=["import-households", str(path)])
    assert result.exit_code == 0, result.output
    assert [h.code for h in _households(session)] == ["5-101"]


def test_bad_rows_name_line_and_column_and_import_nothing(runner, session, tmp_path):
    (c1, _) = make_geo(session, households=1)
    before = len(_households(session))
    path = tmp_path / "bad.csv"
    path.write_text(
        "community_code,building,household_code\n"
        f"{c1.code},2栋,2-101\n"  # good
        "NOPE,2栋,2-102\n"  # unknown community (line 3)
        f"{c1.code},,2-103\n"  # empty building (line 4)
        f"{c1.code},2栋,2-101\n"  # duplicate of line 2 (line 5)
        f"{c1.code},1栋,{'9' * 65}\n",  # a code over 64 characters (line 6)
        encoding="utf-8",
    )
    result = runner.invoke(args=["import-households", str(path)])
    assert result.exit_code != 0
    out = result.output
    assert "第 3 行,community_code 列:未知社区编码 'NOPE'" in out
    assert "第 4 行,building 列:不能为空" in out
    assert "第 5 行,household_code 列:与第 2 行重复" in out
    assert "第 6 行,household_code 列:长度 65 超过上限 64 个字符" in out
    assert "未导入任何数据" in out
    assert "Traceback" not in out
    session.expire_all()
    assert len(_households(session)) == before


def test_missing_column_and_empty_file(runner, session, tmp_path):
    make_geo(session)
    path = tmp_path / "cols.csv"
    path.write_text("community_code,household_code\nX,1\n")
    result = runner.invoke(args=["import-households", str(path)])
    assert result.exit_code != 0 and "第 1 行,building 列:缺少此列" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = runner.invoke(args=["import-households", str(empty)])
    assert result.exit_code != 0 and "文件为空" in result.output
    result = runner.invoke(args=["import-households", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_admin_imports_through_the_web_and_sees_errors(client, session):
    (c1, _) = make_geo(session, households=0)
    admin = make_user(session, "admin")
    login(client, admin)
    bad = io.BytesIO(f"community_code,building,household_code\n{c1.code},9栋,\n".encode())
    response = client.post(
        "/admin/households/import",
        data={"file": (bad, "f.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "第 2 行,household_code 列:不能为空" in response.get_data(as_text=True)
    assert _households(session) == []
    good = io.BytesIO(f"community_code,building,household_code\n{c1.code},9栋,9-1\n".encode())
    response = client.post(
        "/admin/households/import",
        data={"file": (good, "f.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    session.expire_all()
    assert [h.code for h in _households(session)] == ["9-1"]
