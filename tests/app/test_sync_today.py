"""``today()`` in a questionnaire means the interview's day in the city, also when the
server checks the answers days later (an outbox synced after a weekend offline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import instruments
from survey_app.canvass import sync
from survey_app.canvass.payloads import ResponseSubmission

FORM = """
key: dated
version: 1
title: {zh: 日期}
items:
  - name: visit_day
    type: date
    required: true
    constraint: . = today()
    label: {zh: 今天的日期}
"""


def _submission(started: datetime, answer: str) -> ResponseSubmission:
    return ResponseSubmission(
        uuid="00000000-0000-4000-8000-000000000001",
        assignment_id=1,
        instrument_key="dated",
        instrument_version="1",
        answers={"visit_day": answer},
        started_at=started,
        submitted_at=started + timedelta(minutes=5),
        timings={},
        device=None,
    )


def test_today_is_the_interviews_day_in_the_city(app, monkeypatch):
    form = instruments.loads_instrument(FORM)
    monkeypatch.setattr(sync.instrument_registry, "get_instrument", lambda key, version: form)
    # 2026-11-20 23:30 in Shanghai is 15:30 UTC: the interview's day is the 20th there.
    started = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    with app.app_context():
        assert sync._check_answers(_submission(started, "2026-11-20")).refusal is None
        refused = sync._check_answers(_submission(started, "2026-11-19")).refusal
    assert refused is not None and refused.status == 422
