"""Server-side SVG bar charts (no JavaScript): marks per standards section, a competitor's criteria.

`bar_chart` draws one horizontal bar per item, its value written beside it, and optionally a
target tick on each bar (a section's weighting, a criterion's maximum). Every text is escaped; the
SVG carries a title and each bar a <title> so that screen readers and tooltips tell the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

ROW_HEIGHT = 30
BAR_HEIGHT = 18
LABEL_WIDTH = 220
VALUE_WIDTH = 120
PLOT_WIDTH = 420


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value and, optionally, the value it should reach (drawn as a tick)."""

    label: str
    value: Decimal
    target: Decimal | None = None
    text: str | None = None
    """What is written beside the bar (default: the value)."""


def _x(value: Decimal, top: Decimal) -> float:
    return float(LABEL_WIDTH + PLOT_WIDTH * (value / top)) if top > 0 else float(LABEL_WIDTH)


def bar_chart(bars: Sequence[Bar], *, title: str, css_class: str = "chart") -> Markup:
    """An SVG with a horizontal bar per item, scaled to the largest value or target."""
    top = max([Decimal(0), *(bar.value for bar in bars), *(bar.target for bar in bars if bar.target is not None)])
    height = ROW_HEIGHT * len(bars) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    for index, bar in enumerate(bars):
        y = 5 + index * ROW_HEIGHT
        end = _x(max(bar.value, Decimal(0)), top)
        shown = bar.text if bar.text is not None else f"{bar.value}"
        parts.append(
            f'<g class="bar"><title>{escape(bar.label)}: {escape(shown)}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 4}" text-anchor="end" class="label">'
            f"{escape(bar.label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{end - LABEL_WIDTH:.1f}" height="{BAR_HEIGHT}" class="value"/>'
        )
        if bar.target is not None:
            tick = _x(bar.target, top)
            parts.append(
                f'<line x1="{tick:.1f}" x2="{tick:.1f}" y1="{y - 3}" y2="{y + BAR_HEIGHT + 3}" class="target"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{y + BAR_HEIGHT - 4}" class="figure">'
            f"{escape(shown)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
