"""Home (each role to its own start page), language switch, health check."""

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user, login_required

from .i18n import LANGUAGES
from .models import Role

bp = Blueprint("main", __name__)

START_PAGES = {
    Role.CANVASSER: "canvass.index",
    Role.SECRETARY: "results.my_community",
    Role.ANALYST: "analysis.index",
    Role.ADMIN: "admin.index",
}


@bp.route("/")
@login_required
def home():
    return redirect(url_for(START_PAGES[Role(current_user.role)]))


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
    return {"status": "ok"}
