"""Exports: estimates (CSV, XLSX with a sheet stating method, settings and date) and the
raw responses of a wave without any personal identifier (CSV, XLSX).

The raw export has one row per completed interview: wave, street, community, building
(qualified by its community), the respondent profile, the design columns, each
indicator coded 0/1 (blank: not applicable) and each questionnaire item as ``q_<item>``
(multiple choices joined by ";"). It never contains usernames, user ids, devices,
household codes, UUIDs, times or positions (answers to geopoint questions included: they
get no column): nothing that points to a person or a door. The
residents' free-text requests are included — they carry no identifiers by design. The file
feeds ``survey-estimate`` directly::

    survey-estimate responses.csv --weight weight --strata stratum --cluster psu \\
        --fpc fpc --population population --by community --indicator satisfaction

(two-stage waves: ``--cluster psu --cluster ssu --fpc fpc --fpc fpc_ssu``; PPS two-stage
and waves from before designs have no fpc: leave out ``--fpc``). The weight, stratum,
PSU and population sizes are the wave's own design (``fieldwork/design.py``), so this
reproduces the result pages' figures.

Every export is safe to open in Excel (issue 13): text is written as text — string cells in
XLSX, OWASP's leading ``'`` in CSV for text that starts like a formula — and characters a
workbook cannot hold (control characters from older rows) are dropped (``survey_app.text``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session

import instruments

from ..errors import ServiceError
from ..fieldwork import design as wave_design
from ..fieldwork import review
from ..models import Wave
from ..text import clean, csv_cell
from .weighting import Estimates, interviews_query

XLSX_MAX_ROWS = 1_048_575
RESULT_COLUMNS = (
    "indicator",
    "indicator_label",
    "domain",
    "community_name",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "deff",
    "n_eff",
    "verdict",
    "needed_n",
    # Why the verdict (exact_finite / all_yes_df / interval), the method that decided it,
    # the community's households N and what the households not heard from allow, and
    # the interviews that would show 达标 / confirm 未达标 if the rate holds.
    "why",
    "verdict_method",
    "population",
    "rate_if_unheard_no",
    "rate_if_unheard_yes",
    "needed_n_met",
    "needed_n_not_met",
)
PROFILE = ("age_group", "sex", "residence_years")
# The wave's design (fieldwork/design.py): weight = 1/π × non-response adjustment,
# stratum, PSU and second-stage unit (anonymous labels), population sizes for the fpc
# (N_h of the stratum's PSUs; M_j of the PSU's households for two-stage) and N, the
# households of the community (the finite-population facts).
DESIGN_COLUMNS = ("weight", "stratum", "psu", "ssu", "fpc", "fpc_ssu", "population")


# --- estimates ------------------------------------------------------------------------


def result_rows(estimates: Estimates, labels: dict[str, str]) -> list[list]:
    """The estimates as rows of :data:`RESULT_COLUMNS` (whole sample: domain "全部")."""
    out = []
    for r in estimates.result.rows:
        out.append(
            [
                r.indicator,
                labels.get(r.indicator, r.indicator),
                "全部" if r.domain is None else r.domain,
                "" if r.domain is None else estimates.communities.get(r.domain, ""),
                r.n,
                _num(r.estimate),
                _num(r.se),
                _num(r.ci_low),
                _num(r.ci_high),
                r.df,
                _num(r.deff),
                _num(r.n_eff),
                r.verdict,
                "" if r.needed_n is None else r.needed_n,
                getattr(r, "why", None) or "",
                getattr(r, "verdict_method", None) or "",
                _blank(getattr(r, "population", None)),
                _num(getattr(r, "rate_if_unheard_no", None)),
                _num(getattr(r, "rate_if_unheard_yes", None)),
                _blank(getattr(r, "needed_n_met", None)),
                _blank(getattr(r, "needed_n_not_met", None)),
            ]
        )
    return out


def _blank(x):
    return "" if x is None else x


def _num(x):
    return "" if x is None or x != x else float(x)


def estimates_csv(estimates: Estimates, labels: dict[str, str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    writer.writerows([csv_cell(v) for v in row] for row in result_rows(estimates, labels))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def method_lines(estimates: Estimates, labels: dict[str, str]) -> list[tuple[str, str]]:
    """What the '方法说明' sheet says: method, settings, weights, date."""
    s, p, d = estimates.settings, estimates.preview, estimates.result.design
    weighting = {
        "none": "不加权(每份权数 1)",
        "poststratify": "事后分层",
        "rake": "迭代比例加权(raking)",
    }
    return [
        ("导出日期", estimates.computed_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("测评轮次", s.wave.name),
        ("指标", "、".join(f"{labels.get(i, i)}({i})" for i in s.indicators)),
        (
            "抽样设计",
            "分层整群:按街道分层(street),楼栋为初级抽样单位(building),社区为估计域(community)",
        ),
        (
            "方差估计",
            "泰勒线性化,按本轮抽样设计(层、初级单位、权数、有限总体校正;与 R survey 包 svydesign 一致)",
        ),
        ("加权", weighting.get(s.weighting, s.weighting)),
        ("加权变量", "、".join(p.variables) or "—"),
        ("权数离散程度", f"Kish deff_w = {p.deff_w:.3f},最小 {p.min:.3f},最大 {p.max:.3f}"),
        ("置信区间方法", s.method),
        ("置信水平", f"{s.level:g}"),
        ("目标", f"{s.target:g}"),
        (
            "判断规则",
            "区间下限 ≥ 目标:met(已达到);区间上限 < 目标:not_met(未达到);否则 undetermined(待定),needed_n 为约还需的完成问卷数",
        ),
        ("完成问卷数", str(d.n_rows or 0)),
        ("计算程序", "analysis.estimate(与命令行 survey-estimate 相同)"),
    ]


def estimates_xlsx(estimates: Estimates, labels: dict[str, str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "结果"
    ws.append(list(RESULT_COLUMNS))
    for row in result_rows(estimates, labels):
        ws.append(text_cells(ws, row))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    info = wb.create_sheet("方法说明")
    info.append(["项目", "内容"])
    for key, value in [*method_lines(estimates, labels), SAFETY_NOTE]:
        info.append(text_cells(info, [key, value]))
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 100
    return _save(wb)


SAFETY_NOTE = (
    "文字单元格",
    "所有文字按文本写入,不会作为公式执行;CSV 中以 = + - @、制表符或回车开头的文字前加了单引号 '"
    "(防公式注入);表格无法容纳的控制字符已删除。",
)


def text_cells(ws, row: list) -> list:  # public: every XLSX writer of results uses it
    """``row`` for ``ws.append``: text cleaned, and text that openpyxl would take for a
    formula (a leading ``=``) or an error code (``#N/A``) written as a string cell."""
    out = []
    for value in row:
        if isinstance(value, str):
            value = clean(value)
            if value.startswith(("=", "#")):
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"
                value = cell
        out.append(value)
    return out


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- raw responses --------------------------------------------------------------------


def answer_items(instrument) -> list:
    """The items that get a ``q_`` column: every question, less notes, geopoints (a
    door's position: never exported) and the profile items (those already have their own
    columns: age_group, sex, residence_years)."""
    profile = set((instrument.profile or {}).values())
    left_out = (instruments.ItemType.NOTE, instruments.ItemType.GEOPOINT)
    return [i for i in instrument.items if i.type not in left_out and i.name not in profile]


def raw_header(instrument) -> list[str]:
    items = [f"q_{i.name}" for i in answer_items(instrument)]
    indicators = [i.key for i in instrument.indicators]
    return [
        "row",
        "wave",
        "street",
        "community",
        "building",
        *PROFILE,
        *DESIGN_COLUMNS,
        *indicators,
        *items,
    ]


def raw_rows(*, session: Session, wave: Wave, instrument) -> Iterator[list]:
    """The header, then one row per completed interview (see the module docstring)."""
    yield [*raw_header(instrument), *(["test_data"] if review.including_test_data() else [])]
    stmt = interviews_query(wave).execution_options(yield_per=2000)
    items = answer_items(instrument)
    repeats = repeat_names(instrument)
    keys = [i.key for i in instrument.indicators]
    design = wave_design.design_columns(session=session, wave=wave)
    test = review.including_test_data()  # the rehearsal view: a test_data column, last
    for n, (
        answers,
        age,
        sex,
        years,
        community,
        street,
        _,
        building,
        assignment_id,
        is_test,
    ) in enumerate(session.exec(stmt), start=1):
        answers = answers or {}
        values = instruments.indicator_values(instrument, answers)
        yield [
            n,
            wave.name,
            street,
            community,
            f"{community}/{building or '?'}",
            age or "",
            sex or "",
            years or "",
            *_design_cells(design.get(assignment_id), n, street, community, building),
            *("" if values.get(k) is None else values[k] for k in keys),
            *(answer_cell(answers, i, repeats.get(i.name)) for i in items),
            *([1 if is_test else 0] if test else []),
        ]


def _design_cells(d: dict | None, n: int, street, community, building) -> list:
    """weight, stratum, psu, ssu, fpc, fpc_ssu, population of one interview."""
    if d is None:  # an interview without an assignment: the design before waves had one
        return [1, street, f"{community}/{building or '?'}", f"r{n}", "", "", ""]
    psu = d["psu"] if d["psu"] is not None else f"{d['stratum']}/r{n}"
    cells = [d["weight"], d["stratum"], psu, f"r{n}", d["fpc"], d["fpc_ssu"], d["population"]]
    return ["" if v is None else v for v in cells]


def repeat_names(instrument) -> dict[str, str]:
    """item name → the repeat it is asked in (a household roster), for items in one."""
    out = {}
    for item in instrument.items:
        group = instrument.repeat_of(item) if item.group else None
        if group is not None:
            out[item.name] = group.name
    return out


REPEAT_SEPARATOR = " | "


def answer_cell(answers: dict, item, repeat: str | None):
    """One item's cell: its answer, or for an item inside a repeat (one answer per
    household member) every instance's answer in order, joined by `` | ``."""
    if repeat is None:
        return _flat(answers.get(item.name))
    instances = answers.get(repeat)
    if not isinstance(instances, list) or not instances:
        return ""
    return REPEAT_SEPARATOR.join(
        str(_flat(inst.get(item.name))) if isinstance(inst, dict) else "" for inst in instances
    )


def _flat(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def raw_csv(*, session: Session, wave: Wave, instrument) -> Iterator[str]:
    """The raw export as CSV text chunks (UTF-8 with BOM for Excel), streamed."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    buf.write("\ufeff")
    for i, row in enumerate(raw_rows(session=session, wave=wave, instrument=instrument)):
        writer.writerow([csv_cell(v) for v in row])
        if i % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def raw_xlsx(*, session: Session, wave: Wave, instrument) -> bytes:
    """The raw export as an XLSX workbook (a sheet of responses and one describing them)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("responses")
    count = 0
    for row in raw_rows(session=session, wave=wave, instrument=instrument):
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ServiceError("问卷数超过 Excel 的行数上限,请导出 CSV。", status=413)
        ws.append(text_cells(ws, row))
    about = wb.create_sheet("说明")
    about.append(["列", "含义"])
    notes = _column_notes(instrument)
    if review.including_test_data():
        notes.append(("test_data", "1 = 测试数据(演练生成的问卷,不是正式结果),0 = 正式问卷"))
    for name, meaning in [*notes, SAFETY_NOTE]:
        about.append(text_cells(about, [name, meaning]))
    about.append(["导出日期", datetime.now(UTC).strftime("%Y-%m-%d")])
    return _save(wb)


def _column_notes(instrument) -> list[tuple[str, str]]:
    notes = [
        ("row", "序号(不对应任何人或住户)"),
        ("wave", "测评轮次"),
        ("street", "街道编码(分层)"),
        ("community", "社区编码(估计域)"),
        ("building", "社区编码/楼栋(初级抽样单位)"),
        ("age_group", "年龄组"),
        ("sex", "性别"),
        ("residence_years", "居住年限"),
        ("weight", "权数:入样概率的倒数 × 社区×楼栋内的未应答调整(设计之前的轮次为 1)"),
        ("stratum", "层(本轮的抽样设计:社区;设计之前的轮次:街道)"),
        ("psu", "初级抽样单位:两阶段抽样为楼栋,其余设计每份问卷自成一个单位(匿名编号)"),
        ("ssu", "二阶段单位(两阶段抽样的住户,匿名编号)"),
        ("fpc", "层内总体的初级单位数:户数(全覆盖/简单随机/系统/上传)或楼栋数(两阶段等概率)"),
        ("fpc_ssu", "两阶段抽样:该楼栋的户数"),
        ("population", "社区户数 N(全覆盖为符合条件的户数)"),
    ]
    notes += [(i.key, f"{i.label.zh}:1 肯定,0 否,空白 不适用") for i in instrument.indicators]
    notes += [(f"q_{i.name}", i.label.zh) for i in answer_items(instrument)]
    return notes
