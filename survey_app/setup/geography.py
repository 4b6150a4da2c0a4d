"""Geography: 区/县 (District) → 街道/乡镇 (Street) → 社区/村 (Community).

Imported from XLSX or CSV, one community a row: ``district_code,district_name,
street_code,street_name,community_code,community_name`` (or 区县编码,区县名称,街道编码,
街道名称,社区编码,社区名称). Re-importing updates names (and a unit's parent) and adds new
units by code — never a duplicate. A file with any error changes nothing.

Units are never deleted: a deactivated community keeps its history (households, waves,
results) and drops out of new waves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from .. import audit
from ..errors import NotFound, ServiceError
from ..models import Community, District, Household, Street
from ..tabular import MAX_ERRORS, Column, FileImportError, RowError, Table

CODE_MAX, NAME_MAX = 32, 100
COLUMNS = (
    Column(
        "district_code", ("district_code", "区县编码", "区编码", "区县代码"), max_length=CODE_MAX
    ),
    Column("district_name", ("district_name", "区县名称", "区名称", "区县"), max_length=NAME_MAX),
    Column("street_code", ("street_code", "街道编码", "街道代码", "乡镇编码"), max_length=CODE_MAX),
    Column("street_name", ("street_name", "街道名称", "街道", "乡镇名称"), max_length=NAME_MAX),
    Column(
        "community_code", ("community_code", "社区编码", "社区代码", "村编码"), max_length=CODE_MAX
    ),
    Column("community_name", ("community_name", "社区名称", "社区", "村名称"), max_length=NAME_MAX),
)
LEVELS = {"district": District, "street": Street, "community": Community}


@dataclass
class GeographyReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    renamed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    rows: int = 0

    def summary(self) -> str:
        c, r = self.created, self.renamed
        return (
            f"新增区县 {c['district']} 个、街道 {c['street']} 个、社区 {c['community']} 个;"
            f"更新 {r['district'] + r['street'] + r['community']} 个单位的名称或隶属。"
        )


def _check(table: Table) -> list[tuple[int, dict[str, str]]]:
    """Every row checked alone and against the others (a code means one unit)."""
    errors: list[RowError] = []
    rows: list[tuple[int, dict[str, str]]] = []
    names: dict[tuple[str, str], tuple[str, int]] = {}  # (level, code) -> (name/parent, line)
    for line, values in table.rows():
        row_errors = table.check(line, values)
        if not row_errors:
            claims = [
                ("district", values["district_code"], values["district_name"]),
                ("street", values["street_code"], (values["street_name"], values["district_code"])),
                ("community", values["community_code"], None),
            ]
            for level, code, claim in claims:
                key = (level, code)
                if key in names and (level == "community" or names[key][0] != claim):
                    first = names[key][1]
                    what = "重复" if level == "community" else "名称或所属单位不一致"
                    row_errors.append(
                        RowError(line, table.label(f"{level}_code"), f"与第 {first} 行{what}")
                    )
                names.setdefault(key, (claim, line))
        if row_errors:
            errors.extend(row_errors)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        rows.append((line, values))
    if errors:
        raise FileImportError(errors)
    if not rows:
        raise FileImportError([RowError(2, "-", "文件中没有数据")])
    return rows


def import_geography(
    *, session: Session, source: bytes | Path, actor_id: int | None = None
) -> GeographyReport:
    """Add and rename districts, streets and communities from a file (all or nothing)."""
    rows = _check(Table(source, COLUMNS))
    report = GeographyReport(rows=len(rows))
    districts = {d.code: d for d in session.exec(select(District)).all()}
    streets = {s.code: s for s in session.exec(select(Street)).all()}
    communities = {c.code: c for c in session.exec(select(Community)).all()}

    def upsert(level: str, known: dict, code: str, name: str, **parent):
        unit = known.get(code)
        if unit is None:
            unit = LEVELS[level](code=code, name=name, **parent)
            session.add(unit)
            session.flush()
            known[code] = unit
            report.created[level] += 1
        elif unit.name != name or any(getattr(unit, k) != v for k, v in parent.items()):
            unit.name = name
            for k, v in parent.items():
                setattr(unit, k, v)
            session.add(unit)
            report.renamed[level] += 1
        return unit

    done: set[tuple[str, str]] = set()
    for _line, v in rows:
        district = districts.get(v["district_code"])
        if ("district", v["district_code"]) not in done:
            district = upsert("district", districts, v["district_code"], v["district_name"])
            done.add(("district", v["district_code"]))
        street = streets.get(v["street_code"])
        if ("street", v["street_code"]) not in done:
            street = upsert(
                "street", streets, v["street_code"], v["street_name"], district_id=district.id
            )
            done.add(("street", v["street_code"]))
        upsert(
            "community", communities, v["community_code"], v["community_name"], street_id=street.id
        )
    audit.record(
        session=session,
        action="import",
        entity="geography",
        user_id=actor_id,
        detail={"created": report.created, "renamed": report.renamed},
    )
    session.commit()
    return report


@dataclass(frozen=True)
class CommunityNode:
    community: Community
    households: int


@dataclass
class StreetNode:
    street: Street
    communities: list[CommunityNode]


@dataclass
class DistrictNode:
    district: District
    streets: list[StreetNode]


def tree(*, session: Session) -> list[DistrictNode]:
    """The whole geography with active household counts, for the admin page."""
    counts = dict(
        session.exec(
            select(Household.community_id, func.count())
            .where(Household.active)
            .group_by(Household.community_id)
        ).all()
    )
    streets_of: dict[int, list[StreetNode]] = {}
    communities_of: dict[int, list[CommunityNode]] = {}
    for c in session.exec(select(Community).order_by(Community.code)).all():
        communities_of.setdefault(c.street_id, []).append(CommunityNode(c, counts.get(c.id, 0)))
    for s in session.exec(select(Street).order_by(Street.code)).all():
        streets_of.setdefault(s.district_id, []).append(StreetNode(s, communities_of.get(s.id, [])))
    return [
        DistrictNode(d, streets_of.get(d.id, []))
        for d in session.exec(select(District).order_by(District.code)).all()
    ]


def _unit(session: Session, level: str, unit_id: int):
    model = LEVELS.get(level)
    unit = session.get(model, unit_id) if model else None
    if unit is None:
        raise NotFound("找不到该单位。")
    return unit


def rename(*, session: Session, level: str, unit_id: int, name: str, actor_id: int | None):
    unit = _unit(session, level, unit_id)
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ServiceError(f"名称不能为空,最多 {NAME_MAX} 个字符。")
    before, unit.name = unit.name, name
    session.add(unit)
    audit.record(
        session=session,
        action="rename",
        entity=level,
        entity_id=unit.id,
        user_id=actor_id,
        detail={"before": before, "after": name},
    )
    session.commit()
    return unit


def set_active(*, session: Session, level: str, unit_id: int, active: bool, actor_id: int | None):
    """Deactivate or reactivate a unit; its history stays, new waves leave it out."""
    unit = _unit(session, level, unit_id)
    unit.active = active
    session.add(unit)
    audit.record(
        session=session,
        action="activate" if active else "deactivate",
        entity=level,
        entity_id=unit.id,
        user_id=actor_id,
    )
    session.commit()
    return unit


def add_unit(
    *,
    session: Session,
    level: str,
    code: str,
    name: str,
    parent_code: str | None,
    actor_id: int | None,
):
    """Add one district, street (under a district) or community (under a street)."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > CODE_MAX:
        raise ServiceError(f"编码不能为空,最多 {CODE_MAX} 个字符。")
    if not name or len(name) > NAME_MAX:
        raise ServiceError(f"名称不能为空,最多 {NAME_MAX} 个字符。")
    model = LEVELS.get(level)
    if model is None:
        raise ServiceError("未知的单位层级。")
    if session.exec(select(model).where(model.code == code)).first():
        raise ServiceError(f"编码 {code} 已存在。")
    parent: dict[str, int] = {}
    if level != "district":
        parent_model = District if level == "street" else Street
        found = session.exec(
            select(parent_model).where(parent_model.code == (parent_code or "").strip())
        ).first()
        if found is None:
            raise ServiceError(f"找不到上级单位编码 {parent_code or ''}。")
        parent = {"district_id": found.id} if level == "street" else {"street_id": found.id}
    unit = model(code=code, name=name, **parent)
    session.add(unit)
    session.flush()
    audit.record(
        session=session,
        action="create",
        entity=level,
        entity_id=unit.id,
        user_id=actor_id,
        detail={"code": code, "name": name},
    )
    session.commit()
    return unit
