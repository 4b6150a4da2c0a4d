"""Import an XLSForm workbook (ODK, KoboToolbox) as an instrument file.

The workbook is read by pyxform, the field's reference converter (header aliases,
``list name`` spelled with a space, ``label:English``, smart quotes, unnamed notes,
``or_other``, .xls and .xlsx), and its JSON form is translated into our YAML: groups,
repeats, calculations, dates, geopoints, metadata, choice filters, every label language.
What cannot be carried over is refused with the workbook cell it comes from
(``survey!D7: type 'image' is not supported``) — never a line of the generated YAML.
See docs/instruments.md, "XLSForm import".
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .loader import InstrumentError, loads_instrument
from .xlsform_expr import translate_expression

__all__ = ["XLSFormError", "import_xlsform", "translate_expression"]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CODE = re.compile(r"[^\s'\"]+")
SIMPLE = {"text": "text", "integer": "number", "decimal": "number", "note": "note",
          "date": "date", "time": "time", "dateTime": "datetime", "geopoint": "geopoint",
          "calculate": "calculate", "select one": "single", "select all that apply": "multiple"}  # fmt: skip
METADATA = ("start", "end", "today", "deviceid")
# pyxform keeps some type aliases as written: the type each stands for.
ALIASES = {
    "string": "text", "q string": "text", "add text prompt": "text", "int": "integer",
    "q int": "integer", "add integer prompt": "integer", "q decimal": "decimal",
    "add decimal prompt": "decimal", "datetime": "dateTime", "date time": "dateTime",
    "q dateTime": "dateTime", "add dateTime prompt": "dateTime", "q date time": "dateTime",
    "add date time prompt": "dateTime", "q date": "date", "add date prompt": "date",
    "gps": "geopoint", "location": "geopoint", "q location": "geopoint",
    "q geopoint": "geopoint", "add location prompt": "geopoint", "q note": "note",
    "add note prompt": "note", "q calculate": "calculate", "add calculate prompt": "calculate",
    "get start time": "start", "start time": "start", "get end time": "end",
    "end time": "end", "get today": "today", "device id": "deviceid",
    "get device id": "deviceid", "imei": "deviceid", "uri:deviceid": "deviceid",
}  # fmt: skip
# Device metadata the service never records (DESIGN: no names, phone numbers, ids).
NOT_RECORDED = (
    "phonenumber", "get phone number", "uri:phonenumber", "simserial", "sim id", "get sim id",
    "uri:simserial", "subscriberid", "subscriber id", "get subscriber id", "uri:subscriberid",
    "username", "uri:username", "email", "uri:email", "audit", "start-geopoint",
    "background-audio", "background-geopoint",
)  # fmt: skip
ACK_LIST = "acknowledge_ok"
LAYOUT_NOTE = "reserved_name_for_field_list_labels_"  # pyxform's table-list header rows
LANG_ALIASES = {
    "zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "chinese": "zh", "中文": "zh",
    "简体中文": "zh", "汉语": "zh", "en": "en", "english": "en", "英文": "en", "英语": "en",
}  # fmt: skip
CHOICE_KEYS = {"name", "label", "media", "image", "audio", "video", "big-image", "sms_option"}
TRUE = ("yes", "true", "true()", "1")
FALSE = ("", "no", "false", "false()", "0")
# our field -> the survey-sheet headers pyxform reads it from (first found names the cell)
COLUMNS = {
    "type": ("type",), "name": ("name",), "label": ("label",), "hint": ("hint",),
    "relevant": ("relevant", "relevance", "bind::relevant"),
    "constraint": ("constraint", "bind::constraint"),
    "constraint_message": ("constraint_message", "constraint message", "jr:constraintmsg"),
    "required": ("required", "bind::required"),
    "required_message": ("required_message", "required message", "jr:requiredmsg"),
    "calculation": ("calculation", "calculate", "bind::calculate"),
    "choice_filter": ("choice_filter", "choice filter"),
    "repeat_count": ("repeat_count", "jr:count", "count", "control::jr:count"),
    "default": ("default",), "read_only": ("read_only", "readonly", "bind::readonly"),
}  # fmt: skip


class XLSFormError(Exception):
    """Everything in the workbook that cannot be imported, one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass
