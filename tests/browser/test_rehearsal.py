"""Rehearsing a wave in a browser (issue 15.4) and the trend in words (issue 15.2).

1. At 1280×800 an analyst generates 40 test interviews on the demo's open wave through the
   wave page's 演练 card, follows its links to the rehearsal view (``?rehearsal=1``) of
   the overview and of a community's secretary page — bannered 演练视图, figures with the
   test interviews — goes back to the real results (figures as before: no test data),
   and removes the test data (count back to 0). The bannered secretary page is also
   checked at 390×844.
2. After the demo's current wave is closed through the product's close service (the demo
   seeds two closed waves before it: three closed waves), the secretary page says the
   trend over them in words, readable and not cut off at 390×844 and 1280×800.

The tests run in file order on one module-scoped server (the second closes the wave the
first rehearses on). Pages must log no console error and break no Content-Security-Policy.
Screenshots: test-artifacts/screenshots/rehearsal-*."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

import instruments
from survey_app.models import Community, Response, Wave, WaveStatus

from .conftest import CSP_REPORTER, SHOTS, shot, sign_in

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
COUNT = 40
COMMUNITY = "C0101"  # 桃园社区, the demo secretary's


class Watched:
    """A browser context at ``viewport`` whose pages' console errors, uncaught exceptions
    and CSP violations are collected (``problems``)."""

    def __init__(self, browser, viewport):
        self.context = browser.new_context(viewport=viewport, locale="zh-CN", has_touch=True)
        self.context.add_init_script(CSP_REPORTER)
        self.problems: list[str] = []
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"{self.page.url}: {err}"))

    def _console(self, message):
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"{self.page.url}: {message.type}: {message.text}")

    def close(self):
        self.context.close()
        assert not self.problems, "console errors / CSP violations:\n" + "\n".join(self.problems)


def _demo_wave(live_server) -> Wave:
    with live_server.session() as s:
        return s.exec(
            select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.id.desc())
        ).first()


def _counted_test_interviews(live_server, wave_id: int, community_id: int | None = None):
    """How many of the wave's test interviews answer 满意率 (city-wide or in one
    community): what the rehearsal view's 满意率 n must add."""
    with live_server.app.app_context(), live_server.session() as s:
        from survey_app.instrument_registry import get_instrument

        stmt = select(Response).where(Response.wave_id == wave_id, Response.is_test)
        if community_id is not None:
            stmt = stmt.where(Response.community_id == community_id)
        n = 0
        for r in s.exec(stmt).all():
            instrument = get_instrument(r.instrument_key, r.instrument_version)
            if instruments.indicator_values(instrument, r.answers)["satisfaction"] is not None:
                n += 1
        return n


def _test_interviews(live_server, community_id: int) -> int:
    with live_server.session() as s:
        return len(
            s.exec(
                select(Response.id).where(Response.is_test, Response.community_id == community_id)
            ).all()
        )


def _counted(page) -> int:
    """The page's «本页数字计入问卷 N 份»."""
    note = page.locator("#excluded-note")
    counted = int(note.get_attribute("data-counted"))
    assert f"本页数字计入问卷 {counted} 份" in note.inner_text()
    return counted


def _city_n(page) -> int:
    return int(page.locator("#totals tr[data-scope=city] td.num").first.inner_text())


def _satisfaction_n(page) -> int:
    text = page.locator(".rate[data-indicator=satisfaction]").inner_text()
    return int(re.search(r"完成问卷 (\d+) 份", text).group(1))


def _fits_width(page) -> bool:
    return page.evaluate(
        """() => document.documentElement.scrollWidth <= window.innerWidth
                 && document.body.scrollWidth <= window.innerWidth"""
    )


