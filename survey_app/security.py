"""HTTP security headers and the reverse proxy (issue 13.6, 13.8).

- ``Content-Security-Policy``: scripts only from this app's own files (no inline script,
  no ``eval``; every page already serves its assets locally), no framing, no plugins,
  forms and connections to this origin only. Styles allow inline ``style`` attributes:
  ECharts positions its tooltips with them (styles cannot run code).
- ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``; ``Strict-Transport-Security`` when cookies are Secure
  (the site is then served over HTTPS only).
- ``Cache-Control: no-store`` on every answer to a signed-in user that does not set its
  own caching (pages with people's data, exports, the API): nothing personal stays in a
  shared computer's browser cache or a proxy.
- ``TRUSTED_PROXIES`` = n: Werkzeug's ProxyFix believes the last n X-Forwarded-* hops, so
  the client's address (rate limits, audit) and scheme are right behind a load balancer.
  Without it X-Forwarded-For is ignored: anyone could forge it.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    defaults = [
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ]
    if settings.cookie_secure:
        defaults.append(("Strict-Transport-Security", HSTS))
    # Lower-cased once: Headers.setdefault scans the whole list, lower-casing every name,
    # once per header (~30 µs of every answer for five headers).
    defaults = [(name.lower(), name, value) for name, value in defaults]

    @app.after_request
    def _headers(response: Response) -> Response:
        if response.status_code == 304:
            # A 304 leaves the stored response's headers (CSP included) in force
            # (RFC 9111 §4.3.4): repeating them costs a tablet's every reload ~500 bytes.
            return response
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        for key, name, value in defaults:
            if key not in present:  # a view's own value wins, as with setdefault
                headers.add(name, value)
        if "cache-control" not in present and request.endpoint != "static" and _signed_in():
            headers["Cache-Control"] = "no-store"
        return response


def _signed_in() -> bool:
    """Whether the request is a signed-in user's — without a database read if it can be
    helped (the user loaded during the request, else the session says so). When in doubt
    (the database cannot be read), yes: no-store is the safe answer."""
    from flask import g, session

    user = g.get("_login_user")
    if user is not None:
        try:
            return bool(user.is_authenticated)
        except Exception:  # noqa: BLE001
            return True
    return "_user_id" in session
