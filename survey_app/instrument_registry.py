"""The questionnaires the app serves: every published version in the database, plus the
packaged forms (and ``INSTRUMENTS_DIR``) loaded and checked once at start-up.

A published version (``InstrumentVersion``) holds its full source and never changes, so
``get_instrument(key, version)`` serves exactly that version for as long as a wave uses
it, whatever files are on disk: publishing version 2 never makes version 1 disappear.
Instruments rebuilt from the database are kept in a per-process cache (they are
immutable). A file form that was never published is still served, for development.

A broken instrument file stops the app with a message naming the file, the item and the
reason (``instruments.InstrumentError``), rather than failing at a resident's door.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

import instruments

from .db import engine
from .models import InstrumentVersion

log = logging.getLogger(__name__)


def init_app(app: Flask, extra_dir: Path | None) -> None:
    forms = dict(instruments.load_directory(instruments.FORMS_DIR))
    if extra_dir is not None:
        forms.update(instruments.load_directory(extra_dir))
    app.extensions["instruments"] = forms
    app.extensions["instrument_versions"] = {}


def all_instruments() -> dict:
    """The file forms loaded at start-up, keyed by instrument key."""
    return current_app.extensions["instruments"]


def version_sort_key(version: str) -> tuple[int, int | str]:
    """Versions compare as numbers when they are numbers ("10" after "9")."""
    text = str(version)
    return (1, int(text)) if text.isdigit() else (0, text)


def get_instrument(key: str, version: str | None = None):
    """Questionnaire ``key`` at ``version`` (the newest published one when None), or None."""
    if version is None:
        version = _newest_version(key)
        if version is None:
            return None
    version = str(version)
    cache = current_app.extensions["instrument_versions"]
    inst = cache.get((key, version))
    if inst is not None:
        return inst
    row = _published_row(key, version)
    if row is not None:
        inst = _from_row(row)
        if inst is not None:
            cache[(key, version)] = inst
            return inst
    inst = all_instruments().get(key)
    if inst is not None and str(inst.version) == version:
        return inst
    return None


def _newest_version(key: str) -> str | None:
    versions = [str(v) for v in _published_versions(key)]
    inst = all_instruments().get(key)
    if inst is not None:
        versions.append(str(inst.version))
    return max(versions, key=version_sort_key) if versions else None


def _published_versions(key: str) -> list[str]:
    # A connection of its own: never touch the request session's transaction (sync).
    with engine().connect() as conn:
        return list(
            conn.execute(
                select(InstrumentVersion.version).where(InstrumentVersion.key == key)
            ).scalars()
        )


def _published_row(key: str, version: str):
    with engine().connect() as conn:
        return conn.execute(
            select(
                InstrumentVersion.key,
                InstrumentVersion.version,
                InstrumentVersion.source,
                InstrumentVersion.content_hash,
            ).where(InstrumentVersion.key == key, InstrumentVersion.version == version)
        ).first()


def _from_row(row):
    """The instrument rebuilt from a published row's source; rows published before the
    source was stored are served from the file form when its content hash matches."""
    if row.source:
        try:
            inst = instruments.loads_instrument(row.source, f"{row.key} v{row.version}")
        except instruments.InstrumentError:
            log.exception("published questionnaire %s v%s no longer loads", row.key, row.version)
            return None
        return replace(inst, published=True)
    inst = all_instruments().get(row.key)
    if inst is not None and str(inst.version) == row.version:
        if inst.content_hash == row.content_hash:
            return inst
    return None
