"""The questionnaires the app serves, loaded and validated once at start-up.

A broken instrument file stops the app with a message naming the file, the item and the
reason (``instruments.InstrumentError``), rather than failing at a resident's door.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

import instruments


def init_app(app: Flask, extra_dir: Path | None) -> None:
    forms = dict(instruments.load_directory(instruments.FORMS_DIR))
    if extra_dir is not None:
        forms.update(instruments.load_directory(extra_dir))
    app.extensions["instruments"] = forms


def all_instruments() -> dict:
    return current_app.extensions["instruments"]


def get_instrument(key: str, version: str | None = None):
    """The loaded instrument ``key`` (a specific version when given), or None."""
    inst = all_instruments().get(key)
    if inst is None or (version is not None and str(inst.version) != str(version)):
        return None
    return inst
