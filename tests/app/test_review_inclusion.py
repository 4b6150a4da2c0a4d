"""Which interviews count: the wave's rule changes the result pages' figures as stated."""

from __future__ import annotations

import re

import pytest

from survey_app.fieldwork import review

from .canvass_factories import assignments_of, make_fieldwork, response_payload
from .factories import login, make_user

pytestmark = pytest.mark.db


def figures(client, community_id, wave_id) -> dict:
    page = client.get(f"/results/community/{community_id}?wave={wave_id}").get_data(as_text=True)
    note = re.search(r'data-counted="(\d+)" data-rejected="(\d+)" data-pending="(\d+)"', page)
    n = re.search(r'data-indicator="satisfaction".*?完成问卷 (\d+) 份', page, re.S)
    return {
        "counted": int(note.group(1)),
        "rejected": int(note.group(2)),
        "pending": int(note.group(3)),
        "n": int(n.group(1)) if n else 0,
        "page": page,
    }


def test_rejected_never_count_and_approved_only_waits_for_approval(session, app, client):
    wave, (me, _) = make_fieldwork(session, app)
    login(client, me)
    ids = [client.post("/api/responses", json=response_payload(a.id)).json["id"]
           for a in assignments_of(session, me)]  # fmt: skip
    community_id = assignments_of(session, me)[0].community_id
    analyst = make_user(session, "analyst")
    client.post("/logout")
    login(client, analyst)
    f = figures(client, community_id, wave.id)
    assert (f["counted"], f["rejected"], f["pending"], f["n"]) == (3, 0, 0, 3)
    assert "没有问卷被排除" in f["page"]
    with app.app_context():
        review.act(session=session, user=analyst, response_id=ids[0], action="reject", comment="?")
    f = figures(client, community_id, wave.id)
    assert (f["counted"], f["rejected"], f["pending"], f["n"]) == (2, 1, 0, 2)
    assert "被督导退回、等待调查员修改 1 份" in f["page"]
    with app.app_context():
        review.set_counts(session=session, user=analyst, wave_id=wave.id, counts="approved")
    f = figures(client, community_id, wave.id)
    assert (f["counted"], f["rejected"], f["pending"], f["n"]) == (0, 1, 2, 0)
    assert "尚未审核 2 份" in f["page"] and "本轮只计已通过审核的问卷" in f["page"]
    with app.app_context():
        review.act(session=session, user=analyst, response_id=ids[1], action="approve")
    f = figures(client, community_id, wave.id)
    assert (f["counted"], f["rejected"], f["pending"], f["n"]) == (1, 1, 1, 1)
    # the overview and the workspace say it too
    assert 'id="excluded-note"' in client.get(f"/results/overview?wave={wave.id}").get_data(
        as_text=True
    )
    # weighting reads the same interviews as the totals
    from survey_app.results import weighting

    with app.app_context():
        rows = session.exec(weighting.interviews_query(wave)).all()
    assert len(rows) == 1
