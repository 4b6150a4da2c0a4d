"""One pass over a response: relevance, the values expressions see, calculations, errors.

``Program(instrument)`` is built once per questionnaire version (``Instrument.compiled``):
its items arranged as the tree of groups and repeats they are in, every expression
compiled to a closure (``instruments.compile``). ``Program.run(answers)`` then walks the
tree once per response, in item order (docs/instruments.md, "Evaluation rules"):

- an item is relevant when every group around it and its own ``relevant`` are true,
  evaluated on the values of the items before it (non-relevant items are ``""``);
- a ``calculate`` item's value is computed there (a value the tablet sent must equal it);
- a repeat is run once per instance with the outer values and the instance's own answers;
- each relevant answer is checked (type, codes offered by the choice filter, range,
  constraint) as it is met. survey_app/static/canvass/expr.js does the same walk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import values as V
from .compile import Compiled, compile_ast
from .model import CHOICE_TYPES, Group, Instrument, Item, ItemType, Label

__all__ = ["Program", "Run", "AnswerError", "is_empty", "normalize", "fill_label", "offered_codes"]


@dataclass(frozen=True)
class AnswerError:
    """One problem with one answer. ``message`` is Chinese, ``message_en`` English.
    ``item`` is the item name; inside a repeat ``repeat[n].item`` (n from 1)."""

    item: str
    code: str
    message: str
    message_en: str

    def get(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message


@dataclass
class Run:
    """The result of one pass: see ``Program.run``."""

    relevance: dict[str, bool] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[AnswerError] = field(default_factory=list)
    calculated: dict[str, Any] = field(default_factory=dict)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def normalize(item: Item, value: Any) -> Any:
    """The value expressions see: numbers as numbers; an answer of the wrong kind as ``""``."""
    if item.type is ItemType.NUMBER:
        number = V.to_number(value)
        return "" if number is None else number
    if item.type is ItemType.MULTIPLE:
        return list(value) if isinstance(value, list) else ""
    return value if isinstance(value, str) else ""


_TIME = re.compile(
    r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_FORMATS = {
    ItemType.DATE: ("日期须为 年-月-日(如 2026-11-24)", "expected a date such as 2026-11-24"),
    ItemType.TIME: ("时间须为 时:分(如 09:30)", "expected a time such as 09:30"),
    ItemType.DATETIME: (
        "日期时间须为 年-月-日T时:分(如 2026-11-24T09:30)",
        "expected a date and time such as 2026-11-24T09:30",
    ),
    ItemType.GEOPOINT: (
        "位置须为“纬度 经度 [海拔 精度]”",
        "expected 'latitude longitude [altitude accuracy]'",
    ),
}


def _format_ok(kind: ItemType, value: str) -> bool:
    if kind is ItemType.DATE:
        return bool(V._DATE.fullmatch(value)) and V.order_number(value) is not None
    if kind is ItemType.TIME:
        return bool(_TIME.fullmatch(value))
    if kind is ItemType.DATETIME:
        return bool(V._DATETIME.fullmatch(value)) and V.order_number(value) is not None
    parts = value.split()
    numbers = [V.to_number(p) for p in parts]
    if not 2 <= len(parts) <= 4 or any(n is None for n in numbers):
        return False
    return -90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180


class _ItemStep:
    __slots__ = ("item", "name", "relevant", "constraint", "calculation", "choice_filter",
                 "choices", "codes", "has_value", "kind", "plain", "same_relevance")  # fmt: skip

    def __init__(self, inst: Instrument, item: Item) -> None:
        self.item = item
        self.name = item.name
        self.has_value = item.has_value
        self.kind = item.type
        self.relevant = _compiled(item.relevant)
        self.constraint = _compiled(item.constraint)
        self.calculation = _compiled(item.calculation)
        self.choice_filter = _compiled(item.choice_filter)
        listed = inst.choice_lists.get(item.choices or "", ()) if item.type in CHOICE_TYPES else ()
        self.choices = tuple({"code": c.code, **dict(c.filters)} for c in listed)
        self.codes = frozenset(inst.choice_codes(item))
        # The answers that need no further check (see Program._block): the codes of a
        # single-choice or yes/no item without a choice filter or constraint, or
        # _ANY_TEXT for a text item without a constraint; else None (the general path).
        self.plain: Any = None
        if self.has_value and self.calculation is None and self.constraint is None:
            if self.codes and item.type in _ONE_CODE and self.choice_filter is None:
                self.plain = frozenset(c for c in self.codes if c.__class__ is str and c != "")
            elif not self.codes and item.type is ItemType.TEXT:
                self.plain = _ANY_TEXT
        self.same_relevance = False  # set by Program: see _share_relevance


class _GroupStep:
    __slots__ = ("group", "name", "relevant", "repeat_count", "steps", "names", "same_relevance")

    def __init__(self, group: Group) -> None:
        self.group = group
        self.name = group.name
        self.relevant = _compiled(group.relevant)
        self.repeat_count = _compiled(group.repeat_count)
        self.steps: list[_ItemStep | _GroupStep] = []
        self.names: frozenset[str] = frozenset()
        self.same_relevance = False


_ANY_TEXT = object()  # _ItemStep.plain of a free-text item: any non-empty string will do
# Item types whose answer is one code kept as sent (a number item with a choice list, should
# one be loaded, keeps its value as a number: the general path).
_ONE_CODE = frozenset((ItemType.SINGLE, ItemType.YESNO))


# Operators whose value depends only on their operands (no function calls: random(),
# now(), once() ... and no choice columns), so the same expression over the same values
# gives the same result twice.
_PURE = frozenset(("lit", "var", "and", "or", "not", "=", "!=", "<", "<=", ">", ">=", "neg",
                   "selected", "count_selected", "answered", "if", "regex", "+", "-", "*",
                   "div", "mod"))  # fmt: skip


def _pure_variables(ast: Any) -> frozenset[str] | None:
    """The variables a pure expression reads, or None when it is not pure."""
    if ast[0] not in _PURE:
        return None
    if ast[0] == "var":
        return frozenset((ast[1],))
    if ast[0] == "lit":
        return frozenset()
    names: frozenset[str] = frozenset()
    for part in ast[1:]:
        if isinstance(part, tuple):
            inner = _pure_variables(part)
            if inner is None:
                return None
            names |= inner
    return names


def _share_relevance(steps: list[Any]) -> None:
    """Mark each item whose ``relevant`` is the same pure expression as the item just
    before it (in the same block) and does not read that item's value: nothing it reads
    has changed since, so it has the same result (23 items of the household form, those
    after ``consent``, read ``consent = 'yes'``). Program._block then reuses the result."""
    previous = None
    for step in steps:
        if step.__class__ is _GroupStep:
            _share_relevance(step.steps)
            previous = None  # a group sets the values of its items: evaluate again
            continue
        expression = step.item.relevant
        if previous is not None and expression is not None:
            before = previous.item.relevant
            names = _pure_variables(expression.ast)
            step.same_relevance = (
                before is not None
                and before.ast == expression.ast
                and names is not None
                and previous.name not in names
            )
        previous = step


def _compiled(expression: Any) -> Compiled | None:
    return compile_ast(expression.ast) if expression is not None else None


def _error(item: str, code: str, zh: str, en: str) -> AnswerError:
    return AnswerError(item, code, zh, en)


class Program:
    """An instrument's items as a tree of groups, with every expression compiled."""

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.steps: list[_ItemStep | _GroupStep] = []
        self.by_name: dict[str, _ItemStep] = {}
        open_groups: list[_GroupStep] = []
        for item in inst.items:
            chain = self._chain(item)
            depth = 0
            while depth < min(len(chain), len(open_groups)) and (
                open_groups[depth].name == chain[depth]
            ):
                depth += 1
            del open_groups[depth:]
            for name in chain[depth:]:
                step = _GroupStep(inst.group(name))
                (open_groups[-1].steps if open_groups else self.steps).append(step)
                open_groups.append(step)
            self.by_name[item.name] = _ItemStep(inst, item)
            (open_groups[-1].steps if open_groups else self.steps).append(self.by_name[item.name])
        for step in self._groups(self.steps):
            step.names = frozenset(i.name for i in self._items(step.steps))
        _share_relevance(self.steps)
        self.keys = frozenset(
            [i.name for i in inst.items if inst.has_item(i.name)]
            + [g.name for g in inst.groups if g.repeat]
        )
        # (kind, item) of the residents' open answers, in item order (coding._feedback)
        self.feedback_items = tuple(
            (i.feedback, i.name) for i in inst.items if i.feedback and i.type is ItemType.TEXT
        )
        # indicator key -> (item, positive codes, codes giving None, every code of the item)
        self.indicator_table = []
        for ind in inst.indicators:
            item = inst.item(ind.item)
            codes = set(inst.choice_codes(item))
            excluded = set()
            if ind.dont_know == "exclude":
                excluded = {c for c in codes if (ch := inst.choice(item, c)) and ch.dont_know}
            self.indicator_table.append((ind.key, ind.item, frozenset(ind.positive),
                                         frozenset(excluded), frozenset(codes)))  # fmt: skip

    def indicators(self, values: Mapping[str, Any]) -> dict[str, int | None]:
        """Each indicator coded 1, 0 or None from the values of a run (see coding.py)."""
        out: dict[str, int | None] = {}
        for key, item, positive, excluded, codes in self.indicator_table:
            code = values.get(item)
            if code.__class__ is not str or code not in codes or code in excluded:
                out[key] = None
            else:
                out[key] = 1 if code in positive else 0
        return out

    def step(self, name: str) -> _ItemStep:
        """The compiled form of item ``name`` (e.g. for ``offered_codes``)."""
        return self.by_name[name]

    def _chain(self, item: Item) -> list[str]:
        chain: list[str] = []
        name = item.group
        while name is not None:
            chain.append(name)
            name = self.inst.group(name).parent
        return chain[::-1]

    def _groups(self, steps: list[Any]) -> list[_GroupStep]:
        out = []
        for step in steps:
            if isinstance(step, _GroupStep):
                out += [step, *self._groups(step.steps)]
        return out

    def _items(self, steps: list[Any]) -> list[Item]:
        out: list[Item] = []
        for step in steps:
            out += self._items(step.steps) if isinstance(step, _GroupStep) else [step.item]
        return out

    def run(self, answers: Mapping[str, Any], env: Mapping[str, Any] | None = None) -> Run:
        """Relevance (item name -> shown; inside a repeat ``repeat[n].item``), the values
        expressions see, calculated values and every error, in one pass. ``env`` may give
        ``today`` ("YYYY-MM-DD") and ``now`` for today() and now()."""
        out = Run()
        if not isinstance(answers, Mapping):
            out.errors.append(
                _error("answers", "invalid_type", "答案须为对象", "expected an object")
            )
            return out
        if not self.keys.issuperset(answers):
            out.errors += [
                _error(k, "unknown_item", "问卷中没有这一题", "no such item in this questionnaire")
                for k in answers
                if k not in self.keys
            ]
        self._block(self.steps, answers, out.values, True, dict(env or {}), "", out)
        return out

    def _block(
        self,
        steps: list[Any],
        answers: Mapping[str, Any],
        values: dict[str, Any],
        shown: bool,
        env: dict[str, Any],
        prefix: str,
        out: Run,
    ) -> None:
        relevance = out.relevance
        relevant = shown
        for step in steps:
            if not step.same_relevance:  # else: the previous item's (see _share_relevance)
                relevant = shown and (step.relevant is None or step.relevant(values, env) is True)
            if step.__class__ is _GroupStep:
                if step.group.repeat:
                    self._repeat(step, answers, values, relevant, env, prefix, out)
                else:
                    self._block(step.steps, answers, values, relevant, env, prefix, out)
                continue
            name = step.name
            relevance[prefix + name] = relevant
            if step.calculation is not None:
                self._calculate(step, answers, values, relevant, env, prefix, out)
            elif step.has_value:
                raw = answers.get(name)
                plain = step.plain
                # The common case, decided here: a relevant answer that is one of the item's
                # codes (or text, for a text item) and has nothing else to be checked
                # against — what _answer would conclude, without its general path.
                if relevant and plain is not None and raw.__class__ is str:
                    if plain is _ANY_TEXT:
                        if raw:
                            values[name] = raw
                            continue
                    elif raw in plain:
                        values[name] = raw
                        continue
                self._answer(step, raw, values, relevant, env, prefix, out)

    def _answer(
        self,
        step: _ItemStep,
        raw: Any,
        values: dict[str, Any],
        relevant: bool,
        env: dict[str, Any],
        prefix: str,
        out: Run,
    ) -> None:
        item, where = step.item, prefix + step.name
        if is_empty(raw):
            if relevant and item.required:
                msg = item.required_message
                zh, en = (
                    (msg.zh, msg.en or msg.zh) if msg else ("此题必答", "an answer is required")
                )
                out.errors.append(_error(where, "required", zh, en))
            return
        if not relevant:
            out.errors.append(
                _error(where, "not_relevant", "按跳题逻辑此题不应作答",
                       "answered although skip logic hides this item")
            )  # fmt: skip
            return
        kind = step.kind
        if kind is ItemType.NUMBER:
            value = V.to_number(raw)
            if value is not None:
                values[step.name] = value
        elif kind is ItemType.MULTIPLE:
            if isinstance(raw, list):
                values[step.name] = list(raw)
        elif raw.__class__ is str:
            values[step.name] = raw
        error = self._check(step, raw, values, env, where)
        if error is None and step.constraint is not None:
            if step.constraint(values, env) is not True:
                msg = item.constraint_message
                error = _error(
                    where,
                    "constraint",
                    msg.zh if msg else "答案不符合本题要求",
                    (msg.en or msg.zh) if msg else "the answer breaks this item's constraint",
                )
        if error is not None:
            out.errors.append(error)

    def _calculate(
        self,
        step: _ItemStep,
        answers: Mapping[str, Any],
        values: dict[str, Any],
        relevant: bool,
        env: dict[str, Any],
        prefix: str,
        out: Run,
    ) -> None:
        value = step.calculation(values, env) if relevant else ""
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value != "":
            values[step.name] = value
        out.calculated[prefix + step.name] = value
        sent = answers.get(step.name)
        if is_empty(sent):
            return
        if not relevant:
            out.errors.append(
                _error(prefix + step.name, "not_relevant", "按跳题逻辑此题不应有值",
                       "a value although skip logic hides this calculation")
            )  # fmt: skip
        elif not (V.equal(sent, value) or V.text(sent) == V.text(value)):
            out.errors.append(
                _error(prefix + step.name, "calculation",
                       f"计算结果应为 {V.text(value)}，不是 {V.text(sent)}",
                       f"the calculation gives {V.text(value)!r}, not {V.text(sent)!r}")
            )  # fmt: skip

    def _repeat(
        self,
        step: _GroupStep,
        answers: Mapping[str, Any],
        values: dict[str, Any],
        relevant: bool,
        env: dict[str, Any],
        prefix: str,
        out: Run,
    ) -> None:
        name = step.name
        out.relevance[prefix + name] = relevant
        raw = answers.get(name)
        instances: list[Any] = []
        if not is_empty(raw):
            if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
                out.errors.append(
                    _error(name, "invalid_type", "重复组的答案须为对象列表",
                           "expected a list of objects (one per instance)")
                )  # fmt: skip
            elif not relevant:
                out.errors.append(
                    _error(name, "not_relevant", "按跳题逻辑此组不应作答",
                           "answered although skip logic hides this group")
                )  # fmt: skip
            else:
                instances = raw
        if relevant and step.repeat_count is not None:
            wanted = V.to_number(step.repeat_count(values, env))
            if wanted is not None and wanted == int(wanted) and len(instances) != wanted:
                out.errors.append(
                    _error(name, "repeat_count", f"应有 {int(wanted)} 组，实有 {len(instances)} 组",
                           f"expected {int(wanted)} instances, got {len(instances)}")
                )  # fmt: skip
        collected: list[dict[str, Any]] = []
        for index, instance in enumerate(instances, start=1):
            here = f"{prefix}{name}[{index}]."
            out.errors += [
                _error(
                    here + k, "unknown_item", "此重复组中没有这一题", "no such item in this group"
                )
                for k in instance
                if k not in step.names
            ]
            scope = dict(values)
            self._block(step.steps, instance, scope, True, {**env, "position": index}, here, out)
            collected.append({k: scope[k] for k in step.names if k in scope})
        values[name] = collected

    def _check(
        self,
        step: _ItemStep,
        value: Any,
        values: Mapping[str, Any],
        env: dict[str, Any],
        where: str,
    ) -> AnswerError | None:
        item = step.item
        if step.codes:
            return self._check_choice(step, value, values, env, where)
        if item.type is ItemType.NUMBER:
            return _check_number(item, value, where)
        if not isinstance(value, str):
            return _error(where, "invalid_type", "答案须为文字", "expected text")
        if item.type in _FORMATS and not _format_ok(item.type, value):
            zh, en = _FORMATS[item.type]
            return _error(where, "invalid_type", zh, en)
        return None

    def _check_choice(
        self,
        step: _ItemStep,
        value: Any,
        values: Mapping[str, Any],
        env: dict[str, Any],
        where: str,
    ) -> AnswerError | None:
        if step.kind is ItemType.MULTIPLE:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return _error(
                    where,
                    "invalid_type",
                    "多选题的答案须为选项代码列表",
                    "expected a list of codes",
                )
            if len(set(value)) != len(value):
                return _error(where, "unknown_choice", "选项重复", "a code is given twice")
            codes = value
        else:
            if not isinstance(value, str):
                return _error(where, "invalid_type", "答案须为一个选项代码", "expected one code")
            codes = [value]
        unknown = [v for v in codes if v not in step.codes]
        if unknown:
            shown = ", ".join(unknown)
            return _error(where, "unknown_choice", f"无此选项：{shown}", f"unknown choice: {shown}")
        if step.choice_filter is not None:
            offered = set(offered_codes(step, values, env))
            hidden = [v for v in codes if v not in offered]
            if hidden:
                shown = ", ".join(hidden)
                return _error(where, "choice_filter", f"按前面的回答不能选：{shown}",
                              f"not offered after the earlier answers: {shown}")  # fmt: skip
        return None


