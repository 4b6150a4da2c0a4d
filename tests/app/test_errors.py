"""Error pages in the UI's language; JSON for JSON clients; no stack traces."""

from flask import Blueprint

from .factories import login, make_user


def test_404_page_in_chinese_then_english(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "找不到该页面或记录" in response.get_data(as_text=True)
    client.set_cookie("lang", "en")
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "not found" in response.get_data(as_text=True).lower()


def test_json_clients_get_json_errors(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["status"] == 404
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.is_json


def test_413_when_upload_too_large(settings, session):
    from survey_app import create_app

    app = create_app(settings.with_(max_content_length=1024, max_import_bytes=1024))
    admin = make_user(session, "admin")
    client = app.test_client()
    login(client, admin)
    response = client.post(
        "/admin/households/import",
        data={"file": (__import__("io").BytesIO(b"x" * 5000), "f.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "过大" in response.get_data(as_text=True)
    app.extensions["engine"].dispose()


def test_500_shows_no_stack_trace(settings):
    from survey_app import create_app

    app = create_app(settings)
    boom = Blueprint("boom", __name__)

    @boom.route("/boom")
    def _boom():
        raise RuntimeError("secret internal detail")

    app.register_blueprint(boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internal detail" not in body and "Traceback" not in body
    assert "服务器出错了" in body
    app.extensions["engine"].dispose()
