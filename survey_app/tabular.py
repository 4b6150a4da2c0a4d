"""Reading the files a 创文办 fills in: XLSX or CSV (UTF-8 with or without BOM, or GB18030,
what Excel writes for Chinese CSV), English or Chinese headers.

Rows are streamed (openpyxl's read-only mode, the csv module over the open file), so a
large household frame never sits in memory whole. Every problem is a ``RowError`` naming
the line of the file (the header is line 1) and the column, in the words of the header.
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .errors import ServiceError

# Python's csv module refuses fields longer than this; we say so as a row error.
CSV_FIELD_LIMIT = 131_072
MAX_ERRORS = 50
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RowError:
    line: int  # line of the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行,{self.column} 列:{self.message}"

    def to_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


class FileImportError(ServiceError):
    """A file refused as a whole, with every row error found (up to ``MAX_ERRORS``)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(
            "; ".join(str(e) for e in errors[:5])
            + (f" ……共 {len(errors)} 处错误" if len(errors) > 5 else "")
        )


@dataclass(frozen=True)
class Column:
    """One column of an import: its field name, accepted headers, limits."""

    field: str
    aliases: tuple[str, ...]
    required: bool = True
    max_length: int | None = None

    @property
    def label(self) -> str:
        """The Chinese header (the one in the templates)."""
        return next((a for a in self.aliases if not a.isascii()), self.field)


class Table:
    """The rows of a file, each a dict field -> text, with its line number."""

    def __init__(self, source: bytes | Path, columns: tuple[Column, ...]):
        self.columns = columns
        self._source = source
        self.labels = {c.field: c.label for c in columns}

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, values) for each non-empty data row. Raises ``FileImportError`` when the
        file cannot be read or the header lacks a required column."""
        raw_rows = self._raw_rows()
        header = next(raw_rows, None)
        if header is None or not any(cell for cell in header[1]):
            raise FileImportError([RowError(1, "-", "文件为空")])
        index = self._header_index(header[1])
        for line, cells in raw_rows:
            if not any(cells):
                continue
            yield line, {f: cells[i] if i < len(cells) else "" for f, i in index.items()}

    def _header_index(self, header: list[str]) -> dict[str, int]:
        index: dict[str, int] = {}
        for position, raw in enumerate(header):
            name = raw.strip().lower()
            for column in self.columns:
                if name in column.aliases and column.field not in index:
                    index[column.field] = position
                    self.labels[column.field] = raw.strip()  # errors speak the file's words
        chinese = any(not cell.isascii() for cell in header)
        missing = [
            RowError(1, c.label if chinese else c.field, "缺少此列")
            for c in self.columns
            if c.required and c.field not in index
        ]
        if missing:
            raise FileImportError(missing)
        return index

    def _raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        head = self._peek()
        if head.startswith(_XLSX_MAGIC):
            yield from _xlsx_rows(self._source)
        else:
            yield from _csv_rows(self._source)

    def _peek(self) -> bytes:
        if isinstance(self._source, bytes):
            return self._source[:4]
        with open(self._source, "rb") as f:
            return f.read(4)

    def label(self, field: str) -> str:
        """The column's header as written in the file (or its Chinese name)."""
        return self.labels[field]

    def check(self, line: int, values: dict[str, str]) -> list[RowError]:
        """The errors of a row's cells: empty when required, too long."""
        return [
            e
            for c in self.columns
            if (e := check_cell(line, self.label(c.field), c, values.get(c.field, "")))
        ]


def check_cell(line: int, where: str, column: Column, value: str) -> RowError | None:
    """The row error of one cell (empty when required, too long), or None."""
    if column.required and not value:
        return RowError(line, where, "不能为空")
    if column.max_length is not None and len(value) > column.max_length:
        return RowError(line, where, f"长度 {len(value)} 超过上限 {column.max_length} 个字符")
    return None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps codes such as 110101 as numbers
    if isinstance(value, datetime | date):
        return value.isoformat()[:10] if isinstance(value, date) else value.isoformat()
    return str(value).strip()


def _xlsx_rows(source: bytes | Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not a path: openpyxl judges a path by its extension (uploads have none).
    handle = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about Excel extensions
                book = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FileImportError([RowError(1, "-", f"无法读取 Excel 文件:{exc}")]) from None
        try:
            sheet = book.worksheets[0]
            for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield line, [_cell_text(v) for v in row]
        finally:
            book.close()
    finally:
        handle.close()


def _encoding(source: bytes | Path) -> str:
    """UTF-8 when the whole file decodes as UTF-8 (checked in chunks), else GB18030."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        if isinstance(source, bytes):
            decoder.decode(source, final=True)
        else:
            with open(source, "rb") as f:
                while chunk := f.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _csv_rows(source: bytes | Path) -> Iterator[tuple[int, list[str]]]:
    encoding = _encoding(source)
    binary = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    text = io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")
    try:
        reader = csv.reader(text)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = reader.line_num
                message = (
                    f"字段超过 {CSV_FIELD_LIMIT} 个字符"
                    if "field larger" in str(exc)
                    else f"CSV 格式错误:{exc}"
                )
                raise FileImportError([RowError(line, "-", message)]) from None
            except UnicodeDecodeError:
                raise FileImportError(
                    [RowError(reader.line_num + 1, "-", "文件编码无法识别,请另存为 UTF-8 CSV。")]
                ) from None
            yield reader.line_num, [c.strip() for c in cells]
    finally:
        text.close()


def split_codes(value: str) -> list[str]:
    """Codes separated by ``,`` ``，`` ``;`` ``；`` or ``、`` (what people type in one cell)."""
    for sep in ("\uff0c", ";", "\uff1b", "\u3001", "\n"):
        value = value.replace(sep, ",")
    return [code.strip() for code in value.split(",") if code.strip()]
