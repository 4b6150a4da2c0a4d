"""One bad item never fails a sync batch (issue 13.3): every malformed value gets its own
422 naming the field while the rest of the batch is stored; ids out of any column's range
in URLs and query strings are 404/400, never 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

import instruments
from survey_app.models import Response, Role, Visit

from .canvass_factories import (
    assignments_of,
    complete_answers,
    make_fieldwork,
    response_payload,
    visit_payload,
)
from .factories import login, make_geo, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def field(session, app, client):
    wave, canvassers = make_fieldwork(session, app)
    login(client, canvassers[0])
    return wave, canvassers[0]


def count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def raw_post(client, path: str, text: str):
    return client.post(path, data=text.encode("utf-8", "surrogatepass"),
                       content_type="application/json")  # fmt: skip


def nested(depth: int):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


def bad_responses(assignment_id: int) -> list[tuple[str, str]]:
    """(field, raw JSON text) of responses that each break in their own way."""

    def dump(**changes) -> str:
        payload = response_payload(assignment_id)
        payload.update(changes)
        return json.dumps(payload, ensure_ascii=True)

    lone = dump(answers=complete_answers(need="PLACEHOLDER")).replace("PLACEHOLDER", "\\ud83d")
    return [
        ("need", lone),
        ("timings", dump(timings={"consent": float("nan")})),
        ("timings", dump(timings={"consent": float("inf")})),
        ("timings", dump(timings={"consent": 1e300})),
        ("submitted_at", dump(submitted_at="9999-12-31T23:59:59-14:00")),
        ("started_at", dump(started_at="0001-01-01T00:00:00+14:00")),
        ("assignment_id", dump(assignment_id=2**63)),
        ("assignment_id", dump(assignment_id=2**31)),
        ("assignment_id", dump(assignment_id=-1)),
        ("need", dump(answers=complete_answers(need="灯\u0000坏了"))),
        ("device", dump(device="tablet\u0000")),
        ("latitude", dump(latitude=float("nan"))),
        ("longitude", dump(longitude=float("-inf"))),
        ("need", dump(answers=complete_answers(need=nested(50)))),
        ("need", dump(answers=complete_answers(need={"a": 1}))),
        ("answers", dump(answers={"x" * 100: "yes"})),
    ]


def test_each_bad_response_is_its_own_422_and_the_rest_is_stored(client, session, field):
    wave, me = field
    mine = assignments_of(session, me)
    bad = bad_responses(mine[0].id)
    good = response_payload(mine[1].id)
    visit = visit_payload(mine[2].id)
    responses = ", ".join([*(raw for _, raw in bad), json.dumps(good)])
    text = f'{{"visits": [{json.dumps(visit)}], "responses": [{responses}]}}'
    r = raw_post(client, "/api/sync", text)
    assert r.status_code == 200, r.data[:500]
    results = r.json["responses"]
    for (field_name, _), result in zip(bad, results, strict=False):
        assert result["status"] == 422, (field_name, result)
        assert result["item"] == field_name, (field_name, result)
    assert results[-1]["status"] == 201 and r.json["visits"][0]["status"] == 201
    assert count(session, Response) == 1 and count(session, Visit) == 2


@pytest.mark.parametrize("index", range(16))
def test_each_bad_response_alone_is_422(client, session, field, index):
    wave, me = field
    field_name, raw = bad_responses(assignments_of(session, me)[0].id)[index]
    r = raw_post(client, "/api/responses", raw)
    assert r.status_code == 422 and r.json["item"] == field_name, r.json


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("visited_at", "9999-12-31T23:59:59-14:00"),
        ("visited_at", "1900-01-01T00:00:00Z"),
        ("assignment_id", 2**70),
        ("note", "门\u0000口"),
        ("note", "门\ud83d口"),
        ("latitude", float("nan")),
    ],
)
def test_bad_visits_are_422(client, session, field, field_name, value):
    wave, me = field
    payload = visit_payload(assignments_of(session, me)[0].id)
    payload[field_name] = value
    r = raw_post(client, "/api/visits", json.dumps(payload))
    assert r.status_code == 422 and r.json["item"] == field_name, r.json
    assert count(session, Visit) == 0


def test_json_nested_100000_deep_is_a_4xx(client, session, field):
    r = raw_post(client, "/api/sync", "[" * 100_000 + "]" * 100_000)
    assert r.status_code in (400, 413, 422)
    r = raw_post(client, "/api/responses", '{"answers": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert r.status_code in (400, 413, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/results/community/2147483648",
        "/results/community/9223372036854775808",
        "/results/community/99999999999999999999999",
        "/results/overview?wave=99999999999",
        "/results/overview?wave=9223372036854775808",
        "/results/overview?street=99999999999",
        "/results/overview?district=9223372036854775808",
        "/results/overview?street=-1",
        "/analysis/?wave=99999999999&indicators=satisfaction&run=1",
        "/analysis/responses.csv?wave=99999999999",
        "/analysis/responses.xlsx?wave=9223372036854775808",
        "/analysis/export.csv?wave=99999999999&indicators=satisfaction&run=1",
    ],
)
def test_ids_out_of_range_are_404_or_400(client, session, path):
    make_geo(session)
    login(client, make_user(session, Role.ANALYST))
    r = client.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)


def test_feedback_item_id_out_of_range_is_404(client, session):
    (community, _) = make_geo(session)
    login(client, make_user(session, Role.SECRETARY, community))
    r = client.post("/feedback/9223372036854775808/advance", data={"to_status": "assigned"})
    assert r.status_code == 404


def test_a_repeats_instances_are_answers_too():
    from survey_app.canvass.payloads import Invalid, parse_response

    payload = response_payload(1, answers={"members": [{"age": 30, "rel": "self"}, {"age": 5}]})
    assert parse_response(payload).answers["members"][1] == {"age": 5}
    payload["answers"] = {"members": [{"note": "\u0000"}]}
    with pytest.raises(Invalid) as err:
        parse_response(payload)
    assert err.value.field == "members"


def test_free_text_has_a_limit_the_tablet_is_told(client, session, field):
    from survey_app.canvass.payloads import TEXT_MAX

    wave, me = field
    body = client.get(f"/api/canvass/instrument/household/{wave.instrument_version}").json
    texts = [i for i in body["items"] if i["type"] == "text"]
    assert texts and all(i["max_length"] == TEXT_MAX for i in texts)
    a = assignments_of(session, me)[0]
    long = response_payload(a.id, answers=complete_answers(need="灯" * (TEXT_MAX + 1)))
    r = client.post("/api/responses", json=long)
    assert r.status_code == 422 and r.json["item"] == "need"
    ok = response_payload(a.id, answers=complete_answers(need="灯" * TEXT_MAX))
    assert client.post("/api/responses", json=ok).status_code == 201
    session.expire_all()
    from survey_app.models import FeedbackItem

    assert len(session.exec(select(FeedbackItem)).one().text) == TEXT_MAX  # not cut short


# --- 13.13 geopoint answers rounded to ~10 m on arrival --------------------------------------

WHERE_ITEM = """  - name: where
    type: geopoint
    relevant: consent = 'yes'
    label:
      zh: 访问地点
      en: Where the interview took place
