"""Insight pages in a browser (issue 15): the secretary page in plain words with the areas
that most affect 满意率 and the change since the last wave, readable on a phone (390×844)
and a desktop (1280×800), in Chinese and English; the overview on a phone; the analyst's
planning page with its progress bar and result table. Screenshots: insight-*.png."""

from __future__ import annotations

import re

import pytest

from .conftest import shot, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _page(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _fits(page, selector) -> bool:
    """No element matching ``selector`` is wider than its box (nothing cut off)."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].every(
               e => e.scrollWidth <= e.clientWidth + 1)""",
        selector,
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_secretary_page_in_plain_words(browser, live_server, viewport, lang):
    context, page = _page(browser, viewport)
    try:
        sign_in(page, live_server.url, "secretary")
        if lang == "en":
            page.goto(f"{live_server.url}/lang/en")
            page.goto(f"{live_server.url}/results/")
        page.wait_for_selector(".chart[data-ready='1']")
        headlines = page.locator(".rate-words").all_inner_texts()
        assert len(headlines) == 3 and all("99%" in h for h in headlines)
        explained = page.locator(".ci-explained")
        assert explained.count() == 1  # 置信区间 explained once
        changes = page.locator(".rate .change").all_inner_texts()
        pattern = (r"(较上一轮(上升|下降) \d+\.\d 个百分点\((变化显著|可能是抽样波动)\)|与上一轮持平)"
                   if lang == "zh" else
                   r"((Up|Down) \d+\.\d percentage points on the last wave \((a real change|possibly"
                   r" sampling noise)\)|The same as the last wave)")  # fmt: skip
        assert len(changes) == 3 and all(re.fullmatch(pattern, c.strip()) for c in changes), changes
        drivers = page.locator("#drivers")
        heading = "最影响满意率的三个方面" if lang == "zh" else "three areas that most affect"
        assert heading in drivers.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert _fits(page, "#trend .table-wrap")  # the trend table is not cut off
        assert _fits(page, ".rate-label") and _fits(page, ".area-name")
        assert "…" not in page.locator("#areas ol").inner_text()
        size = "390" if viewport is PHONE else "1280"
        shot(page, f"insight-secretary-{size}-{lang}")
    finally:
        context.close()


def test_overview_readable_on_a_phone(browser, live_server):
    context, page = _page(browser, PHONE)
    try:
        sign_in(page, live_server.url, "analyst")
        page.goto(f"{live_server.url}/results/overview")
        page.wait_for_selector(".chart[data-ready='1']")
        width = page.evaluate("window.innerWidth")
        for cell in ("td.estimate", "td.verdict"):
            box = page.locator(f"#ranking-table tbody tr >> nth=0 >> {cell}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (cell, box, width)
        shot(page, "insight-overview-390")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_planning_page_shows_progress_then_the_table(browser, live_server, viewport):
    context, page = _page(browser, viewport)
    try:
        sign_in(page, live_server.url, "analyst")
        page.goto(f"{live_server.url}/results/plan/")
        size = "390" if viewport is PHONE else "1280"
        shot(page, f"insight-plan-form-{size}")
        page.select_option("select[name=design]", "srs")
        page.fill("input[name=n]", "40")
        page.fill("input[name=replicates]", "10000")
        page.click("#plan-form button[type=submit]")
        page.wait_for_selector("#plan-running, #plan-result")
        if page.locator("#plan-running").count():
            assert page.locator("progress#plan-progress").count() == 1
            shot(page, f"insight-plan-progress-{size}")
            # the app stays responsive while the simulation runs
            reply = page.request.get(f"{live_server.url}/results/overview")
            assert reply.ok
        page.wait_for_selector("#plan-result", timeout=120_000)
        rows = page.locator("#plan-table tbody tr")
        assert rows.count() == 6
        first = rows.nth(0).locator("td").all_inner_texts()
        assert all(t.strip() for t in first)
        assert "%" in page.locator("#plan-summary").inner_text()
        shot(page, f"insight-plan-result-{size}")
    finally:
        context.close()
