"""The raw export for analysts' statistics packages: SPSS ``.sav`` and Stata ``.dta`` with
variable and value labels (in Chinese), and a codebook.

Built from the same rows as the CSV/XLSX raw export (:func:`.exports.raw_rows`), so every
column there — design columns and weights included — is here too. Each questionnaire item
becomes:

- single choice → a numeric code 1…k with value labels (the choice's label), the original
  code kept in the codebook;
- multiple choice → the joined codes (as in the CSV) **and** one 0/1 column per choice;
- yes/no → 1 = 是, 0 = 否; number → numeric; free text → text (control characters removed).

pyreadstat (ReadStat, the library behind R's haven) writes both formats.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session

import instruments

from ..models import Wave
from . import exports

# Control characters other than tab/newline break XLSX and some readers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Stata allows 32 characters in a name, but ReadStat names the value-label sets after
# their variables and refuses some 31-character ones: 28 leaves it room.
NAME_MAX = 28
DTA_LABEL_MAX = 80  # Stata's limit on a variable label


@dataclass
class Variable:
    """One column of the labelled export: its name, label, type and codes."""

    name: str
    label: str
    kind: str  # "numeric" or "text"
    codes: dict[int, str] = field(default_factory=dict)  # numeric code → value label
    source_codes: dict[int, str] = field(default_factory=dict)  # numeric code → choice code
    condition: str = ""  # the skip condition (relevant), as written in the questionnaire


@dataclass
class Labelled:
    frame: pd.DataFrame
    variables: list[Variable]


_FIXED_LABELS = {
    "row": "序号(不对应任何人或住户)",
    "wave": "测评轮次",
    "street": "街道编码",
    "community": "社区编码",
    "building": "社区编码/楼栋",
    "age_group": "年龄组",
    "sex": "性别",
    "residence_years": "居住年限",
    "weight": "权数",
}


def labelled_frame(*, session: Session, wave: Wave, instrument) -> Labelled:
    """The raw export as a data frame with a description of every variable."""
    rows = exports.raw_rows(session=session, wave=wave, instrument=instrument)
    header = next(rows)
    raw = pd.DataFrame(list(rows), columns=header, dtype=object)
    by_column = {f"q_{i.name}": i for i in instrument.items}
    indicators = {i.key: i for i in instrument.indicators}
    profile_items = {
        role: next((i for i in instrument.items if i.name == name), None)
        for role, name in (instrument.profile or {}).items()
    }
    names = _NameMaker()
    in_repeat = exports.repeat_names(instrument)
    columns: dict[str, pd.Series] = {}
    variables: list[Variable] = []
    for col in header:
        series = raw[col]
        item = by_column.get(col) or profile_items.get(col)
        if item is not None and item.name in in_repeat:
            # One answer per member, joined by " | ": text, labelled with its repeat.
            var = Variable(names.make(col), f"{item.label.zh}(每位成员一项,以 | 分隔)", "text")
            columns[var.name] = series.map(_text)
            variables.append(var)
            continue
        if col in indicators:
            var = Variable(
                names.make(col),
                f"{indicators[col].label.zh}(1 肯定,0 否,空白 不适用)",
                "numeric",
                {1: "是", 0: "否"},
            )
            columns[var.name] = _numeric(series)
            variables.append(var)
        elif item is not None and item.type in (
            instruments.ItemType.SINGLE,
            instruments.ItemType.MULTIPLE,
        ):
            choices = instrument.choice_lists.get(item.choices, ())
            label = item.label.zh if col.startswith("q_") else _FIXED_LABELS.get(col, col)
            if item.type == instruments.ItemType.SINGLE:
                var, values = _single(names.make(col), label, choices, series, item)
                columns[var.name] = values
                variables.append(var)
            else:
                var = Variable(names.make(col), f"{label}(多选,以 ; 分隔)", "text")
                var.condition = _condition(item)
                columns[var.name] = series.map(_text)
                variables.append(var)
                for choice in choices:
                    dummy = Variable(
                        names.make(f"{col}_{choice.code}"),
                        f"{label}:{choice.label.zh}",
                        "numeric",
                        {1: "选中", 0: "未选"},
                        condition=var.condition,
                    )
                    columns[dummy.name] = series.map(_has(choice.code))
                    variables.append(dummy)
        elif item is not None and item.type == instruments.ItemType.YESNO:
            var = Variable(
                names.make(col), item.label.zh, "numeric", {1: "是", 0: "否"}, {1: "yes", 0: "no"}
            )
            var.condition = _condition(item)
            columns[var.name] = series.map({"yes": 1, "no": 0}.get)
            variables.append(var)
        elif item is not None and item.type == instruments.ItemType.NUMBER:
            var = Variable(names.make(col), item.label.zh, "numeric", condition=_condition(item))
            columns[var.name] = _numeric(series)
            variables.append(var)
        else:
            label = item.label.zh if item is not None else _FIXED_LABELS.get(col, col)
            numeric = col in ("row", "weight") or _all_numeric(series)
            var = Variable(names.make(col), label, "numeric" if numeric else "text")
            if item is not None:
                var.condition = _condition(item)
            columns[var.name] = _numeric(series) if numeric else series.map(_text)
            variables.append(var)
    return Labelled(pd.DataFrame(columns), variables)


def _single(name, label, choices, series, item) -> tuple[Variable, pd.Series]:
    codes = {i: c.label.zh for i, c in enumerate(choices, start=1)}
    source = {i: c.code for i, c in enumerate(choices, start=1)}
    back = {c: i for i, c in source.items()}
    var = Variable(name, label, "numeric", codes, source, _condition(item))
    return var, series.map(lambda v: back.get(v) if v not in ("", None) else None).astype(float)


def _condition(item) -> str:
    return item.relevant.source if item.relevant is not None else ""


def _has(code: str) -> Callable[[object], float | None]:
    def check(value) -> float | None:
        if value in ("", None):
            return None
        return 1.0 if code in str(value).split(";") else 0.0

    return check


def _text(value) -> str:
    if value is None:
        return ""
    return _CONTROL.sub("", str(value))


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", None), errors="coerce").astype(float)


def _all_numeric(series: pd.Series) -> bool:
    values = series[series != ""]
    return len(values) > 0 and pd.to_numeric(values, errors="coerce").notna().all()


class _NameMaker:
    """Variable names Stata and SPSS both accept: letters, digits and _, ≤ 28 characters,
    starting with a letter, unique."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, wanted: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_]", "_", wanted)
        if not name or not name[0].isalpha():
            name = "v_" + name
        name = name[:NAME_MAX]
        base, n = name, 1
        while name.lower() in self.used:
            n += 1
            suffix = f"_{n}"
            name = base[: NAME_MAX - len(suffix)] + suffix
        self.used.add(name.lower())
        return name


