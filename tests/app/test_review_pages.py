"""The supervision pages: queue, interview, actions, quality, back-checks, settings."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_app.models import Community, Response, ReviewEvent

from .canvass_factories import (
    SATISFACTION_ITEMS,
    assignments_of,
    complete_answers,
    make_fieldwork,
    response_payload,
)
from .factories import login, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def field(session, app, client):
    wave, (me, other) = make_fieldwork(session, app)
    login(client, me)
    a1, a2, a3 = assignments_of(session, me)
    neutral = complete_answers(**{n: "neutral" for n in SATISFACTION_ITEMS})
    ids = [
        client.post("/api/responses", json=response_payload(a1.id)).json["id"],
        client.post("/api/responses", json=response_payload(a2.id, answers=neutral)).json["id"],
    ]
    login(client, other)
    a = assignments_of(session, other)[0]
    ids.append(client.post("/api/responses", json=response_payload(a.id)).json["id"])
    client.post("/logout")
    community = session.get(Community, session.get(Response, ids[0]).community_id)
    supervisor = make_user(session, "supervisor", community)
    return wave, me, other, supervisor, ids


def test_queue_lists_scope_flagged_first_and_filters(client, session, field):
    wave, me, other, supervisor, ids = field
    login(client, supervisor)
    page = client.get("/review/").get_data(as_text=True)
    # the straight-lined interview first; the other community's interview not at all
    assert page.index(f'data-id="{ids[1]}"') < page.index(f'data-id="{ids[0]}"')
    assert f'data-id="{ids[2]}"' not in page
    flagged = client.get(f"/review/?wave={wave.id}&flag=straight_line").get_data(as_text=True)
    assert f'data-id="{ids[1]}"' in flagged and f'data-id="{ids[0]}"' not in flagged
    assert client.get("/review/?state=nope").status_code == 400
    assert client.get("/review/?flag=nope").status_code == 400
    assert client.get("/review/?community=x").status_code == 400


def test_interview_page_shows_answers_as_asked(client, session, field):
    wave, me, other, supervisor, ids = field
    login(client, supervisor)
    page = client.get(f"/review/interviews/{ids[0]}").get_data(as_text=True)
    assert "总的来说,您对我市创建全国文明城市工作的成效满意吗?" in page.replace("，", ",").replace(
        "？", "?"
    )
    assert "满意" in page and "30–44岁" in page  # choice labels, not codes
    assert 'data-item="not_eligible"' not in page  # skipped by the skip logic
    assert "Mozilla/5.0 (test tablet)" in page  # paradata: the device
    assert client.get(f"/review/interviews/{ids[2]}").status_code == 404  # out of scope


def test_reject_with_a_comment_per_question_and_refusals(client, session, field):
    wave, me, other, supervisor, ids = field
    login(client, supervisor)
    r = client.post(f"/review/interviews/{ids[1]}", data={"action": "reject"})
    assert r.status_code == 303  # refused: no reason; the page says why
    assert session.get(Response, ids[1]).review_state == "pending"
    r = client.post(f"/review/interviews/{ids[1]}",
                    data={"action": "reject", "c_sat_overall": "十题全选一般,请核实"})  # fmt: skip
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Response, ids[1]).review_state == "rejected"
    event = session.exec(select(ReviewEvent)).one()
    assert event.item_comments == {"sat_overall": "十题全选一般,请核实"}
    page = client.get(f"/review/interviews/{ids[1]}", follow_redirects=True).get_data(as_text=True)
    assert "十题全选一般,请核实" in page
    client.post("/logout")
    login(client, me)
    assert client.get("/review/").status_code == 403
    assert (
        client.post(f"/review/interviews/{ids[0]}", data={"action": "approve"}).status_code == 403
    )


def test_quality_backchecks_and_settings_pages(client, session, field):
    wave, me, other, supervisor, ids = field
    analyst = make_user(session, "analyst")
    login(client, analyst)
    page = client.get(f"/review/quality?wave={wave.id}").get_data(as_text=True)
    assert f'data-canvasser="{me.id}"' in page and f'data-canvasser="{other.id}"' in page
    r = client.post(f"/review/backchecks/draw?wave={wave.id}", data={"share": "50", "seed": "3"})
    assert r.status_code == 303
    page = client.get(f"/review/backchecks?wave={wave.id}").get_data(as_text=True)
    assert page.count("data-check=") == 2  # ceil(50% of 2) + ceil(50% of 1)
    assert (
        client.post(f"/review/backchecks/draw?wave={wave.id}", data={"share": "x"}).status_code
        == 303
    )
    r = client.post(
        f"/review/settings?wave={wave.id}", data={"counts": "approved", "burst_per_hour": "4"}
    )
    assert r.status_code == 303
    page = client.get(f"/review/?wave={wave.id}").get_data(as_text=True)
    assert "待审核的问卷 3 份不计入" in page
    r = client.post(f"/review/settings?wave={wave.id}", data={"counts": "approved", "far_metres": "far"},
                    follow_redirects=True)  # fmt: skip
    assert "无效" in r.get_data(as_text=True)
    client.post("/logout")
    login(client, supervisor)
    assert client.get(f"/review/settings?wave={wave.id}").status_code == 403