"""


def publish_with_geopoint(session, app) -> instruments.Instrument:
    """The household form as version 2, with a geopoint question after 问需 (XLSForm's
    ``geopoint``: "lat lon alt accuracy"), published beside version 1."""
    source = (instruments.FORMS_DIR / "household.yaml").read_text(encoding="utf-8")
    source = source.replace("\nversion: 1\n", "\nversion: 2\n", 1)
    source = source.replace("  - name: advice\n", WHERE_ITEM + "  - name: advice\n", 1)
    instrument = instruments.loads_instrument(source, "household-geopoint.yaml")
    with app.app_context():
        from survey_app.setup.questionnaires import ensure_published

        ensure_published(session=session, instrument=instrument, source=source)
        session.commit()
    return instrument


def geopoint_payload(assignment_id: int, where: str) -> dict:
    payload = response_payload(assignment_id, answers=complete_answers(where=where))
    return payload | {"instrument_version": "2"}


def stored_where(session) -> str:
    session.expire_all()
    return session.exec(select(Response)).one().answers["where"]


def test_geopoint_answers_are_rounded_on_arrival_and_resends_are_replays(
    client, session, app, field
):
    wave, me = field
    publish_with_geopoint(session, app)
    a = assignments_of(session, me)[0]
    sent = geopoint_payload(a.id, "30.274149876 120.155212345 12.5 4.9")
    r = client.post("/api/responses", json=sent)
    assert r.status_code == 201, r.json
    assert stored_where(session) == "30.2741 120.1552 12.5 4.9"  # ~10 m; altitude, accuracy kept
    # The identical resend (a lost reply) is a replay.
    r = client.post("/api/responses", json=sent)
    assert r.status_code == 200 and r.json["replayed"] is True
    # A resend differing only beyond the 4th decimal is the same stored content: a replay.
    jitter = sent | {"answers": complete_answers(where="30.27412 120.15518 12.5 4.9")}
    r = client.post("/api/sync", json={"visits": [], "responses": [jitter]})
    assert r.json["responses"][0]["status"] == 200, r.json
    # A different place is a different interview under the same UUID: a conflict.
    moved = sent | {"answers": complete_answers(where="30.2751 120.1552 12.5 4.9")}
    assert client.post("/api/responses", json=moved).status_code == 409
    assert count(session, Response) == 1 and stored_where(session) == "30.2741 120.1552 12.5 4.9"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("30.27 120.15", "30.27 120.15"),
        ("-33.856784 151.215297 58 3.9", "-33.8568 151.2153 58 3.9"),
        ("-0.00001  0.00004", "0 0"),
        ("30  120.000049 0 0", "30 120 0 0"),
        ("not a place", "not a place"),  # refused by the questionnaire check, not rewritten
        ("1e5 2", "1e5 2"),
    ],
)
def test_round_geopoint(sent, kept):
    from survey_app.canvass.payloads import round_geopoint

    assert round_geopoint(sent) == kept


def test_geopoints_inside_repeats_are_rounded_too(app):
    from survey_app.canvass.payloads import _round_geopoints

    answers = {"members": [{"at": "30.123456 120.654321"}, {"age": 5}], "at": "1.23456 2"}
    assert _round_geopoints(answers, frozenset({"at"})) == {
        "members": [{"at": "30.1235 120.6543"}, {"age": 5}],
        "at": "1.2346 2",
    }


def test_geopoint_answers_stay_out_of_the_raw_export(session, app):
    from survey_app.results import exports

    instrument = publish_with_geopoint(session, app)
    header = exports.raw_header(instrument)
    assert "q_need" in header and "q_where" not in header
    notes = [name for name, _ in exports._column_notes(instrument)]
    assert "q_where" not in notes


def test_a_held_interview_is_kept_rounded_and_accepted_as_the_same_submission(
    client, session, app, field
):
    from survey_app.canvass import held
    from survey_app.models import HeldSubmission

    wave, me = field
    publish_with_geopoint(session, app)
    a = assignments_of(session, me)[0]
    a.canvasser_id = None  # taken back while the tablet was offline
    session.add(a)
    session.commit()
    sent = geopoint_payload(a.id, "30.274149876 120.155212345 12.5 4.9")
    sent |= {"latitude": 30.274149876, "longitude": 120.155212345}
    assert client.post("/api/responses", json=sent).json["held"] is True
    row = session.exec(select(HeldSubmission)).one()
    assert row.payload["answers"]["where"] == "30.2741 120.1552 12.5 4.9"
    assert row.payload["latitude"] == 30.2741
    analyst = make_user(session, Role.ANALYST)
    with app.test_request_context():
        result = held.resolve(session=session, held_id=row.id, accept=True, analyst_id=analyst.id)
    assert result.status == 201
    # The tablet's outbox, sent again as it was: the stored interview, a replay.
    r = client.post("/api/responses", json=sent)
    assert r.status_code == 200 and r.json["replayed"] is True, r.json
