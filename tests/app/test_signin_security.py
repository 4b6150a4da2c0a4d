"""Sign-in hardening (issue 13.4–6, 13.14): no open redirect, throttling and lockout,
sessions that end, cookie settings, the audit of sign-ins and sign-outs."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from survey_app import create_app
from survey_app.models import AuditLog, Role, User

from .factories import PASSWORD, login, make_geo, make_user

pytestmark = pytest.mark.db


def app_with(settings, **changes):
    return create_app(settings.with_(**changes))


def audit_actions(session) -> list[tuple[str, int | None, dict | None]]:
    session.expire_all()
    rows = session.exec(select(AuditLog).order_by(AuditLog.id)).all()
    return [(r.action, r.entity_id, r.detail) for r in rows if r.entity == "user"]


# --- 13.4 open redirect ------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example/",
        "/\t/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/%5Cevil.example/",
        "/%2F/evil.example/",
        "https://evil.example/",
        "/%0D%0A/x",
        "/\r\n/x",
        "javascript:alert(1)",
        "/no-such-page",
    ],
)
def test_next_is_only_a_page_of_this_app(client, session, target):
    user = make_user(session, Role.ANALYST)
    r = client.post(
        "/login", query_string={"next": target},
        data={"username": user.username, "password": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 302
    assert r.headers["Location"] == "/", (target, r.headers["Location"])


def test_next_to_a_page_of_this_app_is_followed(client, session):
    user = make_user(session, Role.ANALYST)
    r = client.post(
        "/login?next=/analysis/%3Fwave%3D1", data={"username": user.username, "password": PASSWORD}
    )
    assert r.headers["Location"] == "/analysis/?wave=1"


# --- 13.5 throttling and lockout ------------------------------------------------------------


def test_wrong_passwords_lock_the_account(settings, session):
    app = app_with(settings, lockout_failures=3, lockout_minutes=15,
                   login_limit_account="100 per minute")  # fmt: skip
    client = app.test_client()
    user = make_user(session, Role.CANVASSER, make_geo(session)[0])
    for _ in range(2):
        assert login(client, user, "wrong-password-1").status_code == 401
    r = login(client, user, "wrong-password-1")
    assert r.status_code == 423 and "锁定" in r.get_data(as_text=True)
    # Locked: even the right password is refused, and no hash is checked.
    r = login(client, user, PASSWORD)
    assert r.status_code == 423
    session.expire_all()
    assert session.get(User, user.id).locked_until is not None
    actions = [a for a, _, _ in audit_actions(session)]
    assert actions.count("sign-in-failed") == 4 and "lock" in actions
    app.extensions["engine"].dispose()


def test_a_success_resets_the_failure_count(client, session):
    user = make_user(session, Role.ANALYST)
    for _ in range(3):
        login(client, user, "wrong-password-1")
    assert login(client, user).status_code == 302
    session.expire_all()
    assert session.get(User, user.id).failed_logins == 0


def test_failed_sign_ins_are_limited_per_account_and_per_address(settings, session):
    app = app_with(settings, lockout_failures=0, login_limit_account="3 per minute",
                   login_limit_address="5 per minute")  # fmt: skip
    client = app.test_client()
    a = make_user(session, Role.ANALYST)
    b = make_user(session, Role.ANALYST)
    codes = [login(client, a, "wrong-password-1").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = login(client, a, "wrong-password-1")
    assert r.status_code == 429 and "Retry-After" in r.headers
    # Another account from the same address: the address's budget (5) runs out too.
    codes = [login(client, b, "wrong-password-1").status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    # Another address is not held back by this one.
    other = client.post(
        "/login", data={"username": b.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )  # fmt: skip
    assert other.status_code == 302
    app.extensions["engine"].dispose()


def test_successful_sign_ins_do_not_count(settings, session):
    app = app_with(settings, login_limit_address="3 per minute")
    user = make_user(session, Role.ANALYST)
    for _ in range(6):
        client = app.test_client()
        assert login(client, user).status_code == 302
    app.extensions["engine"].dispose()


def test_only_the_sign_in_form_consults_the_limiter(client, session, app, monkeypatch):
    """Other requests (a tablet's submissions) skip Flask-Limiter's per-request work; the
    sign-in form is still limited (the tests above)."""
    limiter = app.extensions["login_limiter"]
    consulted = []
    resolve = limiter.limit_manager.resolve_limits

    def spy(*args, **kwargs):
        consulted.append(args[1])
        return resolve(*args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", spy)
    user = make_user(session, Role.CANVASSER, make_geo(session)[0])
    assert login(client, user).status_code == 302
    assert set(consulted) == {"auth.login"}
    consulted.clear()
    assert client.get("/api/me").status_code == 200
    assert client.get("/api/canvass/assignments").status_code == 200
    assert consulted == []


def test_the_limiters_hooks_run_around_sign_in_pages_only(settings, session):
    """Flask-Limiter's check, headers and reset are the auth blueprint's hooks: the sign-in
    form still answers with its limit headers and is still limited; other answers carry
    none and run none of its hooks."""
    app = app_with(settings, lockout_failures=0, login_limit_address="2 per minute")
    limiter = app.extensions["login_limiter"]
    app_hooks = [*app.before_request_funcs.get(None, []),
                 *app.after_request_funcs.get(None, []),
                 *app.teardown_request_funcs.get(None, [])]  # fmt: skip
    assert not any(getattr(h, "__self__", None) is limiter or getattr(h, "args", ()) == (limiter,)
                   for h in app_hooks)  # fmt: skip
    client = app.test_client()
    user = make_user(session, Role.CANVASSER, make_geo(session)[0])
    first = login(client, user, "wrong-password-1")
    assert first.status_code == 401 and "X-RateLimit-Remaining" in first.headers
    assert login(client, user, "wrong-password-1").status_code == 401
    assert login(client, user).status_code == 429
    other = app.test_client()
    assert login(other, user).status_code == 429  # same address
    other = app.test_client()
    r = other.post("/login", data={"username": user.username, "password": PASSWORD},
                   environ_base={"REMOTE_ADDR": "10.0.0.7"})  # fmt: skip
    assert r.status_code == 302
    me = other.get("/api/me")
    assert me.status_code == 200
    assert not [h for h in me.headers.keys() if h.lower().startswith("x-ratelimit")]
    app.extensions["engine"].dispose()


# --- 13.6 sessions that end -----------------------------------------------------------------


def test_sign_out_ends_the_old_session_and_remember_cookies(client, session):
    (community, _) = make_geo(session)
    user = make_user(session, Role.CANVASSER, community)
    login(client, user)
    assert client.get("/api/me").status_code == 200
    session_cookie = client.get_cookie("session").value
    remember = client.get_cookie("remember_token").value
    assert client.post("/logout").status_code == 302
    # The stolen copies of both cookies sign nobody in any more.
    client.set_cookie("session", session_cookie)
    assert client.get("/api/me").status_code == 401
    client.delete_cookie("session")
    client.set_cookie("remember_token", remember)
    assert client.get("/api/me").status_code == 401
    actions = [a for a, _, _ in audit_actions(session)]
    assert actions[-2:] == ["sign-in", "sign-out"]


def test_deactivation_and_password_change_end_sessions(app, client, session):
    (community, _) = make_geo(session)
    user = make_user(session, Role.CANVASSER, community)
    login(client, user)
    assert client.get("/api/me").status_code == 200
    stored = session.get(User, user.id)
    stored.session_epoch += 1  # what setup's deactivation / password change do
    session.commit()
    assert client.get("/api/me").status_code == 401


def test_the_api_reads_the_user_afresh_on_every_request(app, client, session):
    """The JSON API's lighter user (auth.sessions.SignedIn) is read per request like the
    pages' User: a role change, a deactivation and a password change count at once."""
    from flask_login import current_user

    from survey_app.auth.sessions import SignedIn

    (community, _) = make_geo(session)
    user = make_user(session, Role.CANVASSER, community)
    login(client, user)
    with client:
        assert client.get("/api/me").get_json()["role"] == Role.CANVASSER
        assert type(current_user._get_current_object()) is SignedIn
        client.get("/canvass/")
        assert type(current_user._get_current_object()) is User  # pages: the ORM row
    assert client.get("/api/canvass/assignments").status_code == 200
    stored = session.get(User, user.id)
    stored.role = Role.SECRETARY  # not a canvassing role
    session.commit()
    assert client.get("/api/canvass/assignments").status_code == 403
    assert client.get("/api/me").get_json()["role"] == Role.SECRETARY
    stored.role = Role.CANVASSER
    stored.active = False  # what setup's deactivation does, before it bumps the epoch
    session.commit()
    assert client.get("/api/me").status_code == 401
    stored.active = True
    session.commit()
    assert client.get("/api/me").status_code == 200
    stored.must_change_password = True
    session.commit()
    assert client.get("/api/canvass/assignments").status_code == 403
    stored.must_change_password = False
    stored.session_epoch += 1
    session.commit()
    assert client.get("/api/me").status_code == 401
    assert client.post("/api/responses", json={}).status_code in (400, 401)


def test_only_canvassers_are_remembered_for_30_days(client, session):
    (community, _) = make_geo(session)
    canvasser = make_user(session, Role.CANVASSER, community)
    r = login(client, canvasser)
    cookie = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert cookie and "HttpOnly" in cookie[0]
    expires = client.get_cookie("remember_token").expires
    days = (expires.timestamp() - time.time()) / 86400
    assert 29 < days <= 30
    client.post("/logout")
    r = login(client, make_user(session, Role.ANALYST))
    assert not [c for c in r.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]


def test_remember_duration_is_configurable(settings, session):
    app = app_with(settings, remember_days=0)
    client = app.test_client()
    (community, _) = make_geo(session)
    r = login(client, make_user(session, Role.CANVASSER, community))
    assert not [c for c in r.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    app.extensions["engine"].dispose()


def test_analysts_are_signed_out_when_idle(settings, session, monkeypatch):
    app = app_with(settings, idle_minutes=30)
    client = app.test_client()
    analyst = make_user(session, Role.ANALYST)
    login(client, analyst)
    assert client.get("/api/me").status_code == 200
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 60)
    assert client.get("/api/me").status_code == 200  # activity moves the clock on
    monkeypatch.setattr(time, "time", lambda: now + 29 * 60 + 31 * 60)
    assert client.get("/api/me").status_code == 401
    app.extensions["engine"].dispose()


def test_canvassers_are_not_signed_out_when_idle(settings, session, monkeypatch):
    app = app_with(settings, idle_minutes=30)
    client = app.test_client()
    (community, _) = make_geo(session)
    login(client, make_user(session, Role.CANVASSER, community))
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 8 * 3600)
    assert client.get("/api/me").status_code == 200
    app.extensions["engine"].dispose()


