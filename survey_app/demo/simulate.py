"""Simulated interviews for the demo city and the benchmarks: plausible answers to the
standard household questionnaire, at chosen rates, with a few residents' requests.

``generated_answers`` draws one respondent's answers with the questionnaire's own test
interview generator (``instruments.generate_interviews``: skip logic, constraints and
choice filters honoured) at the chosen rates — the demo's waves use it; the hand-rolled
``simulated_answers`` (the standard questionnaire only) stays for the benchmarks, which
store a million of them. ``store_response`` stores one completed interview exactly
as the sync path does: Response, completed Visit, ``aggregates.add_response`` with
``instruments.indicator_values``, and a 发现 feedback item per 问需/问计/问效 answer.
"""

from __future__ import annotations

import random
import uuid as uuid_mod
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

import instruments

from .. import aggregates
from ..models import (
    Assignment,
    FeedbackEvent,
    FeedbackItem,
    FeedbackStatus,
    Response,
    Visit,
    VisitOutcome,
)

AREAS = (
    "municipal_facilities",
    "traffic_order",
    "city_appearance",
    "farmers_market",
    "illegal_ads",
    "dog_keeping",
    "neighbourhood_property",
    "volunteer_service",
    "government_service",
)
NEEDS = (
    "小区里老年人多,希望楼下能加装扶手和休息座椅。",
    "晚上小区门口乱停车,救护车进不来,希望规划停车位。",
    "希望菜市场早上多安排保洁,地面太滑。",
    "楼道里小广告太多,清了又贴,希望经常清理。",
    "有人遛狗不牵绳,孩子害怕,希望加强劝导。",
    "路灯坏了两个月了,晚上出门不方便。",
    "希望社区多办几次老年人防诈骗讲座。",
    "垃圾分类点离我们楼太远,希望加一个投放点。",
)
ADVICE = (
    "创文不要只在检查前突击,平时也要保持。",
    "可以多请居民当志愿者,大家一起管。",
    "宣传栏的内容可以多换一换,写得通俗一点。",
    "建议在公交站增加文明礼让的提示牌。",
    "整改结果请在小区群里公示,让大家知道办了什么。",
)
EFFECTS = (
    "去年修的健身步道很好,就是晚上灯光暗。",
    "背街小巷干净多了,希望坚持下去。",
)
POSITIVE_SAT = ("satisfied", "fairly_satisfied")


@dataclass(frozen=True)
class Rates:
    """Chances of a positive answer for one community in one wave."""

    awareness: float
    support: float
    satisfaction: float
    areas: dict[str, float] = field(default_factory=dict)
    feedback: float = 0.08  # chance of a 问需/问计/问效 answer


def simulated_answers(rng: random.Random, rates: Rates) -> dict:
    """One consenting respondent's answers to the ``household`` questionnaire."""
    answers: dict = {"screen_resident": "yes", "screen_age": "yes", "consent": "yes"}
    answers["aware_campaign"] = _yes(rng, rates.awareness)
    for name, drop in (("aware_values", 0.01), ("aware_regulation", 0.06), ("aware_hotline", 0.03)):
        answers[name] = _yes(rng, rates.awareness - drop)
    answers["support"] = (
        "support" if rng.random() < rates.support else rng.choice(("dont_know", "not_support"))
    )
    answers["sat_overall"] = _satisfaction(rng, rates.satisfaction)
    low = []
    for area in AREAS:
        p = rates.areas.get(area, rates.satisfaction)
        answers[f"sat_{area}"] = code = _satisfaction(rng, p)
        if code not in POSITIVE_SAT:
            low.append(area)
    answers["improve_first"] = low[:3] if low else rng.sample(AREAS, k=rng.randint(0, 1))
    if rng.random() < rates.feedback:
        answers["need"] = rng.choice(NEEDS)
    if rng.random() < rates.feedback / 2:
        answers["advice"] = rng.choice(ADVICE)
    if rng.random() < rates.feedback / 6:
        answers["effect"] = rng.choice(EFFECTS)
    answers["age_group"] = rng.choices(("a16_29", "a30_44", "a45_59", "a60_plus"), (2, 3, 3, 4))[0]
    answers["sex"] = rng.choice(("male", "female"))
    answers["residence_years"] = rng.choices(("r_under3", "r3_10", "r10_plus"), (1, 3, 5))[0]
    return answers


