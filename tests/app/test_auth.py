"""Sign-in, role start pages, CSRF, and community scope."""

import pytest

from survey_app.config import Settings
from survey_app.models import User

from .factories import PASSWORD, login, make_geo, make_user


@pytest.mark.parametrize(
    ("role", "start"),
    [
        ("canvasser", "/canvass/"),
        ("secretary", "/results/"),
        ("analyst", "/analysis/"),
        ("admin", "/admin/"),
    ],
)
def test_each_role_lands_on_its_start_page(client, session, role, start):
    (community, _) = make_geo(session)
    user = make_user(session, role, community if role in ("canvasser", "secretary") else None)
    assert login(client, user).status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith(start)
    page = client.get(start, follow_redirects=True)
    assert page.status_code == 200


def test_wrong_password_is_refused_and_password_is_hashed(client, session):
    user = make_user(session, "analyst")
    stored = session.get(User, user.id).password_hash
    assert PASSWORD not in stored and stored.startswith("scrypt:")
    response = login(client, user, password="wrong-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still sent to login
    assert "/login" in client.get("/").headers["Location"]


def test_pages_need_login_and_api_answers_json_401(client):
    response = client.get("/analysis/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get("/api/me")
    assert response.status_code == 401 and response.get_json()["status"] == 401


def test_wrong_role_gets_403(client, session):
    (community, _) = make_geo(session)
    login(client, make_user(session, "canvasser", community))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "您没有权限" in response.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(settings, session):
    from survey_app import create_app

    app = create_app(Settings(**{**settings.__dict__, "csrf_enabled": True}))
    user = make_user(session, "analyst")
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    # With the token from the form, the same post signs in.
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    app.extensions["engine"].dispose()


def test_api_posts_need_the_csrf_token_in_a_header(settings, session, caplog):
    """The tablet's JSON posts carry the page's token in X-CSRFToken; a JSON body is not
    searched for form fields (it has none), and each refusal names its reason as
    Flask-WTF does."""
    import logging

    from itsdangerous import URLSafeTimedSerializer

    from survey_app import create_app

    app = create_app(Settings(**{**settings.__dict__, "csrf_enabled": True}))
    community, _ = make_geo(session)
    user = make_user(session, "canvasser", community)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    form_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    # A form may carry its token in the header too (Flask-WTF looks there after the form).
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD},
        headers={"X-CSRFToken": form_token},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get("/canvass/").get_data(as_text=True)
    token = page.split('<meta name="csrf-token" content="')[1].split('"')[0]
    other_key = URLSafeTimedSerializer("another key", salt="wtf-csrf-token").dumps("x" * 40)

    def post(headers, body=None):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flask_wtf.csrf"):
            r = client.post("/api/responses", json=body or {}, headers=headers)
        return r.status_code, [rec.getMessage() for rec in caplog.records]

    assert post({}) == (400, ["The CSRF token is missing."])
    assert post({}, {"csrf_token": token}) == (400, ["The CSRF token is missing."])
    assert post({"X-CSRFToken": "nonsense"}) == (400, ["The CSRF token is invalid."])
    assert post({"X-CSRF-Token": other_key}) == (400, ["The CSRF token is invalid."])
    fresh = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("y" * 40)
    assert post({"X-CSRFToken": fresh}) == (400, ["The CSRF tokens do not match."])
    status, logged = post({"X-CSRFToken": token})
    assert status == 422 and logged == []  # past CSRF: the empty payload itself is refused
    status, logged = post({"X-CSRF-Token": token})
    assert status == 422 and logged == []
    # Without the session's half (a new browser), the header alone is not enough.
    bare = app.test_client()
    r = bare.post("/api/responses", json={}, headers={"X-CSRFToken": token})
    assert r.status_code == 400
    app.extensions["engine"].dispose()


def test_secretary_cannot_read_another_community(client, session):
    own, other = make_geo(session)
    login(client, make_user(session, "secretary", own))
    assert client.get(f"/results/community/{own.id}").status_code == 200
    response = client.get(f"/results/community/{other.id}")
    assert response.status_code == 404
    assert other.name not in response.get_data(as_text=True)


def test_scope_filter_in_services(session):
    from survey_app.fieldwork import progress as fieldwork
    from survey_app.models import Wave

    own, other = make_geo(session)
    wave = Wave(name="w", instrument_key="household", instrument_version="1")
    session.add(wave)
    session.commit()
    secretary = make_user(session, "secretary", own)
    analyst = make_user(session, "analyst")
    assert [
        p.community_id for p in fieldwork.progress(session=session, user=secretary, wave=wave)
    ] == [own.id]
    assert {
        p.community_id for p in fieldwork.progress(session=session, user=analyst, wave=wave)
    } >= {own.id, other.id}


def test_logout_needs_post(client, session):
    user = make_user(session, "analyst")
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/analysis/").status_code == 302
