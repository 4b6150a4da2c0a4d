"""Record ids from URLs, query strings and payloads, bounded to what every database holds.

An id is a positive integer up to :data:`ID_MAX` (2^31 − 1, PostgreSQL's ``integer``;
SQLite's 64-bit integers hold it too). A larger number is no record of ours: 404 in a
path (the app's ``int`` converter stops at ID_MAX), 400 in a query string — never the
database's overflow error as a 500 (issue 13.3).
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

ID_MAX = 2**31 - 1


def parse_id(raw: str | None) -> int | None:
    """The id in ``raw`` (digits only, 1..ID_MAX), or None."""
    raw = (raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


class IdConverter(IntegerConverter):
    """Flask's ``int`` converter bounded to 0..ID_MAX: a larger number matches no route."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)
