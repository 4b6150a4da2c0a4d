"""Import the compatible subset of an XLSForm workbook as an instrument file.

XLSForm (ODK, KoboToolbox) is the field's common authoring format. ``import_xlsform``
reads the ``survey`` and ``choices`` sheets (and ``settings`` when present) with openpyxl
and returns the YAML text of an instrument, checked by the normal loader. Anything it
cannot carry over is an error naming the cell (``survey!B7: type 'geopoint' is not
supported``): nothing is dropped silently, except display-only ``appearance`` hints.
Groups are flattened: a group's ``relevant`` is joined with ``and`` to each item inside
it, and a labelled group becomes a note. See docs/instruments.md, "XLSForm import".
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .loader import InstrumentError, loads_instrument
from .xlsform_expr import translate_expression

__all__ = ["XLSFormError", "import_xlsform", "translate_expression"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SIMPLE_TYPES = {"text": "text", "integer": "number", "decimal": "number", "note": "note"}
SELECT_TYPES = {"select_one": "single", "select one": "single", "select_multiple": "multiple",
                "select multiple": "multiple"}  # fmt: skip
LANG_ALIASES = {
    "zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "chinese": "zh", "中文": "zh",
    "简体中文": "zh", "en": "en", "english": "en", "英文": "en",
}  # fmt: skip
TRANSLATED = ("label", "hint", "constraint_message")
SURVEY_COLUMNS = ("type", "name", "required", "relevant", "constraint", "appearance", *TRANSLATED)
CHOICE_COLUMNS = ("list_name", "name", "label")
IGNORED_COLUMNS = ("appearance",)  # display hints only
TRUE = ("yes", "true", "true()", "1")
FALSE = ("", "no", "false", "false()", "0")


class XLSFormError(Exception):
    """Everything in the workbook that cannot be imported, one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class _Sheet:
    title: str
    columns: dict[str, int]  # normalized column name -> 0-based index
    rows: list[tuple[int, list[str]]]  # (1-based row number, cell texts)
    errors: list[str] = field(default_factory=list)

    def cell(self, row: int, column: str) -> str:
        col = self.columns.get(column, self.columns.get(f"{column}::zh"))
        return f"{self.title}!{get_column_letter(col + 1) if col is not None else 'A'}{row}"

    def get(self, values: list[str], column: str) -> str:
        col = self.columns.get(column)
        return values[col] if col is not None and col < len(values) else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _column_name(header: str, known: tuple[str, ...]) -> tuple[str, str | None]:
    """A header as 'type', 'label::zh', ...; with a reason when the column is unsupported."""
    base, sep, lang = header.partition("::")
    base = base.strip().lower()
    if base not in known:
        return header, f"column '{header}' is not supported"
    if not sep:
        return base, None
    lang = lang.strip()
    m = re.search(r"\(([^)]+)\)\s*$", lang)
    code = LANG_ALIASES.get((m.group(1) if m else lang).strip().lower())
    if code is None or base not in TRANSLATED:
        return header, f"column '{header}': language '{lang}' is not supported (use zh or en)"
    return f"{base}::{code}", None


def _read_sheet(ws: Any, known: tuple[str, ...]) -> _Sheet:
    rows = list(ws.iter_rows(values_only=True))
    sheet = _Sheet(ws.title, {}, [])
    if not rows:
        return sheet
    unsupported: dict[int, str] = {}
    for index, raw in enumerate(rows[0]):
        header = _text(raw)
        if not header:
            continue
        name, reason = _column_name(header, known)
        if reason is not None:
            unsupported[index] = reason
        elif name not in IGNORED_COLUMNS:
            sheet.columns[name] = index
    for number, raw in enumerate(rows[1:], start=2):
        values = [_text(v) for v in raw]
        if any(values):
            sheet.rows.append((number, values))
    for col, reason in unsupported.items():
        used = [n for n, v in sheet.rows if col < len(v) and v[col]]
        if used:
            sheet.errors.append(f"{ws.title}!{get_column_letter(col + 1)}{used[0]}: {reason}")
    return sheet


def _label(sheet: _Sheet, values: list[str], base: str) -> dict[str, str] | None:
    zh = sheet.get(values, f"{base}::zh") or sheet.get(values, base)
    en = sheet.get(values, f"{base}::en")
    if not zh:
        return None
    return {"zh": zh, "en": en} if en else {"zh": zh}


