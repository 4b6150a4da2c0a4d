"""Where to go after sign-in: only a path of this app (issue 13.4: no open redirect).

Browsers drop tab, CR and LF from URLs and read ``\\`` as ``/``, so ``/\\t/evil.example/``
is ``//evil.example/`` to them; the target is checked after the same normalising, and it
must match one of this app's routes.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ..text import bad_character


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a relative path to a page of this app, else None."""
    if not target or len(target) > 2000:
        return None
    for form in (target, unquote(target)):
        if bad_character(form) or any(c in form for c in "\t\r\n\\"):
            return None
        if not form.startswith("/") or form.startswith("//"):
            return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(parts.path, method="GET")
    except RequestRedirect:
        pass  # e.g. a missing trailing slash: still ours
    except HTTPException:
        return None
    return target
