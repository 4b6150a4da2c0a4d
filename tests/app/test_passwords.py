"""The password policy: at least 10 characters, not the username, not a common password."""

import pytest

from survey_app.auth.passwords import generate_password, validate_password


@pytest.mark.parametrize(
    "password",
    [
        "12345678",  # too short
        " " * 10,  # only spaces
        "li.xiaoming",  # the username
        "gnimoaix.il",  # the username backwards
        "1234567890",  # a run
        "aaaaaaaaaaaa",  # one character
        "qwertyuiop",  # a keyboard run
        "password123",  # common
        "Password2026!",  # a common word with digits and a symbol
        "woaini1314",  # common (Chinese)
        "2026woaini!",
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password):
    assert validate_password(password, username="li.xiaoming")


@pytest.mark.parametrize(
    "password", ["桃园社区2026年调查", "Tz7-kq4!mR2x", "correct horse battery"]
)
def test_reasonable_passwords_pass(password):
    assert validate_password(password, username="li.xiaoming") is None


def test_generated_passwords_pass_the_policy_and_differ():
    made = {generate_password() for _ in range(50)}
    assert len(made) == 50
    assert all(validate_password(p, username="x") is None and len(p) == 12 for p in made)
