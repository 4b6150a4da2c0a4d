"""Sign-in limits with the Redis store (issue 13.5): with ``REDIS_URL`` every worker counts
in one place, so the limit holds across workers (two app instances here, as two gunicorn
workers would be); the lockout works as with memory; and when Redis cannot be reached,
sign-in falls back to counting in memory per worker — never a 500, never a locked door
for the whole city (docs/operations.md, "Sign-in limits and Redis").

The Redis tests use database 13 of the Redis at 127.0.0.1:6379 (``SURVEY_TEST_REDIS_URL``
overrides it) under a key prefix of their own, and delete their keys afterwards; they are
skipped, saying why, when Redis cannot be reached."""

from __future__ import annotations

import os
import uuid

import pytest

from survey_app import create_app
from survey_app.models import Role

from .factories import PASSWORD, login, make_geo, make_user

pytestmark = pytest.mark.db

REDIS_URL = os.environ.get("SURVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused


def _redis_or_reason():
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
    except redis.exceptions.RedisError as err:
        return None, f"Redis not reachable at {REDIS_URL} ({err}): Redis store tests skipped"
    return client, None


@pytest.fixture
def redis_prefix():
    client, reason = _redis_or_reason()
    if client is None:
        pytest.skip(reason)
    prefix = f"survey-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(match=f"*/{prefix}/*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def workers(settings, redis_prefix):
    """Two app instances on one database and one Redis: two workers."""
    built = []

    def build(**changes):
        for _ in range(2):
            built.append(
                create_app(
                    settings.with_(redis_url=REDIS_URL, redis_key_prefix=redis_prefix, **changes)
                )
            )
        return [app.test_client() for app in built[-2:]]

    yield build
    for app in built:
        app.extensions["engine"].dispose()


def test_the_account_limit_is_shared_by_the_workers(workers, session, redis_prefix):
    one, two = workers(lockout_failures=0, login_limit_account="4 per minute",
                       login_limit_address="100 per minute")  # fmt: skip
    user = make_user(session, Role.ANALYST)
    codes = [login(c, user, "wrong-password-1").status_code for c in (one, two) * 3]
    # Memory storage would let each worker allow 4 (8 in all); Redis counts them together.
    assert codes == [401, 401, 401, 401, 429, 429]
    # Another account is not held back by this one.
    other = make_user(session, Role.ANALYST)
    assert login(two, other).status_code == 302
    client, _ = _redis_or_reason()
    assert list(client.scan_iter(match=f"*/{redis_prefix}/*"))  # the counts are in Redis


def test_the_address_limit_is_shared_by_the_workers(workers, session):
    one, two = workers(lockout_failures=0, login_limit_account="100 per minute",
                       login_limit_address="3 per minute")  # fmt: skip
    users = [make_user(session, Role.ANALYST) for _ in range(4)]
    codes = [login(c, u, "wrong-password-1").status_code
             for c, u in zip((one, two, one, two), users, strict=True)]  # fmt: skip
    assert codes == [401, 401, 401, 429]
    r = login(one, users[0])  # the right password, but this address is spent for now
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_the_lockout_works_across_workers(workers, session):
    one, two = workers(lockout_failures=3, lockout_minutes=15,
                       login_limit_account="100 per minute")  # fmt: skip
    user = make_user(session, Role.CANVASSER, make_geo(session)[0])
    assert login(one, user, "wrong-password-1").status_code == 401
    assert login(two, user, "wrong-password-1").status_code == 401
    r = login(one, user, "wrong-password-1")
    assert r.status_code == 423 and "锁定" in r.get_data(as_text=True)
    assert login(two, user, PASSWORD).status_code == 423  # locked on every worker


def test_without_redis_sign_in_falls_back_to_counting_in_memory(settings, session, caplog):
    app = create_app(settings.with_(redis_url=NOWHERE, lockout_failures=0,
                                    login_limit_account="3 per minute"))  # fmt: skip
    client = app.test_client()
    user = make_user(session, Role.ANALYST)
    with caplog.at_level("WARNING"):
        codes = [login(client, user, "wrong-password-1").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]  # still limited, in this worker's memory
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
    other = make_user(session, Role.ANALYST)
    assert login(client, other).status_code == 302  # sign-in itself keeps working
    app.extensions["engine"].dispose()
