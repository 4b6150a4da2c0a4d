"""The services layer: every query and every transaction of the app lives here.

Views parse input, call one service function and render. Service functions take the
database ``session`` as a keyword-only argument, and the acting ``user`` where the
answer depends on who asks: community scope is enforced here, not in the views.
"""


class ServiceError(Exception):
    """A request the service refuses, with a message meant for the user."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403
