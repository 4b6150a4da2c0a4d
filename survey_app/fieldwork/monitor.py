"""Fieldwork monitoring: dispositions and AAPOR-style rates per community and canvasser,
progress by day, warnings.

Each released household of the wave has one final disposition: completed (I), refused
(R), not home (NC, non-contact), vacant or ineligible (NE, not eligible), or pending (UH:
not visited yet, eligibility unknown). The last visit decides, a completed visit wins.
Rates (AAPOR Standard Definitions, 2023):

RR1 = I / (I + R + NC + UH)             every household not yet resolved counts as eligible
RR3 = I / (I + R + NC + e·UH)           e = (I + R + NC) / (I + R + NC + NE), the share
                                        eligible among resolved households
contact     = (I + R) / (I + R + NC + UH)
cooperation = I / (I + R)
refusal     = R / (I + R + NC + UH)
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from .. import scope
from ..models import (
    Assignment,
    Community,
    Household,
    IndicatorTotal,
    Response,
    ReviewState,
    User,
    Visit,
    Wave,
)
from ..text import clean, csv_cell
from .assign import household_states

DEFINITIONS = (
    ("rr1", "应答率 RR1", "完成 ÷ (完成 + 拒访 + 不在家 + 未走访)"),
    (
        "rr3",
        "应答率 RR3",
        "完成 ÷ (完成 + 拒访 + 不在家 + e × 未走访),e 为已走访住户中符合条件的比例",
    ),
    ("contact", "接触率", "(完成 + 拒访) ÷ (完成 + 拒访 + 不在家 + 未走访)"),
    ("cooperation", "合作率", "完成 ÷ (完成 + 拒访)"),
    ("refusal", "拒访率", "拒访 ÷ (完成 + 拒访 + 不在家 + 未走访)"),
)
LOW_RESPONSE = 0.6


@dataclass
class Tally:
    """Dispositions of a group of households and the rates computed from them."""

    label: str
    key: object = None
    households: int = 0  # in the frame (communities only)
    counts: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    @property
    def assigned(self) -> int:
        return sum(self.counts.values())

    @property
    def visited(self) -> int:
        return self.assigned - self.counts["pending"]

    def _parts(self):
        c = self.counts
        i, r, nc, uh, ne = (
            c["completed"],
            c["refused"],
            c["not_home"],
            c["pending"],
            c["vacant"] + c["ineligible"],
        )
        return i, r, nc, uh, ne

    @property
    def rates(self) -> dict[str, float | None]:
        i, r, nc, uh, ne = self._parts()
        resolved = i + r + nc
        e = resolved / (resolved + ne) if resolved + ne else 1.0
        base1, base3 = i + r + nc + uh, i + r + nc + e * uh
        return {
            "rr1": i / base1 if base1 else None,
            "rr3": i / base3 if base3 else None,
            "contact": (i + r) / base1 if base1 else None,
            "cooperation": i / (i + r) if i + r else None,
            "refusal": r / base1 if base1 else None,
        }


@dataclass(frozen=True)
class Monitor:
    wave: Wave
    communities: list[Tally]
    canvassers: list[Tally]
    total: Tally
    days: list[tuple[date, int, int]]  # day, visits, completed


def monitor(*, session: Session, user: User, wave: Wave, target: float | None = None) -> Monitor:
    """The wave's fieldwork within ``user``'s scope."""
    visible = scope.community_filter(user, Assignment.community_id)
    rows = session.exec(
        select(Assignment.id, Assignment.community_id, Assignment.canvasser_id)
        .where(Assignment.wave_id == wave.id, Assignment.released, visible)
        .order_by(Assignment.id)
    ).all()
    states = household_states(session=session, assignment_ids=[r[0] for r in rows])
    rejected = set(
        session.exec(
            select(Response.assignment_id).where(
                Response.wave_id == wave.id, Response.review_state == ReviewState.REJECTED
            )
        ).all()
    )
    names = {c.id: c for c in session.exec(select(Community)).all()}
    people = {u.id: u for u in session.exec(select(User)).all()}
    frame = Counter(session.exec(select(Household.community_id).where(Household.active)).all())
    by_c: dict[int, Tally] = {}
    by_u: dict[int | None, Tally] = {}
    total = Tally("合计")
    for aid, cid, uid in rows:
        state = states.get(aid, "pending")
        if state == "completed" and aid in rejected:
            state = "pending"  # rejected back to the tablet: to be done again
        c = by_c.setdefault(
            cid, Tally(names[cid].name if cid in names else str(cid), cid, frame.get(cid, 0))
        )
        u = by_u.setdefault(
            uid, Tally(people[uid].display_name if uid in people else "未分配", uid)
        )
        for t in (c, u, total):
            t.counts[state] += 1
    total.households = sum(t.households for t in by_c.values())
    _warn(session, wave, list(by_c.values()), target if target is not None else wave.target)
    days = _days(session, wave, visible)
    return Monitor(
        wave=wave,
        communities=sorted(
            by_c.values(), key=lambda t: names[t.key].code if t.key in names else ""
        ),
        canvassers=sorted(by_u.values(), key=lambda t: (t.key is None, t.label)),
        total=total,
        days=days,
    )


def _warn(session: Session, wave: Wave, tallies: list[Tally], target: float) -> None:
    """Low response, and communities where the households not heard from could still
    carry the rate either side of the target (the verdict stays open whatever the
    interviews say)."""
    yes = defaultdict(lambda: [0, 0])
    for cid, ind, n, pos in session.exec(
        select(
            IndicatorTotal.community_id,
            IndicatorTotal.indicator,
            IndicatorTotal.n,
            IndicatorTotal.positive,
        ).where(IndicatorTotal.wave_id == wave.id)
    ).all():
        yes[(cid, ind)][0] += n
        yes[(cid, ind)][1] += pos
    for t in tallies:
        c = t.counts
        reached = c["completed"] + c["refused"] + c["not_home"]
        rr = c["completed"] / reached if reached else None  # among households visited so far
        if rr is not None and reached >= 5 and rr < LOW_RESPONSE:
            t.warnings.append(
                f"已走访住户中应答率 {rr * 100:.1f}%,低于 {LOW_RESPONSE * 100:.0f}%:"
                "未应答户可能改变结论。"
            )
        eligible = t.assigned - t.counts["vacant"] - t.counts["ineligible"]
        if t.households and eligible >= t.households * 0.999:  # a census of the community
            for (cid, ind), (n, pos) in yes.items():
                if cid != t.key or n == 0:
                    continue
                low, high = pos / eligible, (pos + eligible - n) / eligible
                if low < target <= high and n < eligible:
                    t.warnings.append(
                        f"{ind}:未听到的 {eligible - n} 户若都答“否”为 {low * 100:.1f}%,"
                        f"都答“是”为 {high * 100:.1f}%,目标在两者之间,结论取决于未应答户。"
                    )
                    break


def _days(session: Session, wave: Wave, visible) -> list[tuple[date, int, int]]:
    rows = session.exec(
        select(Visit.visited_at, Visit.outcome)
        .join(Assignment, Visit.assignment_id == Assignment.id)
        .where(Assignment.wave_id == wave.id, visible)
    ).all()
    visits, done = Counter(), Counter()
    for at, outcome in rows:
        day = at.date()
        visits[day] += 1
        done[day] += outcome == "completed"
    return [(d, visits[d], done[d]) for d in sorted(visits)]


HEADER = ["level", "name", "households", "assigned", "visited", "completed", "not_home", "refused",
          "vacant", "ineligible", "pending", "rr1", "rr3", "contact", "cooperation", "refusal"]  # fmt: skip


def table_rows(m: Monitor) -> list[list]:
    out = []
    for level, tallies in (
        ("community", m.communities),
        ("canvasser", m.canvassers),
        ("total", [m.total]),
    ):
        for t in tallies:
            c, r = t.counts, t.rates
            out.append(
                [level, t.label, t.households or "", t.assigned, t.visited, c["completed"], c["not_home"],
                 c["refused"], c["vacant"], c["ineligible"], c["pending"]]
                + [None if r[k] is None else round(r[k], 4) for k in ("rr1", "rr3", "contact", "cooperation", "refusal")]
            )  # fmt: skip
    return out


def progress_csv(m: Monitor) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    for row in table_rows(m):
        writer.writerow(["" if v is None else csv_cell(v) for v in row])
    return buf.getvalue()


def progress_xlsx(m: Monitor) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "进度"
    ws.append(HEADER)
    for row in table_rows(m):
        ws.append([clean(v) if isinstance(v, str) else v for v in row])
    notes = wb.create_sheet("定义")
    for key, name, text in DEFINITIONS:
        notes.append([key, name, text])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
