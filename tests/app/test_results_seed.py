"""The demo seed simulates three waves of fieldwork whose running totals agree with the
stored responses, once."""

from __future__ import annotations

from datetime import date

from sqlmodel import func, select

import instruments
from survey_app.demo import seed
from survey_app.models import (
    FeedbackEvent,
    FeedbackItem,
    IndicatorTotal,
    PopulationMargin,
    Response,
    Wave,
)


def test_demo_waves_are_consistent_and_seeded_once(app, session, monkeypatch):
    instrument = app.extensions["instruments"]["household"]
    drawn = []  # the demo's interviews come from the questionnaire's test interview generator

    def counting(*args, **kwargs):
        out = generate(*args, **kwargs)
        drawn.extend(out)
        return out

    generate = instruments.generate_interviews
    monkeypatch.setattr(instruments, "generate_interviews", counting)
    with app.app_context():  # the demo's waves go through the fieldwork services
        seed.seed_demo(session=session, instrument=instrument, today=date(2026, 11, 24))
    waves = session.exec(select(Wave).order_by(Wave.starts_on)).all()
    assert [w.status for w in waves] == ["closed", "closed", "open"]

    responses = session.exec(select(Response)).all()
    assert sorted(map(str, drawn)) == sorted(str(r.answers) for r in responses)
    assert not any(r.is_test for r in responses)  # simulated fieldwork, not rehearsal data
    by_wave = {w.id: [r for r in responses if r.wave_id == w.id] for w in waves}
    assert all(len(rs) > 100 for rs in by_wave.values())
    for wave in waves:
        expected: dict[str, list[int]] = {}
        for r in by_wave[wave.id]:
            for key, value in instruments.indicator_values(instrument, r.answers).items():
                if value is not None:
                    n_pos = expected.setdefault(key, [0, 0])
                    n_pos[0] += 1
                    n_pos[1] += value
        stored = session.exec(
            select(
                IndicatorTotal.indicator,
                func.sum(IndicatorTotal.n),
                func.sum(IndicatorTotal.positive),
            )
            .where(IndicatorTotal.wave_id == wave.id)
            .group_by(IndicatorTotal.indicator)
        ).all()
        assert {k: [n, p] for k, n, p in stored} == expected
        rate = expected["satisfaction"][1] / expected["satisfaction"][0]
        assert 0.85 < rate < 1.0

    items = session.exec(select(FeedbackItem)).all()
    assert items and {i.status for i in items} >= {"found", "answered"}
    assert all(i.text and i.response_id for i in items)
    assert session.exec(select(func.count()).select_from(FeedbackEvent)).one() >= len(items)
    assert session.exec(select(func.count()).select_from(PopulationMargin)).one() == 6 * 6

    with app.app_context():
        again = seed.seed_demo(session=session, instrument=instrument, today=date(2026, 11, 24))
    assert not again.created
    assert session.exec(select(func.count()).select_from(Response)).one() == len(responses)
    assert session.exec(select(func.count()).select_from(Wave)).one() == 3