# -- the workbook ----------------------------------------------------------------------------


@dataclass
class _Import:
    errors: list[str] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    groups: list[tuple[int, str | None]] = field(default_factory=list)  # (row, relevant)

    def expression(self, sheet: _Sheet, row: int, values: list[str], column: str) -> str | None:
        source = sheet.get(values, column)
        if not source:
            return None
        try:
            return translate_expression(source)
        except ValueError as exc:
            self.errors.append(f"{sheet.cell(row, column)}: {exc}")
            return None


def _required(sheet: _Sheet, row: int, values: list[str], imp: _Import) -> bool:
    text = sheet.get(values, "required").lower()
    if text in TRUE:
        return True
    if text not in FALSE:
        imp.errors.append(f"{sheet.cell(row, 'required')}: required '{text}' must be yes or no")
    return False


def _group_relevant(imp: _Import, own: str | None) -> str | None:
    parts = [r for _, r in imp.groups if r] + ([own] if own else [])
    if len(parts) <= 1:
        return parts[0] if parts else None
    return " and ".join(f"({p})" for p in parts)


def _survey_row(sheet: _Sheet, row: int, values: list[str], lists: set[str], imp: _Import) -> None:
    raw_type = sheet.get(values, "type")
    kind = re.sub(r"\s+", " ", raw_type.strip().lower())
    type_cell = sheet.cell(row, "type")
    if not kind:
        imp.errors.append(f"{type_cell}: the row has no type")
        return
    if kind in ("begin group", "begin_group"):
        imp.groups.append((row, imp.expression(sheet, row, values, "relevant")))
        label = _label(sheet, values, "label")
        name = sheet.get(values, "name")
        if label and name:
            _add_item(sheet, row, values, imp, {"type": "note", "label": label}, own=None)
        return
    if kind in ("end group", "end_group"):
        if not imp.groups:
            imp.errors.append(f"{type_cell}: 'end group' without 'begin group'")
        else:
            imp.groups.pop()
        return
    select = re.fullmatch(r"(select_one|select one|select_multiple|select multiple)\s+(\S+)", kind)
    if select:
        list_name = raw_type.split()[-1]
        if list_name not in lists:
            imp.errors.append(f"{type_cell}: choice list '{list_name}' is not on the choices sheet")
        spec = {"type": SELECT_TYPES[select.group(1)], "choices": list_name}
    elif kind in SIMPLE_TYPES:
        spec = {"type": SIMPLE_TYPES[kind]}
        if kind == "integer":
            spec["integer"] = True
    else:
        imp.errors.append(f"{type_cell}: type '{raw_type}' is not supported")
        return
    own = imp.expression(sheet, row, values, "relevant")
    _add_item(sheet, row, values, imp, spec, own)


def _add_item(
    sheet: _Sheet, row: int, values: list[str], imp: _Import, spec: dict[str, Any], own: str | None
) -> None:
    name = sheet.get(values, "name")
    if not name:
        imp.errors.append(f"{sheet.cell(row, 'name')}: the row has no name")
        return
    if not NAME.fullmatch(name):
        imp.errors.append(f"{sheet.cell(row, 'name')}: name '{name}' must be letters, digits and _")
        return
    item: dict[str, Any] = {"name": name, **spec}
    label = _label(sheet, values, "label")
    if label is None:
        imp.errors.append(f"{sheet.cell(row, 'label')}: '{name}' has no Chinese (or plain) label")
        return
    item["label"] = label
    hint = _label(sheet, values, "hint")
    if hint:
        item["hint"] = hint
    if spec["type"] != "note" and _required(sheet, row, values, imp):
        item["required"] = True
    relevant = _group_relevant(imp, own)
    if relevant:
        item["relevant"] = relevant
    constraint = imp.expression(sheet, row, values, "constraint")
    if constraint:
        item["constraint"] = constraint
        message = _label(sheet, values, "constraint_message")
        if message:
            item["constraint_message"] = message
    imp.items.append(item)
    imp.rows.setdefault(name, row)


