"""The blueprints of every job, registered on the app (the composition root)."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import home
    from .auth import views as auth_views
    from .canvass import api as canvass_api
    from .canvass import held
    from .canvass import views as canvass_views
    from .feedback import views as feedback_views
    from .fieldwork import review_views
    from .fieldwork import views as fieldwork_views
    from .results import plan_views, workspace
    from .results import views as results_views
    from .setup import views as setup_views

    for module in (
        home,
        auth_views,
        canvass_views,
        results_views,
        plan_views,
        feedback_views,
        workspace,
        setup_views,
        canvass_api,
        held,
        review_views,
        fieldwork_views,
    ):
        app.register_blueprint(module.bp)