def offered_codes(step: _ItemStep, values: Mapping[str, Any], env: Mapping[str, Any]) -> list[str]:
    """The codes of a filtered choice list that its ``choice_filter`` lets through."""
    if step.choice_filter is None:
        return list(dict.fromkeys(c["code"] for c in step.choices))
    scope = dict(env)
    out = []
    for choice in step.choices:
        scope["choice"] = choice
        if step.choice_filter(values, scope) is True and choice["code"] not in out:
            out.append(choice["code"])
    return out


def _check_number(item: Item, value: Any, where: str) -> AnswerError | None:
    number = V.to_number(value)
    if number is None or not math.isfinite(number):
        return _error(where, "not_a_number", "请填写数字", "expected a number")
    if item.integer and number != int(number):
        return _error(where, "not_a_number", "请填写整数", "expected a whole number")
    low, high = item.minimum, item.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        if low is None:
            zh, en = f"数值不能大于 {high}", f"must be at most {high}"
        elif high is None:
            zh, en = f"数值不能小于 {low}", f"must be at least {low}"
        else:
            zh, en = f"数值须在 {low} 到 {high} 之间", f"must be between {low} and {high}"
        return _error(where, "out_of_range", zh, en)
    return None


def fill_label(
    instrument: Instrument, label: Label, values: Mapping[str, Any], lang: str = "zh"
) -> str:
    """A label's text in ``lang`` with each ``${name}`` replaced by that answer: a choice
    item's choice labels (joined with 、), else the answer's text (as the tablet shows it)."""

    def answer(m: re.Match[str]) -> str:
        value = values.get(m.group(1), "")
        try:
            item = instrument.item(m.group(1))
        except KeyError:
            return V.text(value)
        if item.type in CHOICE_TYPES and not is_empty(value):
            codes = value if isinstance(value, list) else [value]
            listed = instrument.choice_lists.get(item.choices or "", ())
            return "、".join(c.label.get(lang) for c in listed if c.code in codes)
        return V.text(value)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", answer, label.get(lang))
