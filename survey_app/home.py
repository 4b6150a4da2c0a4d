"""Home (each role to its own start page), language switch, health and readiness."""

from flask import Blueprint, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .errors import abort_with
from .i18n import LANGUAGES
from .models import Role

bp = Blueprint("main", __name__)

START_PAGES = {
    Role.CANVASSER: "canvass.index",
    Role.SECRETARY: "results.my_community",
    Role.ANALYST: "analysis.index",
    Role.ADMIN: "admin.index",
    Role.SUPERVISOR: "review.queue",
}


@bp.route("/")
@login_required
def home():
    page = START_PAGES.get(current_user.role)
    if page is None:  # a role whose pages are not in this build yet (e.g. 督导)
        abort_with(403, _("您的角色暂无可用的页面,请联系管理员。"))
    return redirect(url_for(page))


@bp.route("/lang/<code>")
def set_language(code: str):
    target = request.referrer or url_for("main.home")
    if not target.startswith(request.host_url):
        target = url_for("main.home")
    response = make_response(redirect(target))
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers (nothing else is checked; see /readyz)."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """Readiness: the database answers and takes writes (503 + Retry-After if not)."""
    from .db import engine
    from .health import readiness

    ready, checks = readiness(engine())
    if ready:
        return {"status": "ok", **checks}, 200, {"Cache-Control": "no-store"}
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    return {"status": "unavailable", **checks}, 503, headers
