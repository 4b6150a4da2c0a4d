"""An admin sets up a city from an empty database at 1280×800, from the files a 创文办
fills in (docs/examples/): geography → users → the household frame (previewed, then
confirmed) → a questionnaire uploaded, previewed exactly as the tablet shows it, and
published. Then a new canvasser signs in with a one-time password and must change it.
Screenshots: test-artifacts/screenshots/setup-*."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

import instruments
from survey_app import create_app
from survey_app.config import Settings
from survey_app.models import Community, Household, InstrumentVersion, User
from survey_app.setup import users

from .conftest import LiveServer, shot, sign_in

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
LAPTOP = {"width": 1280, "height": 800}
ADMIN_PASSWORD = "Setup-admin-2026"


@pytest.fixture(scope="module")
def empty_city(databases, tmp_path_factory):
    """A server on an empty database with one admin (what `create-user` makes)."""
    url, drop = databases.new()
    settings = Settings(
        database_url=url,
        secret_key="setup-browser-secret",
        instance_path=tmp_path_factory.mktemp("instance"),
        testing=True,
        csrf_enabled=True,
        log_level="WARNING",
    )
    app = create_app(settings)
    with Session(app.extensions["engine"], expire_on_commit=False) as s:
        users.create_user(session=s, username="cwb.admin", password=ADMIN_PASSWORD, role="admin",
                          display_name="创文办管理员")  # fmt: skip
    server = LiveServer(app)
    yield server
    server.stop()
    drop()


def _upload(page, path: Path, form: str = "form.upload") -> None:
    page.set_input_files(f"{form} input[type=file]", str(path))
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_admin_sets_up_a_city_from_an_empty_database(browser, empty_city, tmp_path):
    base = empty_city.url
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, "cwb.admin", ADMIN_PASSWORD)
    assert "/admin/" in page.url
    assert "演示账号" not in page.content() and "演示数据库" not in page.content()
    shot(page, "setup-01-checklist")

    # 1. Geography.
    page.click("nav.admin-nav >> text=区划")
    with page.expect_download() as template:
        page.click("a[href$='/admin/templates/geography.xlsx']")
    assert template.value.suggested_filename.endswith(".xlsx")
    _upload(page, EXAMPLES / "geography.xlsx")
    assert "新增区县 2 个、街道 4 个、社区 8 个" in page.content()
    shot(page, "setup-02-geography-tree")

    # 2. Users, with one-time passwords downloaded once.
    page.click("nav.admin-nav >> text=用户")
    _upload(page, EXAMPLES / "users.xlsx")
    assert "新建 24 个用户" in page.content()
    shot(page, "setup-03-users-imported")
    with page.expect_download() as download:
        page.click("#download-passwords")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    passwords = {r[0]: r[2] for r in rows[1:]}
    assert len(passwords) == 24
    page.goto(f"{base}/admin/users?role=canvasser")
    assert page.locator("#users-table tbody tr").count() > 0
    shot(page, "setup-04-user-list")

    # 3. The household frame: preview first, then confirm.
    page.click("nav.admin-nav >> text=户台账")
    page.check("input[name=dry_run]")
    _upload(page, EXAMPLES / "households.xlsx")
    page.wait_for_selector("#apply-job")
    assert "新增" in page.content()
    shot(page, "setup-05-households-preview")
    page.click("#apply-job")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("text=已导入")
    shot(page, "setup-06-households-imported")

    # 4. A questionnaire: upload, see it checked, preview it as the tablet shows it, publish.
    source = (instruments.FORMS_DIR / "household.yaml").read_text(encoding="utf-8")
    form = tmp_path / "household-v2.yaml"
    form.write_text(source.replace("\nversion: 1\n", "\nversion: 2\n", 1), encoding="utf-8")
    page.click("nav.admin-nav >> text=问卷")
    page.set_input_files("input[name=file]", str(form))
    page.click("form[action$='/admin/questionnaires/upload'] button[type=submit]")
    page.wait_for_selector("#publish")
    shot(page, "setup-07-questionnaire-checked")
    page.click("#preview-link")
    page.wait_for_selector("html[data-ready='1']")
    page.click("a.household")
    page.click("button[data-start]")
    page.wait_for_selector("section.question")
    shot(page, "setup-08-questionnaire-preview")
    page.go_back()
    page.go_back()
    page.go_back()
    page.wait_for_selector("#publish")
    page.click("#publish")
    page.wait_for_selector("#versions")
    assert "household" in page.locator("#versions").inner_text()
    shot(page, "setup-09-questionnaire-published")

    with empty_city.session() as s:
        assert s.exec(select(func.count()).select_from(Community)).one() == 8
        assert s.exec(select(func.count()).select_from(Household)).one() == 480
        assert s.exec(select(func.count()).select_from(User)).one() == 25
        assert s.exec(select(InstrumentVersion.version)).all() == ["2"]
    context.close()

    # A new canvasser: the one-time password works once, then must be changed.
    tablet = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN")
    page = tablet.new_page()
    name = next(u for u in passwords if u.startswith("diaocha"))
    sign_in(page, base, name, passwords[name])
    assert "/account/password" in page.url
    shot(page, "setup-10-forced-password-change")
    page.fill("input[name=current]", passwords[name])
    page.fill("input[name=new]", "桃园入户走访2026")
    page.fill("input[name=confirm]", "桃园入户走访2026")
    page.click("#change-password button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/canvass/" in page.url
    tablet.close()
