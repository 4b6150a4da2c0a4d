"""One blueprint per user job."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from .views import admin, analysis, api, auth, canvass, main, results

    for module in (main, auth, canvass, results, analysis, admin, api):
        app.register_blueprint(module.bp)
