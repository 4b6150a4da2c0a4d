"""Password policy (等保 basics): at least 10 characters, not the username, not a common
password, not one character or a keyboard/number run.

``validate_password(password, *, username)`` returns the message to show (Chinese, or
English when the reader's language is English), or None when the password is acceptable.
``generate_password()`` makes the one-time passwords given to new and reset users.

The common-password list (``data/common_passwords.txt``) ships with the app. A password
is refused when it is on the list, or is a listed word with digits or symbols added at the
end or the start ("password2026!", "2026woaini").
"""

from __future__ import annotations

import re
import secrets
from functools import cache
from pathlib import Path

from flask import has_request_context
from flask_babel import gettext

MIN_LENGTH = 10
MAX_LENGTH = 128
_LIST = Path(__file__).parent / "data" / "common_passwords.txt"
_RUNS = ("0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl")
# Letters and digits that cannot be mistaken for one another on paper (no 0/O, 1/l/I).
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"


@cache
def common_passwords() -> frozenset[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def _t(message: str, **values) -> str:
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


def _is_common(password: str) -> bool:
    lowered = password.lower()
    words = common_passwords()
    if lowered in words:
        return True
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
    return len(core) >= 4 and core in words


def _is_run(password: str) -> bool:
    lowered = password.lower()
    if len(set(lowered)) <= 2:
        return True
    return any(lowered in run or lowered in run * 2 for run in _RUNS)


def validate_password(password: str, *, username: str) -> str | None:
    """The reason ``password`` is refused for ``username``, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _t("密码至少需要 %(n)d 个字符。", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _t("密码最多 %(n)d 个字符。", n=MAX_LENGTH)
    if not password.strip():
        return _t("密码不能全是空格。")
    name = username.strip().lower()
    lowered = password.strip().lower()
    # The username, backwards, or with a few characters added ("li.xiaoming1").
    near = len(name) >= 3 and name in lowered and len(lowered) - len(name) < 4
    if name and (lowered == name or lowered == name[::-1] or near):
        return _t("密码不能与用户名相同。")
    if _is_run(password):
        return _t("密码不能是同一个字符的重复或连续的数字、字母。")
    if _is_common(password):
        return _t("这个密码太常见,很容易被猜到,请换一个。")
    return None


def generate_password(length: int = 12) -> str:
    """A random one-time password that passes the policy (letters and digits)."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        has_digit = any(c.isdigit() for c in password)
        if has_digit and validate_password(password, username="") is None:
            return password