def test_analyst_rehearses_a_wave_and_removes_the_test_data(browser, live_server):
    wave = _demo_wave(live_server)
    with live_server.session() as s:
        community = s.exec(select(Community).where(Community.code == COMMUNITY)).one()
    base = live_server.url
    laptop = Watched(browser, LAPTOP)
    page = laptop.page
    sign_in(page, base, "analyst")

    # The real figures, before any rehearsal.
    page.goto(f"{base}/results/overview?wave={wave.id}")
    page.wait_for_selector(".chart[data-ready='1']")
    real_city = _city_n(page)
    real_counted = _counted(page)
    real_overview = page.locator("#ranking-table tbody").inner_text()
    page.goto(f"{base}/results/community/{community.id}?wave={wave.id}")
    page.wait_for_selector(".chart[data-ready='1']")
    real_community = _satisfaction_n(page)
    real_counted_here = _counted(page)
    real_rates = page.locator("#rates .rates").inner_text()
    assert real_city > 0 and real_community > 0

    page.goto(f"{base}/fieldwork/waves/{wave.id}")
    card = page.locator("#rehearsal")
    assert "本轮现有测试问卷 0 份。" in card.inner_text()
    assert page.locator("#rehearsal-overview").count() == 0
    page.fill("#rehearse-count", str(COUNT))
    shot(page, "rehearsal-01-wave-card")
    page.click("#do-rehearse")
    page.wait_for_selector(".flash")
    assert f"已生成 {COUNT} 份测试问卷" in page.locator(".flash").inner_text()
    assert f"本轮现有测试问卷 {COUNT} 份。" in page.locator("#test-data-count").inner_text()
    shot(page, "rehearsal-02-generated")

    added_city = _counted_test_interviews(live_server, wave.id)
    added_community = _counted_test_interviews(live_server, wave.id, community.id)
    assert 0 < added_city <= COUNT

    # The rehearsal view of the overview: bannered, the test interviews counted.
    page.click("#rehearsal-overview")
    page.wait_for_selector(".chart[data-ready='1']")
    assert "rehearsal=1" in page.url
    banner = page.locator("#rehearsal-banner")
    assert banner.is_visible()
    assert f"演练视图:本页数字包含本轮 {COUNT} 份测试问卷" in banner.inner_text()
    assert _city_n(page) == real_city + added_city
    # «本页数字计入问卷 N 份» counts them too (every test interview is shown: none of
    # their households has been reached by fieldwork).
    assert _counted(page) == real_counted + COUNT
    shot(page, "rehearsal-03-overview-rehearsal")

    # The rehearsal view of the secretary page, from the card's community link.
    page.goto(f"{base}/fieldwork/waves/{wave.id}")
    page.locator("#rehearsal a", has_text=community.name).click()
    page.wait_for_selector(".chart[data-ready='1']")
    assert "rehearsal=1" in page.url
    assert f"{COUNT} 份测试问卷" in page.locator("#rehearsal-banner").inner_text()
    assert _satisfaction_n(page) == real_community + added_community
    assert _counted(page) == real_counted_here + _test_interviews(live_server, community.id)
    shot(page, "rehearsal-04-secretary-page-rehearsal")
    rehearsal_url = page.url

    # The same page on a phone: the banner is shown whole.
    phone = Watched(browser, PHONE)
    sign_in(phone.page, base, "analyst")
    phone.page.goto(rehearsal_url)
    phone.page.wait_for_selector(".chart[data-ready='1']")
    assert phone.page.locator("#rehearsal-banner").is_visible()
    assert _fits_width(phone.page)
    assert _satisfaction_n(phone.page) == real_community + added_community
    shot(phone.page, "rehearsal-05-secretary-page-rehearsal-390")
    phone.close()

    # Back to the real results: no banner, the figures as before.
    page.locator("#rehearsal-banner a").click()
    page.wait_for_selector(".chart[data-ready='1']")
    assert "rehearsal" not in page.url
    assert page.locator("#rehearsal-banner").count() == 0
    assert _satisfaction_n(page) == real_community
    assert page.locator("#rates .rates").inner_text() == real_rates
    page.goto(f"{base}/results/overview?wave={wave.id}")
    page.wait_for_selector(".chart[data-ready='1']")
    assert page.locator("#rehearsal-banner").count() == 0
    assert _city_n(page) == real_city
    assert page.locator("#ranking-table tbody").inner_text() == real_overview
    assert _counted(page) == real_counted
    shot(page, "rehearsal-06-real-results")

    # Remove the test data (the button asks first).
    page.goto(f"{base}/fieldwork/waves/{wave.id}")
    page.once("dialog", lambda d: d.accept())
    page.click("#do-remove-test")
    page.wait_for_selector(".flash")
    assert f"已删除 {COUNT} 份测试问卷" in page.locator(".flash").inner_text()
    assert "本轮现有测试问卷 0 份。" in page.locator("#test-data-count").inner_text()
    assert page.locator("#rehearsal-overview").count() == 0
    assert _counted_test_interviews(live_server, wave.id) == 0
    shot(page, "rehearsal-07-removed")
    page.goto(f"{base}/results/overview?wave={wave.id}")
    page.wait_for_selector(".chart[data-ready='1']")
    assert _city_n(page) == real_city
    laptop.close()


TREND = re.compile(
    r"(\d+) 轮已结束的测评以来,满意率"
    r"(呈上升趋势\(趋势显著,平均每轮约上升 \d+\.\d 个百分点\)"
    r"|呈下降趋势\(趋势显著,平均每轮约下降 \d+\.\d 个百分点\)"
    r"|没有明显的上升或下降趋势\(起伏可能是抽样波动\))。"
)


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390", "1280"])
def test_secretary_page_says_the_trend_over_three_closed_waves(browser, live_server, viewport):
    with live_server.app.app_context(), live_server.session() as s:
        from survey_app.fieldwork import plan

        current = s.exec(select(Wave).where(Wave.status == WaveStatus.OPEN)).all()
        for wave in current:  # the demo's current wave: closed as 创文办 would close it
            plan.close_wave(session=s, wave=wave)
        closed = s.exec(select(Wave).where(Wave.status == WaveStatus.CLOSED)).all()
        latest = max(closed, key=lambda w: w.starts_on)
    assert len(closed) >= 3

    watched = Watched(browser, viewport)
    page = watched.page
    sign_in(page, live_server.url, "secretary")
    page.goto(f"{live_server.url}/results/")
    page.wait_for_selector(".chart[data-ready='1']")
    # The secretary picks the wave just closed (with no open wave the page opens on the
    # wave created last, which in the demo is not the latest by date).
    page.select_option(".wave-pick select[name=wave]", str(latest.id))
    page.wait_for_url(re.compile(rf"wave={latest.id}"))
    page.wait_for_selector(".chart[data-ready='1']")
    line = page.locator("#trend-tests li[data-indicator=satisfaction]")
    line.scroll_into_view_if_needed()
    assert line.is_visible()
    words = line.inner_text().strip()
    found = TREND.fullmatch(words)
    assert found, words
    assert int(found.group(1)) == len(closed)
    # Not cut off: the page has no horizontal scroll, and each line is inside the viewport
    # and wraps within its box.
    assert _fits_width(page)
    width = page.evaluate("window.innerWidth")
    for item in page.locator("#trend-tests li").all():
        box = item.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert item.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    shot(page, f"rehearsal-08-trend-{viewport['width']}")
    page.locator("#trend").screenshot(
        path=str(SHOTS / f"rehearsal-09-trend-card-{viewport['width']}.png")
    )
    watched.close()
