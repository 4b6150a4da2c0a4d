"""The app shell in a browser: sign-in per role, language switch, tablet layout."""

from .conftest import shot, sign_in


def test_each_role_signs_in_to_its_page(page, live_server):
    for username, path in [
        ("secretary", "/results/community/"),
        ("analyst", "/analysis/"),
        ("admin", "/admin/"),
        ("canvasser", "/canvass/"),
    ]:
        page.context.clear_cookies()
        sign_in(page, live_server.url, username)
        assert path in page.url, (username, page.url)
        shot(page, f"shell-{username}-start")


def test_language_switch_and_no_horizontal_scroll(page, live_server):
    sign_in(page, live_server.url, "analyst")
    assert page.locator("h1").first.inner_text()
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert "Sign out" in page.content()
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow
    shot(page, "shell-analyst-english")
    page.click("a.lang")  # back to Chinese
    page.wait_for_load_state("networkidle")
    assert "退出" in page.content()