class _Cells:
    """Where things are in the workbook: survey rows by item name, column letters."""

    rows: dict[str, int] = field(default_factory=dict)
    letters: dict[str, str] = field(default_factory=dict)  # lower-case header -> letter
    types: dict[str, str] = field(default_factory=dict)  # item name -> type as written
    choice_rows: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    choice_letters: dict[str, str] = field(default_factory=dict)

    def choice_cell(self, list_name: str, code: str) -> str | None:
        rows = self.choice_rows.get((list_name, code))
        if not rows:
            return None
        letter = self.choice_letters.get("name", "B")
        return f"choices!{letter}{rows[-1]}"

    def cell(self, name: str, column: str) -> str:
        row = self.rows.get(name)
        letter = next(
            (self.letters[h] for h in COLUMNS.get(column, (column,)) if h in self.letters), None
        )
        if letter is None:  # label::English (en), hint::zh ...: the first such column
            letter = next(
                (v for h, v in self.letters.items() if h.split("::")[0].strip() == column), None
            )
        if row is None:
            return f"survey ({name})"
        return f"survey!{letter}{row}" if letter else f"survey row {row} ('{column}')"


def _letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _header_letters(path: Path, wanted: str = "survey") -> dict[str, str]:
    """A sheet's header -> column letter (pyxform keeps the headers, not where)."""
    try:
        if path.suffix.lower() == ".xls":
            import xlrd

            book = xlrd.open_workbook(str(path), on_demand=True)
            sheet = next(book.sheet_by_name(n) for n in book.sheet_names() if n.lower() == wanted)
            header = [sheet.cell_value(0, c) for c in range(sheet.ncols)]
        else:
            from openpyxl import load_workbook

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                book = load_workbook(path, read_only=True, data_only=True)
            try:
                sheet = next(book[n] for n in book.sheetnames if n.strip().lower() == wanted)
                header = [c.value for c in next(sheet.iter_rows(max_row=1))]
            finally:
                book.close()
    except Exception:  # noqa: BLE001 - letters are a courtesy; rows still name the place
        return {}
    out = {}
    for index, value in enumerate(header):
        if value not in (None, ""):
            out.setdefault(re.sub(r"\s+", " ", str(value)).strip().lower(), _letter(index))
    return out


def _survey_rows(workbook: Any) -> tuple[dict[str, int], dict[str, str]]:
    rows: dict[str, int] = {}
    types: dict[str, str] = {}
    for index, row in enumerate(workbook.survey or [], start=2):
        keys = {k.strip().lower(): v for k, v in row.items()}
        name = str(keys.get("name") or "").strip()
        if name and name not in rows:
            rows[name] = index
            types[name] = str(keys.get("type") or "").strip()
    return rows, types


def _choice_rows(workbook: Any) -> dict[tuple[str, str], list[int]]:
    out: dict[tuple[str, str], list[int]] = {}
    for index, row in enumerate(workbook.choices or [], start=2):
        keys = {re.sub(r"\s+", "_", k.strip().lower()): v for k, v in row.items()}
        list_name, code = keys.get("list_name"), keys.get("name")
        if list_name and code:
            out.setdefault((str(list_name).strip(), str(code).strip()), []).append(index)
    return out


