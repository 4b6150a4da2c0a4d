"""Population margins (人口边际) per community, from the 社区台账: the counts that raking and
post-stratification weight to.

The file is XLSX or CSV (UTF-8 or GB18030), with English or Chinese headers —
``community,variable,category,count`` / 社区编码,变量,类别,人数. ``variable`` is a profile
field (age_group, sex, residence_years, or a crossing such as ``age_group*sex``; the
Chinese names 年龄组, 性别, 居住年限 work too) and ``category`` one of its codes in the
questionnaire — or the choice's Chinese label (``16–29岁``). Categories the questionnaire
does not have are refused here, at upload, naming the line, rather than when weights are
computed. Uploading replaces the margins of every (community, variable) in the file.
"""

from __future__ import annotations

import io
import math

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlalchemy import delete
from sqlmodel import Session, select

from .. import audit
from ..errors import ServiceError
from ..models import Community, PopulationMargin, User
from ..tabular import Column, FileImportError, Table

PROFILE = ("age_group", "sex", "residence_years")
VARIABLE_NAMES = {
    "年龄组": "age_group",
    "年龄": "age_group",
    "性别": "sex",
    "居住年限": "residence_years",
}
COLUMNS = (
    Column("community", ("community", "community_code", "社区编码", "社区")),
    Column("variable", ("variable", "变量")),
    Column("category", ("category", "类别", "类别编码")),
    Column("count", ("count", "人数", "数量")),
)


class MarginsError(ServiceError):
    """A margins file that cannot be stored; ``errors`` lists each problem with its line."""

    def __init__(self, errors: list[str]):
        super().__init__("人口边际文件有误:" + ";".join(errors[:5]))
        self.errors = errors


def allowed_categories(instrument) -> dict[str, dict[str, str]]:
    """For each profile field the questionnaire asks: {accepted text → category code},
    the code itself and its Chinese label both accepted."""
    allowed: dict[str, dict[str, str]] = {}
    items = {i.name: i for i in instrument.items}
    for field, item_name in (instrument.profile or {}).items():
        item = items.get(item_name)
        if field not in PROFILE or item is None or not item.choices:
            continue
        choices = instrument.choice_lists.get(item.choices, ())
        accepted = {c.code: c.code for c in choices}
        accepted.update({c.label.zh: c.code for c in choices})
        allowed[field] = accepted
    return allowed


def parse_margins(data: bytes, *, communities: dict[str, int], instrument) -> list[dict]:
    """Check a margins file; every problem names its line (the header is line 1)."""
    allowed = allowed_categories(instrument)
    try:
        rows, errors, seen = [], [], set()
        for line, values in Table(data, COLUMNS).rows():
            row = _check_row(line, values, communities, allowed, errors)
            if row is None:
                continue
            key = (row["community"], row["variable"], row["category"])
            if key in seen:
                errors.append(f"第 {line} 行:{key[0]} {key[1]}={key[2]} 重复")
            seen.add(key)
            rows.append(row)
    except FileImportError as err:
        raise MarginsError([str(e) for e in err.errors]) from err
    if not rows and not errors:
        errors.append("文件中没有数据行")
    if errors:
        raise MarginsError(errors)
    return rows


def _check_row(line, values, communities, allowed, errors) -> dict | None:
    code = values["community"].strip()
    if code not in communities:
        errors.append(f"第 {line} 行:找不到社区编码 {code!r}")
    variable_text = values["variable"].strip()
    parts = [VARIABLE_NAMES.get(p.strip(), p.strip()) for p in variable_text.split("*")]
    categories = [c.strip() for c in values["category"].split("*")]
    if not variable_text or any(p not in PROFILE for p in parts):
        errors.append(
            f"第 {line} 行:变量 {variable_text!r} 应为 {'、'.join(PROFILE)} 或其交叉(如 age_group*sex)"
        )
        return None
    if len(categories) != len(parts) or not all(categories):
        errors.append(f"第 {line} 行:类别 {values['category']!r} 与变量 {variable_text!r} 不对应")
        return None
    codes = []
    for part, category in zip(parts, categories, strict=True):
        accepted = allowed.get(part)
        if accepted is None:
            errors.append(f"第 {line} 行:问卷没有询问 {part},不能按它加权")
            return None
        if category not in accepted:
            known = "、".join(sorted(set(accepted.values())))
            errors.append(f"第 {line} 行:{part} 没有类别 {category!r}(问卷中的类别:{known})")
            return None
        codes.append(accepted[category])
    try:
        count = float(values["count"])
        if not math.isfinite(count) or count < 0:
            raise ValueError
    except ValueError:
        errors.append(f"第 {line} 行:人数 {values['count']!r} 应为不小于 0 的数字")
        return None
    return {
        "community": code,
        "variable": "*".join(parts),
        "category": "*".join(codes),
        "count": count,
    }


def store_margins(*, session: Session, user: User, data: bytes, instrument) -> int:
    """Replace the margins of every (community, variable) in the file; returns rows stored."""
    communities = {c.code: c.id for c in session.exec(select(Community)).all()}
    rows = parse_margins(data, communities=communities, instrument=instrument)
    pairs = {(communities[r["community"]], r["variable"]) for r in rows}
    for community_id, variable in pairs:
        session.exec(
            delete(PopulationMargin).where(
                PopulationMargin.community_id == community_id,
                PopulationMargin.variable == variable,
            )
        )
    for r in rows:
        session.add(
            PopulationMargin(
                community_id=communities[r["community"]],
                variable=r["variable"],
                category=r["category"],
                count=r["count"],
            )
        )
    audit.record(
        session=session,
        action="margins.upload",
        entity="populationmargin",
        user_id=user.id,
        detail={"rows": len(rows), "variables": sorted({v for _, v in pairs})},
    )
    session.commit()
    return len(rows)


def margins_template(*, session: Session, instrument) -> bytes:
    """A blank margins workbook: Chinese headers, an example row, and the allowed
    communities and categories (from the questionnaire) on a second sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "人口边际"
    ws.append(["社区编码", "变量", "类别", "人数"])
    allowed = allowed_categories(instrument)
    first = session.exec(select(Community).order_by(Community.code)).first()
    example_code = next(iter(allowed.get("sex", {}).values()), "")
    ws.append([first.code if first else "C010101", "sex", example_code, 1200])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for cell in ws[2]:
        cell.fill = PatternFill("solid", fgColor="FFF2CC")
    for letter, width in zip("ABCD", (14, 18, 18, 10), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    info = wb.create_sheet("可用的值")
    info.append(["变量", "类别编码", "类别名称"])
    items = {i.name: i for i in instrument.items}
    for field, item_name in (instrument.profile or {}).items():
        item = items.get(item_name)
        if field not in allowed or item is None:
            continue
        for choice in instrument.choice_lists.get(item.choices, ()):
            info.append([field, choice.code, choice.label.zh])
    info.append([])
    info.append(
        ["说明", "变量也可写交叉,如 age_group*sex,类别写 a16_29*male。第 2 行为示例,请替换。"]
    )
    info.append([])
    info.append(["社区编码", "社区名称"])
    for c in session.exec(select(Community).order_by(Community.code)).all():
        info.append([c.code, c.name])
    for row in info.iter_rows():
        for cell in row:
            cell.data_type = "s" if isinstance(cell.value, str) else cell.data_type
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 18
    info.column_dimensions["C"].width = 24
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