# --- writers --------------------------------------------------------------------------


def _labels(data: Labelled):
    column_labels = [v.label for v in data.variables]
    value_labels = {v.name: v.codes for v in data.variables if v.codes}
    return column_labels, value_labels


def sav_bytes(data: Labelled) -> bytes:
    """SPSS .sav (UTF-8) with variable and value labels."""
    import pyreadstat

    column_labels, value_labels = _labels(data)
    return _via_file(
        ".sav",
        lambda path: pyreadstat.write_sav(
            data.frame,
            path,
            column_labels=column_labels,
            variable_value_labels=value_labels,
        ),
    )


def dta_bytes(data: Labelled) -> bytes:
    """Stata .dta (Stata 14–15 format 118: Unicode) with variable and value labels."""
    import pyreadstat

    column_labels, value_labels = _labels(data)
    # Stata keeps at most 80 characters of a variable label (the codebook has them whole).
    column_labels = [label[:DTA_LABEL_MAX] for label in column_labels]
    return _via_file(
        ".dta",
        lambda path: pyreadstat.write_dta(
            data.frame,
            path,
            column_labels=column_labels,
            variable_value_labels=value_labels,
            version=15,
        ),
    )


def _via_file(suffix: str, write) -> bytes:
    # ReadStat writes to a path, not a stream.
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        write(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


CODEBOOK_COLUMNS = ("变量", "标签", "类型", "取值与标签", "原始编码", "跳转条件")


def codebook_rows(data: Labelled) -> list[list[str]]:
    rows = []
    for v in data.variables:
        values = "; ".join(f"{k}={label}" for k, label in v.codes.items())
        source = "; ".join(f"{k}={code}" for k, code in v.source_codes.items())
        kind = "数值" if v.kind == "numeric" else "文本"
        rows.append([v.name, v.label, kind, values, source, v.condition])
    return rows


def codebook_csv(data: Labelled) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CODEBOOK_COLUMNS)
    writer.writerows(exports_safe(row) for row in codebook_rows(data))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def codebook_xlsx(data: Labelled) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "codebook"
    ws.append(list(CODEBOOK_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in codebook_rows(data):
        ws.append(exports.text_cells(ws, row))
        for cell in ws[ws.max_row]:
            cell.data_type = "s"  # text, never a formula
    for letter, width in zip("ABCDEF", (24, 40, 8, 60, 60, 40), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def exports_safe(row: list[str]) -> list[str]:
    """CSV cells that a spreadsheet will not run as formulas (OWASP's rule)."""
    return [
        "'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
        for c in row
    ]
