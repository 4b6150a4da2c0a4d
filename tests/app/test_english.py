"""In English mode no page shows untranslated Chinese interface text.

Data stays as entered (community, street and wave names, residents' requests, codes): those
strings are read from the database and removed before looking for Chinese characters, so
whatever Chinese remains is interface text that misses its English.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlmodel import select

from survey_app.models import (
    Building,
    Community,
    District,
    FeedbackEvent,
    FeedbackItem,
    Role,
    Street,
    Wave,
)

from .factories import login, make_user
from .results_data import build_city

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]+")


class _Text(HTMLParser):
    """Visible text and the attributes people read (title, aria-label, placeholder, alt)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "aria-label", "placeholder", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def untranslated(html: str, data: list[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = "\n".join(parser.parts)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return sorted(set(CJK.findall(text)) - {"中文"})  # the language switch names itself


def data_strings(session) -> list[str]:
    out = []
    for model, fields in [
        (Community, ("name",)),
        (Street, ("name",)),
        (District, ("name",)),
        (Wave, ("name",)),
        (Building, ("code",)),
        (FeedbackItem, ("text", "assignee")),
        (FeedbackEvent, ("note", "who")),
    ]:
        for row in session.exec(select(model)).all():
            out += [str(getattr(row, f)) for f in fields if getattr(row, f, None)]
    return out


@pytest.fixture
def city(session, app):
    return build_city(session, app.extensions["instruments"]["household"])


def english(client):
    assert client.get("/lang/en").status_code in (200, 302)


@pytest.mark.parametrize(
    "role, paths",
    [
        (Role.SECRETARY, ["/results/community/{community}"]),
        (Role.ANALYST, ["/results/overview", "/results/community/{community}",
                        "/results/plan/"]),
    ],
)  # fmt: skip
def test_english_pages_show_no_untranslated_chinese(client, session, city, role, paths):
    community = city.communities[0]
    login(client, make_user(session, role, community if role == Role.SECRETARY else None))
    english(client)
    data = data_strings(session)
    for path in paths:
        page = client.get(path.format(community=community.id))
        assert page.status_code == 200, path
        left = untranslated(page.get_data(as_text=True), data)
        assert not left, f"{path} in English shows untranslated Chinese: {left}"


def test_the_check_finds_untranslated_text():
    html = "<p>Satisfaction 97.4%</p><p title='待定'>桃园社区</p><script>var a='中文'</script>"
    assert untranslated(html, ["桃园社区"]) == ["待定"]
