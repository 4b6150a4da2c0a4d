"""What every ``flask`` command shares: a database session and a one-line failure."""

from __future__ import annotations

import click
from flask import current_app
from sqlmodel import Session


def open_session() -> Session:
    """A database session for a command (closed by the caller's ``with``)."""
    return Session(current_app.extensions["engine"], expire_on_commit=False)


def fail(message: str) -> None:
    """Stop the command with a one-line error and a non-zero exit."""
    raise click.ClickException(message)
