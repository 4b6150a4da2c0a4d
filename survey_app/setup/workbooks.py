"""Blank import templates a 创文办 fills in: XLSX with Chinese headers, an example row, and
a sheet of allowed values (roles, the city's community and street codes)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from sqlmodel import Session, select

from ..models import Community, District, Street

HEADERS = {
    "geography": (
        ["区县编码", "区县名称", "街道编码", "街道名称", "社区编码", "社区名称"],
        ["D01", "文明区", "S0101", "桃园街道", "C010101", "桃园社区"],
        "每行一个社区。重新导入时按编码更新名称、补充新单位,不会重复。",
    ),
    "users": (
        ["用户名", "姓名", "角色", "范围", "密码"],
        ["wang.li", "王丽", "入户调查员", "C010101、C010102", ""],
        "角色:入户调查员、社区书记、督导、分析员、管理员。范围:社区编码(督导也可填街道编码),"
        "多个用逗号、分号或顿号分隔;分析员和管理员留空。密码留空则自动生成一次性密码,"
        "首次登录须修改。",
    ),
    "households": (
        ["社区编码", "楼栋", "户编码", "网格"],
        ["C010101", "3栋", "3-1-101", "网格1"],
        "每行一户。重新导入会更新楼栋和网格;文件中社区里不再列出的户将被停用(保留历史)。"
        "不要填写姓名、电话或身份证号。",
    ),
}
ROLES = [
    ("入户调查员", "canvasser", "一个或多个社区"),
    ("社区书记", "secretary", "一个社区"),
    ("督导", "supervisor", "街道或社区"),
    ("分析员", "analyst", "全市(留空)"),
    ("管理员", "admin", "全市(留空)"),
]


def template(kind: str, *, session: Session) -> bytes:
    """The XLSX template for ``kind`` (geography, users or households)."""
    headers, example, note = HEADERS[kind]
    book = Workbook()
    sheet = book.active
    sheet.title = "导入"
    sheet.append(headers)
    sheet.append(example)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 18
    # Codes are text: keep Excel from turning 0101 into 101.
    for row in sheet.iter_rows(min_row=2, max_row=500, max_col=len(headers)):
        for cell in row:
            cell.number_format = "@"
    help_sheet = book.create_sheet("说明")
    help_sheet.append(["说明", note])
    help_sheet.append(["第 2 行是示例,请替换为实际数据。"])
    help_sheet.append([])
    if kind == "users":
        help_sheet.append(["角色(可填中文或英文)", "英文", "范围"])
        for row in ROLES:
            help_sheet.append(list(row))
        help_sheet.append([])
    if kind in ("users", "households"):
        help_sheet.append(["可用的社区编码", "社区名称", "街道编码", "街道名称", "区县"])
        rows = session.exec(
            select(Community, Street, District)
            .join(Street, Street.id == Community.street_id)
            .join(District, District.id == Street.district_id)
            .where(Community.active)
            .order_by(Community.code)
        ).all()
        for community, street, district in rows:
            help_sheet.append(
                [community.code, community.name, street.code, street.name, district.name]
            )
    help_sheet.column_dimensions["A"].width = 24
    help_sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
