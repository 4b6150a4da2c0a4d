"""Result pages in a browser, per role, on the seeded demo city: the secretary's page and
its closed loop, the analyst's overview and workspace (raking to uploaded margins,
exports), admins, and what each role may not see. Screenshots: results-*.png."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlmodel import select

from survey_app.models import Community

from .conftest import shot, sign_in

PHONE = {"width": 390, "height": 844}


def community_ids(live_server) -> dict[str, int]:
    with live_server.session() as s:
        return {c.code: c.id for c in s.exec(select(Community)).all()}


def charts_drawn(page) -> int:
    page.wait_for_selector(".chart[data-ready='1']")
    return page.locator(".chart[data-ready='1'] svg").count()


def test_secretary_sees_their_community_and_moves_a_request(page, live_server):
    ids = community_ids(live_server)
    sign_in(page, live_server.url, "secretary")
    assert page.url.endswith(f"/results/community/{ids['C0101']}")
    assert page.locator("h1").inner_text() == "桃园社区"
    rates = page.locator(".rate")
    assert rates.count() == 3
    words = page.locator(".rate-words").all_inner_texts()
    assert all("99%" in w for w in words), words  # the headline, in one plain sentence
    details = page.locator(".rate-detail").all_inner_texts()
    assert all("置信区间" in d for d in details), details  # the interval on a detail line
    assert "知晓率" in words[0] and "支持率" in words[1] and "满意率" in words[2]
    assert charts_drawn(page) == 3  # rates, trend, areas
    assert page.locator("#progress").get_by_text("应答率 = 完成问卷户数").count() == 1
    assert page.locator("#trend tbody tr").count() == 3  # three waves
    assert page.locator("#areas li").count() == 9
    assert page.locator("#method").count() == 1
    shot(page, "results-secretary-community")

    item = page.locator(".fb:has(form)").first
    item_id = item.get_attribute("id")
    button = item.locator("button[type=submit]")
    step = button.inner_text().split("“")[1].rstrip("”")  # 标记为“交办” -> 交办
    if item.locator("input[name=assignee]").count():
        item.locator("input[name=assignee]").fill("网格员老张")
    item.locator("textarea[name=note]").fill("已交网格员上门了解")
    button.click()
    page.wait_for_load_state("networkidle")
    moved = page.locator(f"#{item_id}")
    assert moved.locator(".badge.step").inner_text() == step
    assert "已交网格员上门了解" in moved.inner_text() and "桃园社区书记" in moved.inner_text()
    shot(page, "results-secretary-feedback-moved")

    for other in ("C0102", "C0201"):
        response = page.goto(f"{live_server.url}/results/community/{ids[other]}")
        assert response.status == 404
    shot(page, "results-secretary-other-community-404")
    assert page.goto(f"{live_server.url}/results/overview").status == 403
    assert page.goto(f"{live_server.url}/analysis/").status == 403


def test_secretary_page_on_a_phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "secretary2")
        assert page.locator("h1").inner_text() == "枫桥社区"
        assert charts_drawn(page) == 3
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow
        shot(page, "results-secretary-phone")
        page.emulate_media(media="print")
        shot(page, "results-secretary-print")
    finally:
        context.close()


def test_analyst_overview_ranks_communities_with_intervals(page, live_server):
    sign_in(page, live_server.url, "analyst")
    page.goto(f"{live_server.url}/results/overview")
    rows = page.locator("#ranking-table tbody tr")
    assert rows.count() == 6
    assert charts_drawn(page) == 1
    assert "全市" in page.locator("#totals").inner_text()
    shot(page, "results-analyst-overview")
    page.select_option("select[name=street]", label="西山街道")
    page.select_option("select[name=indicator]", value="awareness")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    names = page.locator("#ranking-table tbody tr td:nth-child(2)").all_inner_texts()
    assert sorted(names) == sorted(["枫桥社区", "松涛社区", "竹溪社区"])
    assert "知晓率" in page.locator("#ranking h2").inner_text()
    shot(page, "results-analyst-overview-street")


def test_analyst_rakes_to_uploaded_margins_and_exports(page, live_server):
    sign_in(page, live_server.url, "analyst")
    ids = community_ids(live_server)
    lines = ["community,variable,category,count"]
    for code in ids:
        lines += [f"{code},age_group,a16_29,30", f"{code},age_group,a30_44,40"]
        lines += [f"{code},age_group,a45_59,40", f"{code},age_group,a60_plus,50"]
        lines += [f"{code},sex,male,78", f"{code},sex,female,82"]
    page.goto(f"{live_server.url}/analysis/")
    page.set_input_files(
        "#margins input[type=file]",
        files=[
            {"name": "margins.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}
        ],
    )
    page.click("#margins button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已保存 36 条人口边际" in page.locator(".flash").inner_text()

    page.check("input[name=weighting][value=rake]")
    page.check("input[name=indicators][value=satisfaction_dog_keeping]")
    page.click("#estimate-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    deff_w = float(page.locator(".deff-w").inner_text())
    assert deff_w >= 1.0
    assert "已收敛" in page.locator("#weights").inner_text()
    assert page.locator("#estimates-table tbody tr").count() == 4 * 7
    shot(page, "results-analyst-raking")

    with page.expect_download() as download:
        page.click("#export-xlsx")
    wb = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    method = dict(wb["方法说明"].iter_rows(min_row=2, values_only=True))
    assert method["加权"].startswith("迭代比例加权") and f"{deff_w:.3f}" in method["权数离散程度"]

    with page.expect_download() as raw:
        page.click("#raw-csv")
    header = raw.value.path().read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert "community" in header and not [h for h in header if "user" in h or "device" in h]


def test_admin_sees_any_community_and_the_overview(page, live_server):
    ids = community_ids(live_server)
    sign_in(page, live_server.url, "admin")
    assert page.goto(f"{live_server.url}/results/community/{ids['C0203']}").status == 200
    assert page.locator("h1").inner_text() == "竹溪社区"
    assert page.goto(f"{live_server.url}/results/overview").status == 200
    shot(page, "results-admin-overview")