def _sniff(path: Path) -> str | None:
    """The workbook's real kind from its first bytes: a zip (.xlsx) or OLE2 (.xls)."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        return ".xlsx"
    if head.startswith(bytes.fromhex("d0cf11e0a1b11ae1")):
        return ".xls"
    return None


def _read(path: Path) -> tuple[dict[str, Any], _Cells, list[str]]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    if not path.is_file():
        raise XLSFormError([f"{path}: no such file"])
    kind = _sniff(path)
    if kind is None:
        raise XLSFormError([f"{path.name}: not an .xlsx or .xls workbook"])
    if path.suffix.lower() != kind and not (kind == ".xlsx" and path.suffix.lower() == ".xlsm"):
        # an upload saved under the wrong extension (.xls bytes named .xlsx, or the reverse)
        with tempfile.TemporaryDirectory() as tmp:
            fixed = Path(tmp) / (path.stem + kind)
            shutil.copyfile(path, fixed)
            form, cells, notes = _read(fixed)
            return form, cells, notes
    notes: list[str] = []
    try:
        workbook = get_xlsform(str(path))
    except Exception as exc:  # noqa: BLE001 - a broken file may raise anything
        reason = _one_line(str(exc))
        raise XLSFormError([f"{path.name}: not a readable XLSForm workbook ({reason})"]) from None
    try:
        rows, types = _survey_rows(workbook)
        cells = _Cells(rows, _header_letters(path), types, _choice_rows(workbook),
                       _header_letters(path, "choices"))  # fmt: skip
        form = workbook_to_json(
            workbook_dict=workbook,
            form_name="data",
            fallback_form_name=workbook.fallback_form_name,
            default_language="default",
            warnings=notes,
        )
    except PyXFormError as exc:  # pyxform's messages name the sheet and row
        raise XLSFormError([f"{path.name}: {_one_line(str(exc))}"]) from None
    except Exception as exc:  # noqa: BLE001 - a broken file may raise anything
        raise XLSFormError([f"{path.name}: not a readable XLSForm workbook ({exc})"]) from None
    return form, cells, notes


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- labels ----------------------------------------------------------------------------------


def _language(name: str) -> str:
    """A language column's name as a code: 'Chinese (zh)' -> zh, 'Français' -> français."""
    m = re.search(r"\(([^)]+)\)\s*$", name)
    code = (m.group(1) if m else name).strip().lower()
    code = LANG_ALIASES.get(code, code)
    return re.sub(r"[^a-z0-9_-]+", "_", code).strip("_-") or "other"


