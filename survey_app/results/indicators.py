"""Which indicators a wave reports, with their labels and kinds, from its instrument.

Headline indicators are 知晓率 (awareness), 支持率 (support) and 满意率 (satisfaction);
``area`` indicators are the per-area satisfaction items (满意率 of 环境卫生, 交通秩序 …)
that show which areas pull satisfaction down.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADLINE = ("awareness", "support", "satisfaction")
_FALLBACK = {
    "awareness": ("知晓率", "Awareness"),
    "support": ("支持率", "Support"),
    "satisfaction": ("满意率", "Satisfaction"),
}


@dataclass(frozen=True)
class IndicatorInfo:
    """An indicator's key, labels (zh, en) and kind (headline / area / detail)."""

    key: str
    zh: str
    en: str
    kind: str

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" and self.en else self.zh

    def short_label(self, lang: str = "zh") -> str:
        """An area's name alone (交通秩序, Traffic order): the heading says it is satisfaction."""
        text = self.label(lang)
        if self.kind != "area":
            return text
        if lang == "en" and text.lower().startswith("satisfaction with "):
            rest = text[len("satisfaction with ") :]
            return rest[:1].upper() + rest[1:]
        return text.removesuffix("满意率") or text


def indicator_catalog(instrument=None) -> list[IndicatorInfo]:
    """The instrument's indicators in its order (headline first); without an instrument,
    the three headline indicators."""
    if instrument is None or not getattr(instrument, "indicators", None):
        return [IndicatorInfo(k, *_FALLBACK[k], "headline") for k in HEADLINE]
    found = []
    for ind in instrument.indicators:
        kind = ind.kind
        if kind != "headline" and ind.key.startswith("satisfaction_"):
            kind = "area"
        found.append(IndicatorInfo(ind.key, ind.label.zh, ind.label.en or ind.label.zh, kind))
    order = {k: i for i, k in enumerate(HEADLINE)}
    return sorted(found, key=lambda i: (i.kind != "headline", order.get(i.key, 99)))


def areas(catalog: list[IndicatorInfo]) -> list[IndicatorInfo]:
    return [i for i in catalog if i.kind == "area"]
