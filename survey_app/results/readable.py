"""The estimates as a workbook for people to read (the 创文办's report form): Chinese
headers, rates as percentages with one decimal, verdicts in words, "still needed" blank
where it does not apply, set column widths, a frozen header row and local time.

The machine form (:func:`.exports.estimates_csv` / ``estimates_xlsx``) stays as it is for
analysts and scripts; this one is for printing and forwarding.
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from .exports import method_lines
from .weighting import Estimates

VERDICT_WORDS = {"met": "达标", "not_met": "未达标", "undetermined": "待定"}
HEADERS = (
    ("指标", 14),
    ("范围", 10),
    ("社区", 18),
    ("完成问卷数", 10),
    ("估计值", 10),
    ("置信区间下限", 12),
    ("置信区间上限", 12),
    ("判断", 8),
    ("约还需完成问卷数", 16),
    ("设计效应", 10),
    ("有效样本量", 10),
)
PERCENT = "0.0%"
FILLS = {
    "met": PatternFill("solid", fgColor="E6F4EA"),
    "not_met": PatternFill("solid", fgColor="FCE8E6"),
    "undetermined": PatternFill("solid", fgColor="FEF7E0"),
}


def still_needed(row) -> int | None:
    """Completes still needed to settle an undetermined verdict; None where it does not
    apply (a settled verdict, or no figure the design can give)."""
    if row.verdict != "undetermined":
        return None
    return row.needed_n if row.needed_n and row.needed_n > 0 else None


def estimates_for_reading(estimates: Estimates, labels: dict[str, str], *, timezone: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "测评结果"
    ws.append([name for name, _ in HEADERS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r in estimates.result.rows:
        whole = r.domain is None
        ws.append(
            [
                labels.get(r.indicator, r.indicator),
                "全部" if whole else "社区",
                "全部受访者" if whole else estimates.communities.get(r.domain, r.domain),
                r.n,
                _rate(r.estimate),
                _rate(r.ci_low),
                _rate(r.ci_high),
                VERDICT_WORDS.get(r.verdict, r.verdict),
                still_needed(r),
                _round(r.deff, 2),
                _round(r.n_eff, 1),
            ]
        )
        row = ws[ws.max_row]
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # names are text, never formulas
        for cell in row[4:7]:
            cell.number_format = PERCENT
        if r.verdict in FILLS:
            row[7].fill = FILLS[r.verdict]
    for i, (_, width) in enumerate(HEADERS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions

    info = wb.create_sheet("说明")
    local = estimates.computed_at.astimezone(ZoneInfo(timezone))
    info.append(["项目", "内容"])
    info["A1"].font = info["B1"].font = Font(bold=True)
    lines = [("导出时间", f"{local:%Y-%m-%d %H:%M}({timezone})")]
    lines += [(k, v) for k, v in method_lines(estimates, labels) if k != "导出日期"]
    lines.append(
        (
            "判断的含义",
            "达标:置信区间下限不低于目标;未达标:置信区间上限低于目标;"
            "待定:区间跨过目标,需更多完成问卷才能判断(“约还需完成问卷数”按当前比例与设计效应估算)。",
        )
    )
    for key, value in lines:
        info.append([key, value])
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 100
    for row in info.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rate(x):
    return None if x is None or x != x else float(x)


def _round(x, digits: int):
    return None if x is None or x != x else round(float(x), digits)
