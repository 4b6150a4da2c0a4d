"""Test interviews for a questionnaire: "rehearse a questionnaire" and the demo's waves.

``generate_interviews(instrument, n, seed=...)`` makes ``n`` answer dicts that honour the
skip logic, constraints, choice filters, repeats and calculations of the instrument —
each one is accepted by ``code_response`` (so by the sync API), and, when the instrument
has indicators, reaches at least one indicator item (the sync refuses an interview that
never does: that is a visit, not an interview). Pure and reproducible: the same
instrument, ``n``, ``seed`` and ``today`` give the same interviews.

How answers are drawn (docs/instruments.md, "Test interviews"): choice items take the
k-th offered choice with weight ``decay**k`` (the first choices — 满意, 比较满意 on the
standard scales — most often; 说不清/不知道 choices at a tenth of their weight), yes/no
items "yes" with ``p_yes``; a question that is not required is left unanswered with
probability ``1 - answer_rate``; numbers are uniform within min/max; texts come from a
small pool of residents' requests; dates before ``today``; geopoints near ``centre``.
An answer that breaks a constraint is drawn again (up to 50 times; then every offered
choice is tried), and an interview the server would refuse is drawn again.

A caller that wants chosen rates (the demo's simulated waves) passes, per item name,
``weights`` (code → weight: the offered codes' weights replace the decay; codes not
listed get none; yes/no items take {"yes": p, "no": 1 − p}), ``answer_rates`` (the
chance an optional item is answered) and ``texts`` (the pool a text item draws from).
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Mapping, Sequence
from typing import Any

from . import values as V
from .model import Instrument, ItemType
from .runner import _GroupStep, _ItemStep, offered_codes

__all__ = ["generate_interviews", "GenerationError"]

TEXTS = (
    "希望小区增加停车位", "楼道灯经常不亮，请尽快修理", "建议菜市场延长营业时间",
    "垃圾分类点太远", "希望多组织志愿服务活动", "路口红绿灯时间太短", "没有意见",
    "遛狗不牵绳的现象还比较多", "12345热线办事效率提高了", "小广告比以前少了",
)  # fmt: skip
TRIES = 50


class GenerationError(ValueError):
    """No answer meets an item's constraint, or no interview passes the checks."""


class _Draw:
    def __init__(self, inst: Instrument, rng: random.Random, options: dict[str, Any]) -> None:
        self.inst = inst
        self.rng = rng
        self.o = options
        self.env = {"today": options["today"], "now": f"{options['today']}T09:00:00"}

    # -- the walk (the same relevance rules as runner.Program._block) -------------------
    def block(
        self,
        steps: list[Any],
        answers: dict[str, Any],
        values: dict[str, Any],
        shown: bool,
        env: dict[str, Any],
    ) -> None:
        for step in steps:
            relevant = shown and (step.relevant is None or step.relevant(values, env) is True)
            if isinstance(step, _GroupStep):
                if not relevant:
                    continue
                if step.group.repeat:
                    self.repeat(step, answers, values, env)
                else:
                    self.block(step.steps, answers, values, True, env)
                continue
            if not relevant:
                continue
            if step.calculation is not None:
                value = step.calculation(values, env)
                value = ("true" if value else "false") if isinstance(value, bool) else value
                if value != "":
                    values[step.name] = value
                continue
            if step.has_value:
                self.answer(step, answers, values, env)

    def repeat(
        self, step: _GroupStep, answers: dict[str, Any], values: dict[str, Any], env: dict
    ) -> None:
        wanted = V.to_number(step.repeat_count(values, env)) if step.repeat_count else None
        count = (
            int(wanted) if wanted is not None and wanted == int(wanted) and wanted >= 0 else None
        )
        count = self.rng.randint(1, self.o["max_instances"]) if count is None else count
        instances = []
        collected = []
        for index in range(1, count + 1):
            own: dict[str, Any] = {}
            scope = dict(values)
            self.block(step.steps, own, scope, True, {**env, "position": index})
            instances.append(own)
            collected.append({k: scope[k] for k in step.names if k in scope})
        if instances:
            answers[step.name] = instances
        values[step.name] = collected

    def answer(
        self, step: _ItemStep, answers: dict[str, Any], values: dict[str, Any], env: dict
    ) -> None:
        item = step.item
        if item.metadata is not None:
            answers[step.name] = self.metadata(item.metadata)
            values[step.name] = answers[step.name]
            return
        rate = self.o["answer_rates"].get(step.name, self.o["answer_rate"])
        if not item.required and self.rng.random() > rate:
            return
        for value in self.candidates(step, values, env):
            if value is None:
                continue
            trial = dict(values)
            trial[step.name] = V.to_number(value) if item.type is ItemType.NUMBER else value
            if step.constraint is None or step.constraint(trial, env) is True:
                answers[step.name] = value
                values[step.name] = trial[step.name]
                return
        if item.required:
            raise GenerationError(f"{step.name}: no answer meets its constraint")

    def candidates(self, step: _ItemStep, values: Mapping[str, Any], env: dict) -> Any:
        item = step.item
        if step.codes:
            codes = (
                list(offered_codes(step, values, env))
                if item.type is not ItemType.YESNO
                else ["yes", "no"]
            )
            if not codes:
                return
            for _ in range(TRIES):
                yield self.choose(step, codes)
            if item.type is ItemType.MULTIPLE:
                yield from ([c] for c in codes)
            else:
                yield from codes
            return
        for _ in range(TRIES):
            yield self.value(item)
        if item.type is ItemType.NUMBER:  # a constraint narrower than min/max: walk up
            low = int(item.minimum) if item.minimum is not None else 0
            high = int(item.maximum) if item.maximum is not None else low + 200
            yield from range(low, high + 1)

    def choose(self, step: _ItemStep, codes: list[str]) -> Any:
        item = step.item
        given = self.o["weights"].get(step.name)
        if given is not None:
            weights = [max(float(given.get(code, 0.0)), 0.0) for code in codes]
            if sum(weights) > 0:
                if item.type is not ItemType.MULTIPLE:
                    return self.rng.choices(codes, weights)[0]
                return self.several(codes, weights)
        if item.type is ItemType.YESNO:
            return "yes" if self.rng.random() < self.o["p_yes"] else "no"
        weights = []
        for k, code in enumerate(codes):
            choice = self.inst.choice(item, code)
            weights.append(self.o["decay"] ** k * (0.1 if choice and choice.dont_know else 1.0))
        if item.type is ItemType.SINGLE:
            return self.rng.choices(codes, weights)[0]
        return self.several(codes, weights)

    def several(self, codes: list[str], weights: list[float]) -> list[str]:
        k = self.rng.randint(1, min(3, sum(1 for w in weights if w > 0)))
        picked: list[str] = []
        while len(picked) < k:
            code = self.rng.choices(codes, weights)[0]
            if code not in picked:
                picked.append(code)
        return picked

    def value(self, item: Any) -> Any:
        rng, kind = self.rng, item.type
        if kind is ItemType.NUMBER:
            low = item.minimum if item.minimum is not None else 0
            high = item.maximum if item.maximum is not None else low + 100
            if rng.random() < 0.5:  # small numbers often: household sizes, years, counts
                high = min(high, low + 10)
            if item.integer or (isinstance(low, int) and isinstance(high, int)):
                return rng.randint(int(low), int(high))
            return round(rng.uniform(low, high), 1)
        if kind is ItemType.TEXT:
            pool = self.o["texts"].get(item.name)
            if pool:
                return rng.choice(list(pool))
            return rng.choice(TEXTS) if rng.random() < 0.7 else str(rng.randint(0, 9999)).zfill(4)
        if kind is ItemType.DATE:
            return self.day(rng.randint(0, 365 * 80))
        if kind is ItemType.TIME:
            return f"{rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}"
        if kind is ItemType.DATETIME:
            return (
                f"{self.day(rng.randint(0, 30))}T{rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}"
            )
        if kind is ItemType.GEOPOINT:
            lat, lon = self.o["centre"]
            return f"{lat + rng.uniform(-0.02, 0.02):.5f} {lon + rng.uniform(-0.02, 0.02):.5f} 0 10"
        return None

    def day(self, back: int) -> str:
        return (_dt.date.fromisoformat(self.o["today"]) - _dt.timedelta(days=back)).isoformat()

    def metadata(self, kind: str) -> str:
        today = self.o["today"]
        if kind == "today":
            return today
        if kind == "deviceid":
            return "rehearsal"
        minute = self.rng.randint(0, 50)
        return f"{today}T09:{minute:02d}:00" if kind == "start" else f"{today}T10:{minute:02d}:00"


