"""The household frame (户): import from CSV, all or nothing.

Columns (English or Chinese headers): ``community_code``/社区编码, ``building``/楼栋,
``household_code``/户编码, optional ``grid``/网格. UTF-8 (with or without BOM) or GB18030,
the encoding Excel uses for Chinese CSV. Every error names the line and the column;
a file with any error imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlmodel import Session, select

from .. import audit
from ..errors import ServiceError
from ..models import Building, Community, Household

COLUMNS = {
    "community_code": ("community_code", "社区编码", "社区代码"),
    "building": ("building", "楼栋", "楼栋号"),
    "household_code": ("household_code", "户编码", "户号"),
    "grid": ("grid", "网格"),
}
REQUIRED = ("community_code", "building", "household_code")
MAX_ERRORS = 50


@dataclass(frozen=True)
class FrameError:
    line: int  # line of the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行,{self.column} 列:{self.message}"


class FrameImportError(ServiceError):
    def __init__(self, errors: list[FrameError]):
        self.errors = errors
        super().__init__(
            "; ".join(str(e) for e in errors[:5])
            + (f" ……共 {len(errors)} 处错误" if len(errors) > 5 else "")
        )


@dataclass(frozen=True)
class FrameImportReport:
    households: int
    buildings_created: int


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FrameImportError([FrameError(1, "-", "文件编码无法识别,请另存为 UTF-8 CSV。")])


def _header_map(header: list[str]) -> tuple[dict[str, int], list[FrameError]]:
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        for field, aliases in COLUMNS.items():
            if name in aliases:
                found[field] = index
    missing = [FrameError(1, f, "缺少此列") for f in REQUIRED if f not in found]
    return found, missing


def import_households(
    *, session: Session, data: bytes, actor_id: int | None = None
) -> FrameImportReport:
    """Import a household frame CSV; raise FrameImportError (nothing stored) on any error."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise FrameImportError([FrameError(1, "-", "文件为空")])
    cols, errors = _header_map(rows[0])
    if errors:
        raise FrameImportError(errors)

    communities = {c.code: c for c in session.exec(select(Community)).all()}
    existing = {(h.community_id, h.code) for h in session.exec(select(Household)).all()}
    seen: dict[tuple[str, str], int] = {}
    parsed: list[tuple[Community, str, str, str | None]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row=row) -> str:
            index = cols.get(field)
            return row[index].strip() if index is not None and index < len(row) else ""

        values = {f: cell(f) for f in COLUMNS}
        row_errors = [FrameError(line, f, "不能为空") for f in REQUIRED if not values[f]]
        community = communities.get(values["community_code"])
        if values["community_code"] and community is None:
            row_errors.append(
                FrameError(line, "community_code", f"未知社区编码 {values['community_code']!r}")
            )
        key = (values["community_code"], values["household_code"])
        if values["household_code"] and key in seen:
            row_errors.append(FrameError(line, "household_code", f"与第 {seen[key]} 行重复"))
        elif community is not None and (community.id, values["household_code"]) in existing:
            row_errors.append(
                FrameError(
                    line, "household_code", f"户 {values['household_code']} 已在该社区的台账中"
                )
            )
        seen.setdefault(key, line)
        if row_errors:
            errors.extend(row_errors)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        parsed.append(
            (community, values["building"], values["household_code"], values["grid"] or None)
        )
    if errors:
        raise FrameImportError(errors)
    if not parsed:
        raise FrameImportError([FrameError(2, "-", "文件中没有户数据")])

    buildings = {(b.community_id, b.code): b for b in session.exec(select(Building)).all()}
    created = 0
    for community, building_code, household_code, grid in parsed:
        building = buildings.get((community.id, building_code))
        if building is None:
            building = Building(community_id=community.id, code=building_code, grid=grid)
            session.add(building)
            session.flush()
            buildings[(community.id, building_code)] = building
            created += 1
        session.add(
            Household(
                community_id=community.id, building_id=building.id, code=household_code, grid=grid
            )
        )
    audit.record(
        session=session,
        action="import",
        entity="household",
        user_id=actor_id,
        detail={"households": len(parsed), "buildings_created": created},
    )
    session.commit()
    return FrameImportReport(households=len(parsed), buildings_created=created)
