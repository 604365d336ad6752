"""Small bar charts as SVG geometry (pure): the rule-hits page draws one per rule.

The template writes the rectangles; numbers only, nothing from a feed, and no
script, so the page stays within its Content-Security-Policy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


def bars(values: list[int], labels: list[str], *, width: int = 280, height: int = 40,
         top: int | None = None) -> list[Bar]:
    """One bar per value, scaled to ``top`` (default the largest value); empty days get no bar."""
    if not values:
        return []
    top = max(top or max(values), 1)
    step = width / len(values)
    out = []
    for i, (value, label) in enumerate(zip(values, labels)):
        h = round(value / top * (height - 2), 1)
        if value and h < 1:
            h = 1.0  # a single hit stays visible next to a busy day
        out.append(Bar(round(i * step + 1, 1), round(height - h, 1), round(max(step - 2, 1), 1), h, value, label))
    return out