def generate_interviews(
    instrument: Instrument,
    n: int,
    *,
    seed: int = 0,
    today: str | None = None,
    answer_rate: float = 0.9,
    p_yes: float = 0.9,
    decay: float = 0.6,
    max_instances: int = 4,
    centre: tuple[float, float] = (30.27, 120.15),
    weights: Mapping[str, Mapping[str, float]] | None = None,
    answer_rates: Mapping[str, float] | None = None,
    texts: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """``n`` test interviews (answer dicts) for ``instrument``, reproducible from ``seed``.

    Each is accepted by ``code_response(instrument, answers, today=today)`` and, when the
    instrument has indicators, answers at least one indicator item. ``today``
    ("YYYY-MM-DD", default 2026-01-01 so that the result does not depend on the day it
    runs) is the interview date for dates, metadata and ``today()``. Raises
    ``GenerationError`` when an item's constraint cannot be met or 200 draws in a row are
    refused, and ``ValueError`` for a negative ``n``. ``weights``, ``answer_rates`` and
    ``texts`` (per item name) set chosen rates (module docstring).
    """
    if n < 0:
        raise ValueError("n must be ≥ 0")
    options = {
        "today": today or "2026-01-01",
        "answer_rate": answer_rate,
        "p_yes": p_yes,
        "decay": decay,
        "max_instances": max_instances,
        "centre": centre,
        "weights": dict(weights or {}),
        "answer_rates": dict(answer_rates or {}),
        "texts": dict(texts or {}),
    }
    if V.order_number(options["today"]) is None:
        raise ValueError(f"today must be a date such as 2026-11-24, not {today!r}")
    rng = random.Random(seed)
    draw = _Draw(instrument, rng, options)
    program = instrument.compiled
    indicator_items = {ind.item for ind in instrument.indicators}
    out: list[dict[str, Any]] = []
    refused = 0
    while len(out) < n:
        answers: dict[str, Any] = {}
        draw.block(program.steps, answers, {}, True, dict(draw.env))
        run = program.run(answers, draw.env)
        interviewed = not indicator_items or any(k in answers for k in indicator_items)
        if run.errors or not interviewed:
            refused += 1
            if refused >= 200:
                first = run.errors[0].item if run.errors else "the indicator items"
                raise GenerationError(f"200 draws in a row were refused (first problem: {first})")
            continue
        refused = 0
        out.append(answers)
    return out
