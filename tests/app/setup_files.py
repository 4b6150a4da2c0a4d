"""Files a 创文办 would fill in, made for the setup tests (CSV text or XLSX bytes)."""

from __future__ import annotations

import io

from openpyxl import Workbook

GEO_HEADER = ["区县编码", "区县名称", "街道编码", "街道名称", "社区编码", "社区名称"]


def geography_rows(districts: int = 1, streets: int = 2, communities: int = 2) -> list[list[str]]:
    rows = []
    for d in range(1, districts + 1):
        for s in range(1, streets + 1):
            for c in range(1, communities + 1):
                rows.append(
                    [
                        f"D{d:02}",
                        f"第{d}区",
                        f"S{d:02}{s:02}",
                        f"第{d}区第{s}街道",
                        f"C{d:02}{s:02}{c:02}",
                        f"社区{d}-{s}-{c}",
                    ]
                )
    return rows


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def xlsx(header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