def test_secure_cookies_and_proxy_fix(settings, session):
    app = app_with(settings, cookie_secure=True, trusted_proxies=1)
    client = app.test_client()
    (community, _) = make_geo(session)
    user = make_user(session, Role.CANVASSER, community)
    r = client.post(
        "/login", data={"username": user.username, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    )  # fmt: skip
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    session.expire_all()
    signed_in = [d for a, _, d in audit_actions(session) if a == "sign-in"]
    assert signed_in[-1]["address"] == "203.0.113.7"
    app.extensions["engine"].dispose()


def test_without_trusted_proxies_forwarded_for_is_ignored(client, session):
    user = make_user(session, Role.ANALYST)
    client.post(
        "/login", data={"username": user.username, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )  # fmt: skip
    signed_in = [d for a, _, d in audit_actions(session) if a == "sign-in"]
    assert signed_in[-1]["address"] == "127.0.0.1"


def test_settings_from_env_read_the_security_settings(tmp_path):
    from survey_app.config import settings_from_env

    env = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY_FILE": str(tmp_path / "keys" / "k")}
    s = settings_from_env(env)
    assert s.cookie_secure is True and s.remember_days == 30 and s.idle_minutes == 30
    assert (tmp_path / "keys" / "k").exists() and not (tmp_path / "secret_key").exists()
    s = settings_from_env({**env, "FLASK_DEBUG": "1", "TRUSTED_PROXIES": "2", "REMEMBER_DAYS": "7"})
    assert s.cookie_secure is False and s.trusted_proxies == 2 and s.remember_days == 7
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        settings_from_env({**env, "TRUSTED_PROXIES": "many"})


def test_users_created_from_the_command_line_name_the_operator(runner, session):
    import getpass

    r = runner.invoke(
        args=["create-user", "--username", "li_analyst", "--role", "analyst"],
        input="long-enough-pass-9\nlong-enough-pass-9\n",
    )
    assert r.exit_code == 0, r.output
    created = [d for a, _, d in audit_actions(session) if a == "create"]
    assert created[-1]["operator"] == f"cli:{getpass.getuser()}"


def test_the_session_cookie_follows_the_secret_key(app, client, session):
    """The kept signing serializer is the current key's: a rotated key ends the old
    cookies at once, and listing the old key as a fallback lets them in again."""
    user = make_user(session, Role.ANALYST)
    assert login(client, user).status_code == 302
    assert client.get("/api/me").status_code == 200
    old = app.secret_key
    app.secret_key = "a rotated secret key"
    assert client.get("/api/me").status_code == 401
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/api/me").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/api/me").status_code == 401


def test_the_api_user_is_the_same_read_either_way(app, session, monkeypatch):
    """On SQLite the API's user is read on sqlite3's own cursor: the same values, of the
    same types, as SQLAlchemy's read (booleans as bool); should that read fail, the query
    runs through SQLAlchemy instead. On PostgreSQL both are SQLAlchemy's."""
    from survey_app.auth import sessions
    from survey_app.db import get_session

    (community, _) = make_geo(session)
    user = make_user(session, Role.CANVASSER, community)
    with app.test_request_context("/api/me"):
        row = get_session().connection().execute(sessions._signed_in_statement(), {"id": user.id})
        expected = sessions.SignedIn(*row.first())
        read = sessions._signed_in(user.id)
        assert read == expected and read.id == user.id
        assert read.active is True and read.must_change_password is False
        assert sessions._signed_in(user.id + 1000) is None
        monkeypatch.setattr(sessions, "_sqlite_signed_in",
                            lambda dialect: ("SELECT no_such_column FROM app_user", None))  # fmt: skip
        assert sessions._signed_in(user.id) == expected