class _Translator:
    def __init__(self, form: dict[str, Any], cells: _Cells) -> None:
        self.form = form
        self.cells = cells
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.default_language = form.get("default_language") or "default"
        self.used_lists: dict[str, list[dict[str, Any]]] = {}
        self.rows: dict[str, int] = dict(cells.rows)
        self.rename = _renames(form)
        self.emitted: set[str] = set()
        self.list_names: dict[str, str] = {}

    def label(self, value: Any) -> dict[str, Any] | str | None:
        if value in (None, "", {}):
            return None
        if isinstance(value, str):
            return self.renamed(value)
        value = {k: self.renamed(str(v)) for k, v in value.items()}
        texts = {k: str(v).strip() for k, v in value.items() if str(v).strip()}
        codes = {k: _language(k) for k in texts}
        by_code: dict[str, str] = {}
        for k, text in texts.items():
            by_code.setdefault(codes[k], text)
        zh = by_code.get("zh") or texts.get(self.default_language) or by_code.get("default")
        zh = zh or next(iter(texts.values()), None)
        if zh is None:
            return None
        out: dict[str, Any] = {"zh": zh}
        if "en" in by_code:
            out["en"] = by_code["en"]
        for code, text in by_code.items():
            if code not in ("zh", "en", "default"):
                out[code] = text
        return out if len(out) > 1 else zh

    # -- survey elements ---------------------------------------------------------------------
    def elements(
        self, children: list[dict[str, Any]], in_repeat: bool, parent: str = ""
    ) -> list[dict[str, Any]]:
        out = []
        for element in children:
            item = self.element(element, in_repeat, parent)
            if item is not None:
                out.append(item)
        return out

    def element(self, e: dict[str, Any], in_repeat: bool, parent: str) -> dict[str, Any] | None:
        kind, name = e.get("type", ""), e.get("name", "")
        kind = ALIASES.get(kind, kind)
        if name.startswith("generated_note_name_"):
            self.rows.setdefault(name, int(name.rsplit("_", 1)[1]))
        if kind == "group" and (e.get("control") or {}).get("bodyless"):
            return None  # pyxform's own meta group (instanceID)
        if name.startswith(LAYOUT_NOTE) and not e.get("label"):
            return None  # the header row of a table-list: layout only
        ours = self.rename.get(name, name)
        if ours in self.emitted and parent:  # pyxform allows a name again in another group
            ours = f"{parent}_{ours}"
        self.emitted.add(ours)
        if not NAME.fullmatch(ours):
            self.errors.append(
                f"{self.cells.cell(name, 'name')}: name '{name}' must be letters, digits and _"
            )
            return None
        if ours != name:
            self.rows.setdefault(ours, self.rows.get(name, 0))
            self.warnings.append(
                f"{self.cells.cell(name, 'name')}: name '{name}' is kept as '{ours}'"
            )
            e = {**e, "name": ours}
        if kind == "note" and (e.get("bind") or {}).get("calculate"):
            kind = "calculate"  # a note showing a calculated value
        if kind == "range":
            return self.range(e)
        if kind == "hidden":  # a value set by the form, never shown: a fixed calculation
            fixed = str(e.get("default") or "").replace("'", "")
            return {"name": ours, "type": "calculate", "calculation": f"'{fixed}'"}
        if kind == "acknowledge":  # ODK's "OK" tick: one choice, OK
            self.used_lists.setdefault(
                ACK_LIST, [{"name": "OK", "label": {"zh": "确认", "en": "OK"}}]
            )
            return self.question({**e, "itemset": ACK_LIST, "choices": None}, "single")
        name = ours
        if kind in ("group", "repeat"):
            return self.group(e, kind, in_repeat)
        if kind in METADATA:
            return {"name": name, "metadata": kind}
        if kind in NOT_RECORDED:
            self.warnings.append(
                f"{self.cells.cell(name, 'type')}: '{kind}' is not recorded (the service keeps "
                "no device or personal identifiers); the row is left out"
            )
            return None
        if kind == "phone number":
            self.errors.append(
                f"{self.cells.cell(name, 'type')}: type '{kind}' asks for a phone number; the "
                "service stores no phone numbers (remove the question)"
            )
            return None
        if kind not in SIMPLE:
            what = self.cells.types.get(name) or e.get("type", "?")
            self.errors.append(f"{self.cells.cell(name, 'type')}: type '{what}' is not supported")
            return None
        return self.question(e, SIMPLE[kind])

    def group(self, e: dict[str, Any], kind: str, in_repeat: bool) -> dict[str, Any] | None:
        name = e["name"]
        if kind == "repeat" and in_repeat:
            self.errors.append(
                f"{self.cells.cell(name, 'type')}: a repeat inside a repeat is not supported"
            )
            return None
        items = self.elements(e.get("children") or [], in_repeat or kind == "repeat", name)
        if not items:
            return None  # an empty group shows nothing
        out: dict[str, Any] = {"name": name, "type": kind}
        label = self.label(e.get("label"))
        if label:
            out["label"] = label
        control, bind = e.get("control") or {}, e.get("bind") or {}
        self.expression(out, name, "relevant", bind.get("relevant"))
        if "field-list" in (control.get("appearance") or ""):
            out["field_list"] = "true"
        if kind == "repeat":
            self.expression(out, name, "repeat_count", control.get("jr:count"))
        out["items"] = items
        return out

    def range(self, e: dict[str, Any]) -> dict[str, Any] | None:
        """A slider (range): a number between its start and end."""
        params = e.get("parameters") or {}
        item = self.question({**e, "type": "decimal"}, "number")
        if item is None:
            return None
        start, end, step = (
            str(params.get(k, d)) for k, d in (("start", 1), ("end", 10), ("step", 1))
        )
        item["min"], item["max"] = start, end
        if all(re.fullmatch(r"-?[0-9]+", v) for v in (start, end, step)):
            item["integer"] = "true"
        return item

    def question(self, e: dict[str, Any], kind: str) -> dict[str, Any] | None:
        name = e["name"]
        bind = e.get("bind") or {}
        item: dict[str, Any] = {"name": name, "type": kind}
        label = self.label(e.get("label"))
        if label is not None:
            item["label"] = label
        elif kind != "calculate":
            self.errors.append(f"{self.cells.cell(name, 'label')}: '{name}' has no label")
            return None
        if name.endswith("_other") and e.get("label") == "Specify other.":
            item["label"] = {"zh": "请注明其他", "en": "Specify other."}  # pyxform's or_other
        hint = self.label(e.get("hint"))
        if hint:
            item["hint"] = hint
        if kind in ("single", "multiple"):
            item["choices"] = self.choices(e)
        if kind == "number" and e.get("type") == "integer":
            item["integer"] = "true"
        self.required(item, name, bind)
        for column, value in (("relevant", bind.get("relevant")),
                              ("constraint", bind.get("constraint")),
                              ("calculation", bind.get("calculate")),
                              ("choice_filter", e.get("choice_filter"))):  # fmt: skip
            self.expression(item, name, column, value)
        for ours, theirs in (("constraint_message", "jr:constraintMsg"),
                             ("required_message", "jr:requiredMsg")):  # fmt: skip
            message = self.label(bind.get(theirs))
            if message and (ours != "constraint_message" or "constraint" in item):
                item[ours] = message
        self.default(item, name, e.get("default"))
        if str(bind.get("readonly", "")).strip().lower() in TRUE and kind != "calculate":
            item["read_only"] = "true"
        return item

    def required(self, item: dict[str, Any], name: str, bind: dict[str, Any]) -> None:
        text = str(bind.get("required", "")).strip()
        if text.lower() in TRUE and item["type"] not in ("note", "calculate"):
            item["required"] = "true"
        elif text.lower() not in FALSE and item["type"] not in ("note", "calculate"):
            self.errors.append(
                f"{self.cells.cell(name, 'required')}: required '{text}' must be yes or no "
                "(a condition is not supported; use relevant)"
            )

    def default(self, item: dict[str, Any], name: str, value: Any) -> None:
        if value in (None, ""):
            return
        text = str(value).strip()
        if "${" in text or "(" in text:
            self.errors.append(
                f"{self.cells.cell(name, 'default')}: default '{text}' is an expression; only "
                "a fixed answer is supported"
            )
        elif item["type"] not in ("note", "calculate"):
            item["default"] = text

    def renamed(self, text: str) -> str:
        if not self.rename or "${" not in text:
            return text
        return re.sub(
            r"\$\{\s*([^}\s]+)\s*\}", lambda m: "${" + self.rename.get(m[1], m[1]) + "}", text
        )

    def expression(self, item: dict[str, Any], name: str, column: str, value: Any) -> None:
        if value in (None, ""):
            return
        try:
            item[column] = translate_expression(self.renamed(str(value)), column)
        except ValueError as exc:
            self.errors.append(f"{self.cells.cell(name, column)}: {exc}")

    def choices(self, e: dict[str, Any]) -> str:
        list_name = e.get("itemset") or e.get("list_name") or ""
        entries = self.used_lists.setdefault(list_name, [])
        ours = re.sub(r"[^A-Za-z0-9_]", "_", list_name)
        if ours != list_name and NAME.fullmatch(ours):
            self.list_names[list_name] = ours
        codes = {str(c.get("name")) for c in entries}
        for c in e.get("choices") or (self.form.get("choices") or {}).get(list_name, []):
            if str(c.get("name")) not in codes or not codes:
                entries.append(c)  # or_other adds 'other' to one question's copy only
        return self.list_names.get(list_name, list_name)


