"""Translations: Simplified Chinese first, English on request (Flask-Babel).

Message ids in templates and code are the Chinese text; ``translations/en`` holds the
English. The language is chosen by the ``lang`` cookie set from the switch in the page
header, else the signed-in user's preference, else Chinese.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, gettext
from flask_login import current_user

LANGUAGES = {"zh": "中文", "en": "English"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogs(root: Path = TRANSLATIONS) -> None:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older (the .mo files are
    build products and are not committed)."""
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        try:
            with mo.open("wb") as f:
                write_mo(f, catalog)
        except OSError:  # read-only install: the packaged .mo is used as it is
            pass


def select_locale() -> str:
    lang = request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    try:
        if (
            current_user
            and getattr(current_user, "is_authenticated", False)
            and current_user.locale
        ):
            return current_user.locale
    except Exception:  # noqa: BLE001 - the user's row unreadable (database away): the default
        pass
    return "zh"


def init_app(app: Flask) -> None:
    compile_catalogs()
    Babel(app, locale_selector=select_locale, default_locale="zh")

    @app.context_processor
    def _languages():
        return {"LANGUAGES": LANGUAGES, "current_lang": select_locale(), "role_names": role_names()}


def role_names() -> dict[str, str]:
    """Role codes in the reader's language."""
    return {
        "canvasser": gettext("入户调查员"),
        "secretary": gettext("社区书记"),
        "supervisor": gettext("督导"),
        "analyst": gettext("创文办分析员"),
        "admin": gettext("管理员"),
    }
