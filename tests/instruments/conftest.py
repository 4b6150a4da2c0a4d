"""Helpers: a small valid instrument as data, written to a file a test can break."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE: dict[str, Any] = {
    "key": "mini",
    "version": 1,
    "title": {"zh": "小问卷", "en": "Mini"},
    "choices": {
        "sat": [
            {"code": "satisfied", "label": {"zh": "满意", "en": "Satisfied"}},
            {"code": "fairly", "label": "比较满意"},
            {"code": "neutral", "label": "一般"},
            {"code": "no", "label": "不满意"},
            {"code": "dk", "label": "说不清", "dont_know": True},
        ],
        "area": [
            {"code": "a", "label": "交通"},
            {"code": "b", "label": "市容"},
            {"code": "c", "label": "养犬"},
        ],
        "age": [{"code": "young", "label": "16-44"}, {"code": "old", "label": "45+"}],
    },
    "items": [
        {"name": "intro", "type": "note", "label": "您好"},
        {"name": "consent", "type": "yesno", "required": True, "label": "同意吗?"},
        {
            "name": "sat",
            "type": "single",
            "choices": "sat",
            "required": True,
            "relevant": "consent = 'yes'",
            "label": "满意吗?",
        },
        {
            "name": "areas",
            "type": "multiple",
            "choices": "area",
            "relevant": "consent = 'yes'",
            "constraint": "count_selected(.) <= 2",
            "constraint_message": {"zh": "最多选2项", "en": "At most 2"},
            "label": "哪些方面?",
        },
        {
            "name": "years",
            "type": "number",
            "integer": True,
            "min": 0,
            "max": 100,
            "relevant": "consent = 'yes'",
            "label": "居住年数",
        },
        {
            "name": "why",
            "type": "text",
            "relevant": "sat = 'no' or selected(areas, 'c')",
            "feedback": "问需",
            "label": "为什么?",
        },
        {"name": "age", "type": "single", "choices": "age", "label": "年龄"},
    ],
    "indicators": {
        "satisfaction": {
            "label": {"zh": "满意率", "en": "Satisfaction"},
            "kind": "headline",
            "item": "sat",
            "positive": ["satisfied", "fairly"],
        },
        "consent_rate": {"label": "同意率", "kind": "detail", "item": "consent", "positive": "yes"},
    },
    "profile": {"age_group": "age", "residence_years": "years"},
}


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def item(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["items"] if i["name"] == name)


def write(directory: Path, data: dict[str, Any] | str, name: str = "mini.yaml") -> Path:
    path = directory / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mini(tmp_path: Path):
    from instruments import load_instrument

    return load_instrument(write(tmp_path, base()))