def _renames(form: dict[str, Any]) -> dict[str, str]:
    """Names our expressions cannot spell (q-1, q.1) and -> a name of letters, digits
    and _ that is free (a name used twice, in different groups, is renamed where it is met
    the second time: ``_Translator.element``)."""
    seen: list[str] = []

    def walk(children: list[dict[str, Any]]) -> None:
        for e in children:
            if e.get("name") and not (e.get("control") or {}).get("bodyless"):
                seen.append(e["name"])
                walk(e.get("children") or [])

    walk(form.get("children") or [])
    taken = set(seen)
    out: dict[str, str] = {}
    for name in dict.fromkeys(seen):
        new = re.sub(r"[.-]", "_", name)
        if new != name:
            while new in taken:
                new += "_"
            taken.add(new)
            out[name] = new
    return out


def _choice_lists(tr: _Translator) -> dict[str, list[dict[str, Any]]]:
    lists: dict[str, list[dict[str, Any]]] = {}
    for list_name, entries in tr.used_lists.items():
        list_name = tr.list_names.get(list_name, list_name)
        if not NAME.fullmatch(list_name):
            tr.errors.append(f"choices: list name '{list_name}' must be letters, digits and _")
            continue
        out = []
        for c in entries:
            code = str(c.get("name", "")).strip()
            if not CODE.fullmatch(code):
                tr.errors.append(
                    f"choices ({list_name}): code '{code}' must not be empty or contain spaces"
                )
                continue
            label = tr.label(c.get("label")) or code
            raw = c.get("label")
            if (
                code == "other"
                and raw
                and set(raw.values() if isinstance(raw, dict) else [raw]) == {"Other"}
            ):
                label = {"zh": "其他", "en": "Other"}  # pyxform's or_other
            entry: dict[str, Any] = {"code": code, "label": label}
            filters = {
                k: str(v) for k, v in c.items() if k not in CHOICE_KEYS and NAME.fullmatch(k)
            }
            if filters:
                entry["filters"] = filters
            out.append(entry)
        if out:
            lists[list_name] = out
    return lists


