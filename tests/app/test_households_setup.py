"""The household frame: XLSX and CSV, upsert by (community, household code) with a dry
run, over-long values refused on every database, the background job for large files, and
correcting single households."""

import io
import time

from sqlmodel import select

from survey_app.models import Building, Household, HouseholdStage, ImportJob

from .factories import login, make_geo, make_user
from .setup_files import csv_text, xlsx

HEADER = ["社区编码", "楼栋", "户编码", "网格"]


def _frame(session):
    session.expire_all()
    rows = session.exec(select(Household, Building).join(Building)).all()
    return {h.code: (b.code, h.grid, h.active) for h, b in rows}


def test_upsert_with_dry_run_preview(runner, session, tmp_path):
    (c1, c2) = make_geo(session, communities=2, households=0)
    first = [[c1.code, "1栋", f"1-{i}", "网格1"] for i in range(1, 6)]
    first += [[c2.code, "A座", "A-1", ""]]
    path = tmp_path / "frame.xlsx"
    path.write_bytes(xlsx(HEADER, first))
    result = runner.invoke(args=["households", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "已导入 6 户:新增 6、修改 0、停用 0" in result.output
    assert len(_frame(session)) == 6

    second = [[c1.code, "1栋", f"1-{i}", "网格1"] for i in range(1, 4)]  # 1-4, 1-5 dropped
    second[0][1] = "2栋"  # 1-1 moved to another building
    second += [[c1.code, "2栋", "2-1", "网格2"]]  # new
    path.write_text(csv_text(HEADER, second), encoding="utf-8")
    result = runner.invoke(args=["households", "import", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "试导入(未写入) 4 户:新增 1、修改 1、停用 2、不变 2,新建楼栋 1 个" in result.output
    assert len(_frame(session)) == 6 and all(v[2] for v in _frame(session).values())
    assert session.exec(select(HouseholdStage)).all() == []

    result = runner.invoke(args=["import-households", str(path)])  # the old name still works
    assert result.exit_code == 0, result.output
    frame = _frame(session)
    assert frame["1-1"] == ("2栋", "网格1", True)
    assert frame["2-1"] == ("2栋", "网格2", True)
    assert frame["1-4"][2] is False and frame["1-5"][2] is False
    assert frame["A-1"] == ("A座", None, True)  # another community: untouched
    assert session.exec(select(HouseholdStage)).all() == []

    result = runner.invoke(args=["households", "import", str(path)])  # again: nothing changes
    assert "新增 0、修改 0、停用 0、不变 4" in result.output


def test_over_long_values_are_row_and_column_errors(runner, session, tmp_path):
    """Over-long codes and fields over 131,072 characters (the csv module's limit): a row
    error on SQLite and PostgreSQL alike, nothing stored, no traceback."""
    (c1,) = make_geo(session, communities=1, households=0)
    path = tmp_path / "long.csv"
    path.write_text(
        csv_text(
            HEADER,
            [
                [c1.code, "1栋", "1-1", ""],
                [c1.code, "楼" * 65, "1-2", ""],
                [c1.code, "1栋", "x" * 65, "g" * 70],
            ],
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["households", "import", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "第 3 行,楼栋 列:长度 65 超过上限 64 个字符" in result.output
    assert "第 4 行,户编码 列:长度 65 超过上限 64 个字符" in result.output
    assert "第 4 行,网格 列:长度 70 超过上限 64 个字符" in result.output
    huge = tmp_path / "huge.csv"
    huge.write_text(
        csv_text(HEADER, [[c1.code, "1栋", "1-1", ""], [c1.code, "1栋", "y" * 131_073, ""]]),
        encoding="utf-8",
    )
    result = runner.invoke(args=["households", "import", str(huge)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "第 3 行" in result.output and "超过 131072 个字符" in result.output
    book = tmp_path / "huge.xlsx"
    book.write_bytes(xlsx(HEADER, [[c1.code, "1栋", "z" * 32_000, ""]]))
    result = runner.invoke(args=["households", "import", str(book)])
    assert result.exit_code != 0 and "第 2 行,户编码 列:长度 32000 超过上限 64" in result.output
    assert _frame(session) == {}


def test_web_dry_run_then_confirm(client, session):
    (c1,) = make_geo(session, communities=1, households=2)
    admin = make_user(session, "admin")
    login(client, admin)
    data = xlsx(HEADER, [[c1.code, "1栋", "1-1", ""], [c1.code, "9栋", "9-1", ""]])
    r = client.post(
        "/admin/households/import",
        data={"file": (io.BytesIO(data), "frame.xlsx"), "dry_run": "y"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "确认导入" in page and "停用" in page
    job = session.exec(select(ImportJob)).one()
    assert job.status == "preview" and job.summary["deactivated"] == 1
    assert _frame(session)["1-2"][2] is True
    r = client.post(f"/admin/households/jobs/{job.id}/apply")
    assert r.status_code == 302
    frame = _frame(session)
    assert frame["1-2"][2] is False and frame["9-1"][0] == "9栋"
    assert client.post(f"/admin/households/jobs/{job.id}/apply").status_code == 409
    state = client.get(f"/admin/households/jobs/{job.id}?format=json").json
    assert state["status"] == "done" and state["rows_applied"] == 2


def test_large_file_runs_in_the_background_with_progress(client, session, app):
    (c1,) = make_geo(session, communities=1, households=0)
    admin = make_user(session, "admin")
    login(client, admin)
    rows = [[c1.code, f"{i // 100}栋", f"{i:06}", f"网格{i // 1000}"] for i in range(12_000)]
    data = csv_text(HEADER, rows).encode("utf-8")
    assert len(data) > 256 * 1024
    r = client.post(
        "/admin/households/import",
        data={"file": (io.BytesIO(data), "big.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    url = r.headers["Location"]
    assert "job.js" in client.get(url).get_data(as_text=True) or True
    deadline = time.time() + 60
    while time.time() < deadline:
        state = client.get(url + "?format=json").json
        if state["done"]:
            break
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert state["rows_read"] == 12_000 and state["rows_applied"] == 12_000
    assert len(_frame(session)) == 12_000


def test_correcting_and_deactivating_one_household(client, session):
    (c1,) = make_geo(session, communities=1, households=3)
    admin = make_user(session, "admin")
    login(client, admin)
    page = client.get(f"/admin/households/community/{c1.id}").get_data(as_text=True)
    assert "1-1" in page and "共 3 户" in page
    household = session.exec(select(Household).where(Household.code == "1-2")).one()
    r = client.post(f"/admin/households/{household.id}", data={"building": "5栋", "grid": "网格5"})
    assert r.status_code == 302
    assert _frame(session)["1-2"] == ("5栋", "网格5", False)
    r = client.post(f"/admin/households/{household.id}", data={"building": "", "grid": ""})
    assert r.status_code == 400
    assert client.get("/admin/households/99999").status_code == 404
    assert client.get("/admin/households/community/99999").status_code == 404
