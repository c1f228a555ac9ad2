"""What can be ordered and what it costs: models, sizes, lengths, plans and prices."""
from __future__ import annotations

from dataclasses import dataclass

# Provider list prices in USD per second of video (PROVIDER.md), by model and size class.
USD_PER_SECOND = {
    ('sora-2', '720p'): 0.10,
    ('sora-2-pro', '720p'): 0.30,
    ('sora-2-pro', 'hd'): 0.50,
}
SIZE_CLASS = {'720x1280': '720p', '1280x720': '720p', '1024x1792': 'hd', '1792x1024': 'hd'}
SIZE_LABELS = {
    '720x1280': 'Portrait 720×1280',
    '1280x720': 'Landscape 1280×720',
    '1024x1792': 'Portrait HD 1024×1792',
    '1792x1024': 'Landscape HD 1792×1024',
}
MODELS = {'sora-2': 'Sora 2', 'sora-2-pro': 'Sora 2 Pro'}
SECONDS = (4, 8, 12)
DEFAULT_MODEL, DEFAULT_SIZE, DEFAULT_SECONDS = 'sora-2', '720x1280', 4


@dataclass(frozen=True)
class Plan:
    name: str
    label: str
    can_generate: bool


PLANS = {
    'free': Plan('free', 'Free', can_generate=False),
    'standard': Plan('standard', 'Standard', can_generate=True),
}


def plan(name: str) -> Plan:
    return PLANS.get(name, PLANS['free'])


def sizes_for(model: str) -> list[str]:
    """The sizes a model serves, in display order."""
    return [size for size, cls in SIZE_CLASS.items() if (model, cls) in USD_PER_SECOND]


def usd_cost(model: str, size: str, seconds: int) -> float:
    return USD_PER_SECOND[(model, SIZE_CLASS[size])] * seconds


def price(model: str, size: str, seconds: int, credits_per_second: int = 25) -> int:
    """Credits for one video: `credits_per_second` buys a second of sora-2 at 720p; other
    models and sizes scale by the provider's own price ratios."""
    base = USD_PER_SECOND[('sora-2', '720p')]
    return round(credits_per_second * seconds * USD_PER_SECOND[(model, SIZE_CLASS[size])] / base)
