"""Questionnaires: publish from the command line and the admin pages; versions served side
by side; an edited file under a published version refused; the validator's problems; the
tablet preview."""

import io

from sqlmodel import select

import instruments
from survey_app.models import InstrumentVersion

from .factories import login, make_user

SOURCE = (instruments.FORMS_DIR / "household.yaml").read_text(encoding="utf-8")


def _version(n: int, title: str = "入户模拟问卷") -> str:
    text = SOURCE.replace("\nversion: 1\n", f"\nversion: {n}\n", 1)
    return text.replace("  zh: 入户模拟问卷\n", f"  zh: {title}\n", 1)


def test_cli_publish_two_versions_and_list_them(runner, session, tmp_path, app):
    one, two = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    one.write_text(_version(1), encoding="utf-8")
    two.write_text(_version(2, "入户模拟问卷(第二版)"), encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "publish", str(one)])
    assert result.exit_code == 0 and "已发布:household 第 1 版" in result.output, result.output
    result = runner.invoke(args=["questionnaires", "publish", str(two)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["questionnaires", "publish", str(two)])
    assert again.exit_code == 0 and "已发布过" in again.output
    listing = runner.invoke(args=["questionnaires", "list"])
    assert "v1" in listing.output and "v2" in listing.output and "第二版" in listing.output

    edited = tmp_path / "v2-edited.yaml"
    edited.write_text(_version(2, "偷偷改过"), encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "publish", str(edited)])
    assert result.exit_code != 0 and "已发布,内容不能再改" in result.output
    assert "提高版本号" in result.output

    client = app.test_client()
    canvasser_session_client = client  # the canvass API serves both versions side by side
    from .factories import make_geo

    (c1,) = make_geo(session, communities=1)
    login(canvasser_session_client, make_user(session, "canvasser", c1))
    v1 = client.get("/api/canvass/instrument/household/1")
    v2 = client.get("/api/canvass/instrument/household/2")
    assert v1.status_code == 200 and v2.status_code == 200
    assert (
        v1.json["title"]["zh"] == "入户模拟问卷"
        and v2.json["title"]["zh"] == "入户模拟问卷(第二版)"
    )
    rows = session.exec(select(InstrumentVersion).order_by(InstrumentVersion.version)).all()
    assert [r.version for r in rows] == ["1", "2"] and rows[1].source == _version(
        2, "入户模拟问卷(第二版)"
    )


def test_cli_publish_reports_problems_with_file_and_line(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: x\nversion: 1\ntitle: {zh: 坏}\nitems:\n  - {name: q1, type: banana}\n")
    result = runner.invoke(args=["questionnaires", "publish", str(bad)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "bad.yaml:5" in result.output and "未发布" in result.output
    missing = runner.invoke(args=["questionnaires", "publish", str(tmp_path / "nope.yaml")])
    assert missing.exit_code != 0 and "无法读取" in missing.output


def test_admin_uploads_previews_and_publishes(client, session):
    admin = make_user(session, "admin")
    login(client, admin)
    r = client.post(
        "/admin/questionnaires/upload",
        data={"file": (io.BytesIO(b"key: x\nversion: 1\nitems: 3\n"), "broken.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "broken.yaml" in r.get_data(as_text=True)
    r = client.post(
        "/admin/questionnaires/upload",
        data={"file": (io.BytesIO(_version(3).encode()), "household-v3.yaml")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    draft_url = r.headers["Location"]
    page = client.get(draft_url).get_data(as_text=True)
    assert "检查通过" in page and "发布第 3 版" in page
    preview = client.get(draft_url + "/preview").get_data(as_text=True)
    assert "canvass-config" in preview and '"preview"' in preview and "app" in preview
    inst = client.get(draft_url + "/instrument.json").json
    assert inst["version"] == 3 and inst["items"]
    r = client.post(draft_url + "/publish")
    assert r.status_code == 302
    row = session.exec(select(InstrumentVersion).where(InstrumentVersion.version == "3")).one()
    assert row.published_by == admin.id
    page = client.get("/admin/questionnaires").get_data(as_text=True)
    assert "household" in page and "/admin/questionnaires/household/3/preview" in page
    assert client.get("/admin/questionnaires/household/3/preview").status_code == 200
    assert client.get("/admin/questionnaires/household/99/preview").status_code == 404
    assert client.get(draft_url).status_code == 404  # the draft is gone once published
    assert client.get("/admin/questionnaires/drafts/..%2F..%2Fetc").status_code == 404


def test_db_upgrade_publishes_the_packaged_form(runner, session):
    result = runner.invoke(args=["db-upgrade"])
    assert result.exit_code == 0, result.output
    assert "household v1" in result.output
    assert session.exec(select(InstrumentVersion.key)).all() == ["household"]


def _xlsform(form_id: str = "quick", version: str = "3", bad: bool = False) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["select_one yn" if not bad else "select_one missing", "likes", "您满意吗?"])
    survey.append(["text", "why", "为什么?"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["yn", "yes", "满意"])
    choices.append(["yn", "no", "不满意"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append([form_id, version])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsform_is_uploaded_through_the_importer(client, session, runner, tmp_path):
    admin = make_user(session, "admin")
    login(client, admin)
    r = client.post(
        "/admin/questionnaires/upload",
        data={"file": (io.BytesIO(_xlsform(bad=True)), "quick.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "quick.xlsx" in r.get_data(as_text=True)
    r = client.post(
        "/admin/questionnaires/upload",
        data={"file": (io.BytesIO(_xlsform()), "quick.xlsx"), "key": "", "version": ""},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    assert "发布第 3 版" in client.get(r.headers["Location"]).get_data(as_text=True)
    path = tmp_path / "form.xlsx"
    path.write_bytes(_xlsform())
    result = runner.invoke(
        args=["questionnaires", "publish", str(path), "--key", "quick2", "--version", "5"]
    )
    assert result.exit_code == 0 and "quick2 第 5 版" in result.output, result.output