def _key_and_version(
    path: Path, form: dict[str, Any], key: str | None, version: int | None, tr: _Translator
) -> tuple[str, int]:
    if key is None:
        key = re.sub(r"[^A-Za-z0-9_]", "_", form.get("id_string") or path.stem)
        if not NAME.fullmatch(key):
            key = f"form_{key}"
    elif not NAME.fullmatch(key):
        tr.errors.append(f"--key '{key}' must be letters, digits and _")
    if version is None:
        text = str(form.get("version") or "").strip()
        if text and not re.fullmatch(r"[1-9][0-9]*", text):
            tr.warnings.append(f"settings: version '{text}' is not a whole number; version 1 used")
        version = int(text) if re.fullmatch(r"[1-9][0-9]*", text) else 1
    elif version < 1:
        tr.errors.append(f"--version {version} must be ≥ 1")
    return key, version


def import_xlsform(
    path: str | Path,
    *,
    key: str | None = None,
    version: int | None = None,
    notes: list[str] | None = None,
) -> str:
    """The YAML text of the instrument in the XLSForm workbook at ``path``.

    ``key`` defaults to settings' ``form_id`` (else the file name), ``version`` to
    settings' ``version`` (else 1). Raises ``XLSFormError`` listing every problem, each
    naming its workbook cell. ``notes``, when given, receives the warnings (rows left out,
    pyxform's own warnings, expressions normalised).
    """
    path = Path(path)
    form, cells, pyxform_notes = _read(path)
    tr = _Translator(form, cells)
    items = tr.elements(form.get("children") or [], False)
    lists = _choice_lists(tr)
    key, version = _key_and_version(path, form, key, version, tr)
    if not items and not tr.errors:
        tr.errors.append(f"{path.name}: the survey sheet has no question this service can ask")
    if tr.errors:
        raise XLSFormError(tr.errors)
    title = str(form.get("title") or key)
    data: dict[str, Any] = {"key": key, "version": version, "title": {"zh": title}}
    data["choices"] = lists
    data["items"] = items
    text = f"# Imported from {path.name} by survey-instrument import-xlsform.\n" + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=1000
    )
    inst = _check(text, path, tr)
    if notes is not None:
        notes += [_one_line(n) for n in pyxform_notes] + tr.warnings + list(inst.warnings)
    return text


def _check(text: str, path: Path, tr: _Translator) -> Any:
    """Load the generated text with the normal loader; report problems by workbook cell."""
    try:
        return loads_instrument(text, source=str(path))
    except InstrumentError as exc:
        lines = []
        for p in exc.problems:
            column = next((c for c in COLUMNS if p.reason.startswith((f"{c} ", f"'{c}'"))), "name")
            code = re.search(r"code '([^']*)'", p.reason)
            cell = (
                tr.cells.choice_cell(p.where[len("choices.") :], code.group(1))
                if p.where.startswith("choices.") and code
                else None
            )
            if p.where in tr.rows:
                tr.cells.rows.setdefault(p.where, tr.rows[p.where])
                lines.append(f"{tr.cells.cell(p.where, column)}: {p.where}: {p.reason}")
            elif cell:
                lines.append(f"{cell}: {p.where}: {p.reason}")
            else:
                lines.append(f"{path.name}: {p.where}: {p.reason}")
        raise XLSFormError(lines) from None