def rate_options(rates: Rates) -> dict:
    """``generate_interviews`` options that answer the ``household`` questionnaire at
    ``rates`` (the same shares as :func:`simulated_answers`)."""

    def yes(p: float) -> dict[str, float]:
        p = min(max(p, 0.0), 1.0)
        return {"yes": p, "no": 1 - p}

    def satisfied(p: float) -> dict[str, float]:
        p = min(max(p, 0.0), 1.0)
        q = 1 - p
        return {"satisfied": 0.7 * p, "fairly_satisfied": 0.3 * p, "neutral": q * 5 / 9,
                "dissatisfied": q * 2 / 9, "dont_know": q * 2 / 9}  # fmt: skip

    weights: dict[str, dict[str, float]] = {
        "screen_resident": {"yes": 1.0},
        "screen_age": {"yes": 1.0},
        "consent": {"yes": 1.0},
        "aware_campaign": yes(rates.awareness),
        "aware_values": yes(rates.awareness - 0.01),
        "aware_regulation": yes(rates.awareness - 0.06),
        "aware_hotline": yes(rates.awareness - 0.03),
        "support": {
            "support": rates.support,
            "dont_know": (1 - rates.support) / 2,
            "not_support": (1 - rates.support) / 2,
        },  # fmt: skip
        "sat_overall": satisfied(rates.satisfaction),
        "age_group": {"a16_29": 2, "a30_44": 3, "a45_59": 3, "a60_plus": 4},
        "sex": {"male": 1, "female": 1},
        "residence_years": {"r_under3": 1, "r3_10": 3, "r10_plus": 5},
    }
    for area in AREAS:
        weights[f"sat_{area}"] = satisfied(rates.areas.get(area, rates.satisfaction))
    return {
        "weights": weights,
        "answer_rates": {
            "need": rates.feedback,
            "advice": rates.feedback / 2,
            "effect": rates.feedback / 6,
            "improve_first": 0.5,
        },  # fmt: skip
        "texts": {"need": NEEDS, "advice": ADVICE, "effect": EFFECTS},
    }


def generated_answers(instrument, rng: random.Random, rates: Rates, *, today: str) -> dict:
    """One consenting respondent's answers to ``instrument`` at ``rates``, drawn by the
    questionnaire's test interview generator (reproducible from ``rng``)."""
    (answers,) = instruments.generate_interviews(
        instrument, 1, seed=rng.getrandbits(32), today=today, **rate_options(rates)
    )
    return answers


def _yes(rng: random.Random, p: float) -> str:
    return "yes" if rng.random() < p else "no"


def _satisfaction(rng: random.Random, p: float) -> str:
    if rng.random() < p:
        return "satisfied" if rng.random() < 0.7 else "fairly_satisfied"
    return rng.choices(("neutral", "dissatisfied", "dont_know"), (5, 2, 2))[0]


def new_uuid(rng: random.Random) -> str:
    """A UUID4 from ``rng`` (repeatable demo data)."""
    return str(uuid_mod.UUID(int=rng.getrandbits(128), version=4))


def store_response(
    *,
    session: Session,
    instrument,
    assignment: Assignment,
    canvasser_id: int | None,
    answers: dict,
    at: datetime,
    uuid: str,
    attempt: int = 1,
) -> Response:
    """Store one completed interview as the sync path does (the caller commits)."""
    errors = instruments.validate_answers(instrument, answers)
    if errors:
        raise ValueError(f"simulated answers rejected: {errors[0].item}: {errors[0].message}")
    response = Response.generated(
        instrument=instrument,
        answers=answers,
        at=at,
        content_hash="simulated",
        device="demo",
        uuid=uuid,
        wave_id=assignment.wave_id,
        community_id=assignment.community_id,
        household_id=assignment.household_id,
        assignment_id=assignment.id,
        canvasser_id=canvasser_id,
        review_state="accepted",
    )
    session.add(
        Visit(
            uuid=uuid,
            assignment_id=assignment.id,
            attempt=attempt,
            outcome=VisitOutcome.COMPLETED,
            visited_at=at,
            canvasser_id=canvasser_id,
        )
    )
    session.add(response)
    session.flush()
    aggregates.add_response(
        session=session, response=response, values=instruments.indicator_values(instrument, answers)
    )
    for kind, text in instruments.feedback_items(instrument, answers):
        item = FeedbackItem(
            community_id=response.community_id,
            wave_id=response.wave_id,
            response_id=response.id,
            kind=kind,
            text=text,
            status=FeedbackStatus.FOUND,
            created_at=at,
            updated_at=at,
        )
        session.add(item)
        session.flush()
        session.add(
            FeedbackEvent(
                item_id=item.id, to_status=FeedbackStatus.FOUND, user_id=canvasser_id, at=at
            )
        )
    return response
