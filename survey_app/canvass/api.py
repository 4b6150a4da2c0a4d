"""JSON API for the tablet app (sync) and other clients. Errors are JSON (errors.py).

The canvasser's tablet downloads its assignments and the wave's questionnaire, and sends
visits and responses — one at a time or the whole outbox at once (``/api/sync``). Every
submission carries a UUID made on the device; see docs/offline.md for the contract.
"""

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required

from ..auth import roles_required
from ..db import get_session
from ..errors import NotFound, ServiceError, error_response
from ..fieldwork import review
from ..models import Role
from . import households, sync
from .payloads import Invalid

bp = Blueprint("api", __name__, url_prefix="/api")
CANVASS_ROLES = (Role.CANVASSER, Role.ADMIN)


@bp.route("/me")
@login_required
def me():
    return {
        "username": current_user.username,
        "display_name": current_user.display_name,
        "role": current_user.role,
        "community_id": current_user.community_id,
    }


@bp.route("/canvass/assignments")
@roles_required(*CANVASS_ROLES)
def assignments():
    body = households.assignments(session=get_session(), user=current_user)
    return body, 200, {"Cache-Control": "no-store"}


@bp.route("/canvass/instrument/<key>/<version>")
@roles_required(*CANVASS_ROLES)
def instrument(key: str, version: str):
    try:
        body = households.wave_instrument(key=key, version=version)
    except NotFound as err:
        return error_response(404, err.message)
    # A published version never changes: the tablet may keep it a day, then ask again,
    # and an unchanged questionnaire costs a 304, not its whole text.
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.set_etag(str(body["content_hash"]))
    return response.make_conditional(request)


class _TooDeep(Exception):
    pass


def _json_body():
    """The JSON body, or None when it is not JSON. JSON nested deeper than Python's
    recursion limit cannot be parsed at all: the whole request is refused (400)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise _TooDeep from None


@bp.errorhandler(_TooDeep)
def _too_deep(_err):
    return error_response(400, "JSON 嵌套过深,无法处理。", item="body")


def _result(result: sync.Result):
    return {"status": result.status, **result.body}, result.status


@bp.route("/canvass/assignments/<int:assignment_id>/reopen", methods=["POST"])
@roles_required(*CANVASS_ROLES)
def reopen_household(assignment_id: int):
    data = _json_body()
    reason = data.get("reason") if isinstance(data, dict) else None
    try:
        return households.reopen(
            session=get_session(), user=current_user, assignment_id=assignment_id, reason=reason
        )
    except ServiceError as err:
        return error_response(err.status, err.message)


@bp.route("/visits", methods=["POST"])
@roles_required(*CANVASS_ROLES)
def post_visit():
    return _result(sync.submit_visit(session=get_session(), user=current_user, data=_json_body()))


@bp.route("/responses", methods=["POST"])
@roles_required(*CANVASS_ROLES)
def post_response():
    return _result(
        sync.submit_response(session=get_session(), user=current_user, data=_json_body())
    )


@bp.route("/sync", methods=["POST"])
@roles_required(*CANVASS_ROLES)
def post_sync():
    data = _json_body()
    if not isinstance(data, dict):
        return error_response(422, "提交内容应为 JSON 对象 {visits: [...], responses: [...]}")
    visits, responses = data.get("visits", []), data.get("responses", [])
    if not isinstance(visits, list) or not isinstance(responses, list):
        return error_response(422, "visits 和 responses 应为列表", item="body")
    try:
        body = sync.sync_batch(
            session=get_session(), user=current_user, visits=visits, responses=responses
        )
    except Invalid as err:
        return error_response(422, err.message, item=err.field)
    return body, 200


@bp.route("/canvass/returned")
@roles_required(*CANVASS_ROLES)
def returned():
    """The canvasser's rejected interviews with the reviewers' comments (docs/quality.md)."""
    body = {"returned": review.returned(session=get_session(), user=current_user)}
    return body, 200, {"Cache-Control": "no-store"}