def _choices(sheet: _Sheet, imp: _Import) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    for row, values in sheet.rows:
        list_name, code = sheet.get(values, "list_name"), sheet.get(values, "name")
        if not list_name or not code:
            missing = "list_name" if not list_name else "name"
            imp.errors.append(f"{sheet.cell(row, missing)}: the choice has no {missing}")
            continue
        label = _label(sheet, values, "label")
        if label is None:
            imp.errors.append(
                f"{sheet.cell(row, 'label')}: choice '{code}' has no Chinese (or plain) label"
            )
            continue
        lists.setdefault(list_name, []).append({"code": code, "label": label})
    return lists


def _settings(wb: Any) -> dict[str, str]:
    ws = next((wb[n] for n in wb.sheetnames if n.strip().lower() == "settings"), None)
    if ws is None:
        return {}
    rows = [[_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
    if len(rows) < 2:
        return {}
    return {h.lower(): v for h, v in zip(rows[0], rows[1], strict=False) if h}


def _sheet(wb: Any, name: str) -> Any:
    return next((wb[n] for n in wb.sheetnames if n.strip().lower() == name), None)


def _open(path: Path) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported Excel extensions
            return load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise XLSFormError([f"{path}: no such file"]) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise XLSFormError([f"{path}: not a readable .xlsx workbook ({exc})"]) from None


def _key_and_version(
    path: Path, settings: dict[str, str], key: str | None, version: int | None, errors: list[str]
) -> tuple[str, int]:
    if key is None:
        key = re.sub(r"[^A-Za-z0-9_]", "_", settings.get("form_id") or path.stem)
        if not NAME.fullmatch(key):
            key = f"form_{key}"
    elif not NAME.fullmatch(key):
        errors.append(f"--key '{key}' must be letters, digits and _")
    if version is None:
        text = settings.get("version", "")
        if text and not re.fullmatch(r"[1-9][0-9]*", text):
            errors.append(f"settings: version '{text}' is not a whole number; give --version")
        version = int(text) if re.fullmatch(r"[1-9][0-9]*", text) else 1
    elif version < 1:
        errors.append(f"--version {version} must be ≥ 1")
    return key, version


def import_xlsform(path: str | Path, *, key: str | None = None, version: int | None = None) -> str:
    """The YAML text of the instrument in the XLSForm workbook at ``path``.

    ``key`` defaults to settings' ``form_id`` (else the file name), ``version`` to
    settings' ``version`` (else 1). Raises ``XLSFormError`` listing every problem.
    """
    path = Path(path)
    wb = _open(path)
    try:
        survey_ws, choices_ws = _sheet(wb, "survey"), _sheet(wb, "choices")
        if survey_ws is None:
            raise XLSFormError([f"{path}: the workbook has no 'survey' sheet"])
        settings = _settings(wb)
        survey = _read_sheet(survey_ws, SURVEY_COLUMNS)
        choices = _read_sheet(choices_ws, CHOICE_COLUMNS) if choices_ws else None
    finally:
        wb.close()
    imp = _Import(errors=survey.errors + (choices.errors if choices else []))
    for column in ("type", "name"):
        if column not in survey.columns:
            imp.errors.append(f"survey!A1: the '{column}' column is missing")
    lists = _choices(choices, imp) if choices else {}
    if "type" in survey.columns and "name" in survey.columns:
        for row, values in survey.rows:
            _survey_row(survey, row, values, set(lists), imp)
    for row, _ in imp.groups:
        imp.errors.append(f"{survey.cell(row, 'type')}: 'begin group' is never closed")
    key, version = _key_and_version(path, settings, key, version, imp.errors)
    if imp.errors:
        raise XLSFormError(imp.errors)
    title = settings.get("form_title") or key
    data: dict[str, Any] = {"key": key, "version": version, "title": {"zh": title}}
    used = {it["choices"] for it in imp.items if "choices" in it}
    data["choices"] = {n: c for n, c in lists.items() if n in used}
    data["items"] = imp.items
    text = f"# Imported from {path.name} by survey-instrument import-xlsform.\n" + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=1000
    )
    _check(text, path, imp.rows)
    return text


def _check(text: str, path: Path, rows: dict[str, int]) -> None:
    """Load the generated text with the normal loader; report problems by survey row."""
    try:
        loads_instrument(text, source=str(path))
    except InstrumentError as exc:
        lines = []
        for p in exc.problems:
            row = rows.get(p.where)
            where = f"survey row {row} ({p.where})" if row else p.where
            lines.append(f"{path.name}: {where}: {p.reason}")
        raise XLSFormError(lines) from None
