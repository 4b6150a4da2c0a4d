"""Geography import (区县 → 街道 → 社区): new, re-import, bad rows, GB18030 and XLSX; the
admin tree page: rename, add, deactivate."""

from sqlmodel import func, select

from survey_app.models import Community, District, Street

from .factories import login, make_user
from .setup_files import GEO_HEADER, csv_text, geography_rows, xlsx


def _counts(session):
    session.expire_all()
    return tuple(
        session.exec(select(func.count()).select_from(m)).one()
        for m in (District, Street, Community)
    )


def test_import_then_reimport_updates_names_and_adds_without_duplicates(runner, session, tmp_path):
    path = tmp_path / "geo.csv"
    path.write_text(csv_text(GEO_HEADER, geography_rows(2, 2, 3)), encoding="utf-8")
    result = runner.invoke(args=["geography", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "新增区县 2 个、街道 4 个、社区 12 个" in result.output
    assert _counts(session) == (2, 4, 12)

    rows = geography_rows(2, 2, 3)
    rows[0][5] = "桃园社区"  # renamed
    rows.append(["D03", "新区", "S0301", "新街道", "C030101", "新社区"])  # new units
    path.write_text(csv_text(GEO_HEADER, rows), encoding="utf-8")
    result = runner.invoke(args=["geography", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert _counts(session) == (3, 5, 13)
    renamed = session.exec(select(Community).where(Community.code == "C010101")).one()
    assert renamed.name == "桃园社区"


def test_gb18030_csv_and_xlsx_with_english_headers(runner, session, tmp_path):
    gb = tmp_path / "geo-gb.csv"
    gb.write_bytes(csv_text(GEO_HEADER, geography_rows(1, 1, 2)).encode("gb18030"))
    assert runner.invoke(args=["geography", "import", str(gb)]).exit_code == 0
    header = "district_code,district_name,street_code,street_name,community_code,community_name"
    book = tmp_path / "geo.xlsx"
    rows = geography_rows(1, 2, 2)
    rows[0][4] = 101  # Excel keeps a numeric code as a number: read back as "101"
    book.write_bytes(xlsx(header.split(","), rows))
    result = runner.invoke(args=["geography", "import", str(book)])
    assert result.exit_code == 0, result.output
    assert session.exec(select(Community).where(Community.code == "101")).first() is not None
    assert session.exec(select(Community).where(Community.name == "社区1-1-1")).first()


def test_bad_rows_name_row_and_column_and_change_nothing(runner, session, tmp_path):
    rows = geography_rows(1, 1, 3)
    rows[1][4] = ""  # line 3: empty community code
    rows[2][3] = "另一个名字"  # line 4: street S0101 named differently than on line 2
    rows.append(list(rows[0]))  # line 5: community repeated
    rows.append(["D01", "第1区", "S0101", "第1区第1街道", "C" + "9" * 40, "长编码"])  # line 6
    path = tmp_path / "bad.csv"
    path.write_text(csv_text(GEO_HEADER, rows), encoding="utf-8")
    result = runner.invoke(args=["geography", "import", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    out = result.output
    assert "第 3 行,社区编码 列:不能为空" in out
    assert "第 4 行,街道编码 列:与第 2 行名称或所属单位不一致" in out
    assert "第 5 行,社区编码 列:与第 2 行重复" in out
    assert "第 6 行,社区编码 列:长度 41 超过上限 32 个字符" in out
    assert _counts(session) == (0, 0, 0)
    missing = tmp_path / "missing.csv"
    missing.write_text("区县编码,区县名称\nD1,x\n", encoding="utf-8")
    result = runner.invoke(args=["geography", "import", str(missing)])
    assert result.exit_code != 0 and "街道编码 列:缺少此列" in result.output


def test_admin_tree_page_imports_renames_adds_and_deactivates(client, session):
    admin = make_user(session, "admin")
    login(client, admin)
    data = xlsx(GEO_HEADER, geography_rows(1, 1, 2))
    r = client.post(
        "/admin/geography/import",
        data={"file": (__import__("io").BytesIO(data), "geo.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get("/admin/geography").get_data(as_text=True)
    assert "社区1-1-1" in page and "第1区第1街道" in page
    community = session.exec(select(Community).where(Community.code == "C010101")).one()
    r = client.post(f"/admin/geography/community/{community.id}/rename", data={"name": "桃园社区"})
    assert r.status_code == 302
    r = client.post(f"/admin/geography/community/{community.id}/deactivate")
    assert r.status_code == 302
    session.expire_all()
    community = session.get(Community, community.id)
    assert community.name == "桃园社区" and community.active is False
    r = client.post(
        "/admin/geography/add",
        data={"level": "community", "code": "C010199", "name": "新建社区", "parent_code": "S0101"},
    )
    assert r.status_code == 302
    assert session.exec(select(Community).where(Community.code == "C010199")).one()
    r = client.post(
        "/admin/geography/add",
        data={"level": "community", "code": "C010198", "name": "x", "parent_code": "NOPE"},
    )
    assert r.status_code == 400 and "找不到上级单位编码" in r.get_data(as_text=True)
    assert client.post("/admin/geography/planet/1/rename", data={"name": "x"}).status_code == 404
    bad = client.post(
        "/admin/geography/import",
        data={"file": (__import__("io").BytesIO(b"\xff\xfe garbage"), "geo.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
