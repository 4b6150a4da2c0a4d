"""The value rules shared by the interpreter (``expr.evaluate``) and the compiler
(``compile``): numbers from strings, equality, order, arithmetic, text conversion, dates.

docs/instruments.md ("Evaluation rules") states them; survey_app/static/canvass/expr.js
implements the same rules and tests/instruments/test_js_agreement.py runs both on the
same cases. A value is ``""`` (no value), a string, a number or a non-empty list of codes.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "to_number",
    "order_number",
    "equal",
    "order",
    "arith",
    "text",
    "count",
    "selected",
    "selected_at",
    "days",
    "Env",
    "today_of",
    "now_of",
]

Env = Mapping[str, Any]
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def to_number(value: Any) -> int | float | None:
    """A number, or a string that is a plain decimal literal, as a number; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return _number(value)
    return None


def days(y: int, m: int, d: int) -> int | None:
    """Days since 1970-01-01 of a calendar date; None when the date does not exist."""
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= m <= 12 or not 1 <= d <= (29 if m == 2 and leap else _MONTH_DAYS[m - 1]):
        return None
    y -= m <= 2  # Howard Hinnant's days_from_civil, the same integer steps as expr.js
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def order_number(value: Any) -> int | float | None:
    """``to_number``, or a date (days since 1970-01-01) or a date-time (days, with the
    time of day as a fraction; a time-zone suffix is ignored) — for order and arithmetic."""
    number = to_number(value)
    if number is not None or not isinstance(value, str):
        return number
    m = _DATE.fullmatch(value)
    if m:
        return days(int(m[1]), int(m[2]), int(m[3]))
    m = _DATETIME.fullmatch(value)
    if m:
        day = days(int(m[1]), int(m[2]), int(m[3]))
        hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
        if day is None or hour > 23 or minute > 59 or second > 59:
            return None
        return day + (hour * 3600 + minute * 60 + second) / 86400
    return None


def equal(a: Any, b: Any) -> bool:
    if a == "" or b == "":
        return a == "" and b == ""
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    x, y = to_number(a), to_number(b)
    return x is not None and y is not None and x == y


def order(op: str, a: Any, b: Any) -> bool:
    x, y = order_number(a), order_number(b)
    if x is None or y is None:
        return False
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def arith(op: str, a: Any, b: Any) -> Any:
    """``+ - * div mod`` on numbers (dates count in days); ``""`` when either side has no
    number or on division by zero. ``mod`` keeps the sign of the dividend (XPath)."""
    x, y = order_number(a), order_number(b)
    if x is None or y is None:
        return ""
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        return ""
    if op == "div":
        return x / y
    return math.fmod(x, y) if isinstance(x, float) or isinstance(y, float) else _int_mod(x, y)


def _int_mod(x: int, y: int) -> int:
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def _number_text(x: int | float) -> str:
    if isinstance(x, float):
        if math.isfinite(x) and x == int(x) and abs(x) < 1e21:
            return str(int(x))
        if not math.isfinite(x):
            return "Infinity" if x > 0 else "-Infinity" if x < 0 else "NaN"
        out = repr(x)
        if 1e-6 <= abs(x) < 1e-4:  # JavaScript writes these positionally (0.00001)
            return format(decimal.Decimal(out), "f")
        if "e" in out:  # JavaScript writes 1e-7 and 1e+21 where Python writes 1e-07, 1e+21
            mant, _, exp = out.partition("e")
            sign = "-" if exp.startswith("-") else "+"
            out = f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
        return out
    return str(x)


def text(value: Any) -> str:
    """A value as text: numbers as JavaScript writes them, a list of codes space-joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list):
        return " ".join(text(v) for v in value)
    return ""


def count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    return 0 if value == "" else 1


def selected(value: Any, code: str) -> bool:
    return code in value if isinstance(value, list) else value == code


def selected_at(value: Any, index: Any) -> Any:
    """The code at ``index`` (0-based) of a multiple answer or of a space-separated text
    (e.g. a geopoint's "lat lon alt accuracy"); ``""`` when there is none."""
    n = to_number(index)
    if n is None or n != int(n) or n < 0:
        return ""
    parts = value if isinstance(value, list) else [p for p in text(value).split(" ") if p]
    return parts[int(n)] if int(n) < len(parts) else ""


def today_of(env: Env | None) -> str:
    if env and env.get("today"):
        return env["today"]
    return _dt.date.today().isoformat()


def now_of(env: Env | None) -> str:
    if env and env.get("now"):
        return env["now"]
    return _dt.datetime.now().replace(microsecond=0).isoformat()


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)  # \d, \w as in JavaScript: ASCII only


def regex(value: Any, pattern: str) -> bool:
    """``regex(value, pattern)``: the pattern is found in the value's text (as JavaScript's
    ``RegExp.test``; anchor it with ^...$ to match the whole answer)."""
    return _pattern(pattern).search(text(value)) is not None


def to_int(value: Any) -> Any:
    n = to_number(value)
    if n is None or not math.isfinite(n):
        return ""
    return int(n)


def round_to(value: Any, digits: Any = 0) -> Any:
    """XPath ``round``: halves go up (towards +∞), optionally to ``digits`` decimals."""
    n, d = to_number(value), to_number(digits)
    if n is None or d is None or d != int(d) or not math.isfinite(n):
        return ""
    if d == 0:
        return math.floor(n + 0.5)
    scale = 10 ** int(d)
    return math.floor(n * scale + 0.5) / scale


def choice_column(env: Env | None, column: str) -> Any:
    choice = env.get("choice") if env else None
    return (choice or {}).get(column, "")


def call(op: str, args: list[Any], values: Mapping[str, Any], env: Env | None, ast: Any) -> Any:
    """A function of the language applied to its evaluated arguments."""
    if op == "selected":
        return selected(args[0], args[1])
    if op == "count_selected":
        return count(args[0])
    if op == "answered":
        return args[0] != ""
    if op == "selected_at":
        return selected_at(args[0], args[1])
    if op == "regex":
        return regex(args[0], args[1])
    if op == "if":
        return args[1] if args[0] is True else args[2]
    if op == "concat":
        return "".join(text(a) for a in args)
    if op == "coalesce":
        return args[0] if args[0] != "" else args[1]
    if op == "string_length":
        return len(text(args[0]))
    if op == "normalize_space":  # XPath: only space, tab, CR and LF are white space
        return " ".join(p for p in re.split(r"[ \t\r\n]+", text(args[0])) if p)
    if op == "int":
        return to_int(args[0])
    if op == "round":
        return round_to(*args)
    if op == "number":
        n = to_number(args[0])
        return "" if n is None else n
    if op == "string":
        return text(args[0])
    if op == "today":
        return today_of(env)
    if op == "now":
        return now_of(env)
    if op == "count":
        return len(args[0]) if isinstance(args[0], list) else 0
    if op == "position":
        return env.get("position", "") if env else ""
    if op == "true":
        return True
    if op == "false":
        return False
    raise ValueError(f"unknown AST node {op!r}")
