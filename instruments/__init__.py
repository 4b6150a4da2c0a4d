"""Questionnaires as data: load, check and run 创文模拟问卷 instruments.

Pure Python (no Flask, no database, no analysis). The public API:

- ``load_instrument(path) -> Instrument`` and ``loads_instrument(text, source)``: read one
  instrument (YAML, see docs/instruments.md); raise ``InstrumentError``.
- ``load_directory(dir) -> dict[str, Instrument]`` keyed by instrument key; raises one
  ``InstrumentError`` whose message lists ``file:line: where: reason`` for every problem.
- ``publish_instrument(path) -> (Instrument, bool)``: record a version in the directory's
  ``_published.yaml`` register; a published version may never change afterwards.
- ``FORMS_DIR``: the packaged standard forms (``household`` = 入户模拟问卷).
- ``relevant_items(instrument, answers) -> list[str]``,
  ``validate_answers(instrument, answers) -> list[AnswerError]``,
  ``drop_irrelevant(instrument, answers) -> dict``.
- ``indicator_values(instrument, answers) -> dict[str, int | None]`` (知晓率 / 支持率 /
  满意率 / per-area satisfaction coded 1/0/None), ``profile_values`` (weighting profile),
  ``feedback_items`` (问需/问计/问效 texts).
- ``code_response(instrument, answers) -> CodedResponse``: all of the above in one pass
  (``errors``, ``indicators``, ``profile``, ``feedback``, ``relevant``) — for the sync path.
- ``Instrument.to_client_dict()``: JSON for the browser, expressions as ASTs;
  ``Instrument.content_hash``: ``"sha256:..."`` of the canonical content.
- ``xlsform.import_xlsform(path, key=..., version=...)``: XLSForm workbook -> YAML text.
- ``generate_interviews(instrument, n, seed=...)``: test interviews that honour the skip
  logic, constraints and choice filters (rehearsal, the demo) — pure and reproducible.
- ``fill_label(instrument, label, values, lang)``: a label with ``${name}`` filled in.
- ``Instrument.compiled``: the expressions compiled once per version (the sync's fast path).
"""

from __future__ import annotations

from pathlib import Path

from .answers import AnswerError, drop_irrelevant, relevant_items, validate_answers
from .coding import CodedResponse, code_response, feedback_items, indicator_values, profile_values
from .expr import Expression, ExpressionError, evaluate, normalise, parse
from .generate import GenerationError, generate_interviews
from .loader import (
    InstrumentError,
    Problem,
    load_directory,
    load_instrument,
    loads_instrument,
    publish_instrument,
)
from .model import Choice, Group, Indicator, Instrument, Item, ItemType, Label
from .runner import fill_label

FORMS_DIR: Path = Path(__file__).parent / "forms"

__all__ = [
    "FORMS_DIR",
    "AnswerError",
    "CodedResponse",
    "Choice",
    "Expression",
    "ExpressionError",
    "GenerationError",
    "Group",
    "Indicator",
    "Instrument",
    "InstrumentError",
    "Item",
    "ItemType",
    "Label",
    "Problem",
    "code_response",
    "drop_irrelevant",
    "evaluate",
    "feedback_items",
    "fill_label",
    "generate_interviews",
    "indicator_values",
    "load_directory",
    "load_instrument",
    "loads_instrument",
    "normalise",
    "parse",
    "profile_values",
    "publish_instrument",
    "relevant_items",
    "validate_answers",
]
