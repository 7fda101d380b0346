"""Small hand-written SVG charts: daily bars with a labelled axis, and a sparkline.

The markup is built here with every text escaped; no JavaScript draws anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 600, 180
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 4, 4, 4, 2


def bar_chart(
    values: Sequence[int],
    dates: Sequence[str],
    *,
    title: str,
    label: Callable[[int], str],
    css_class: str = "bars",
) -> Markup:
    """Bars of ``values`` (one per date) stretched to the box; each bar's tooltip and the
    axis labels (HTML around the SVG, so text never stretches) use ``label``."""
    if len(values) != len(dates):
        raise ValueError("one value per date")
    top = max(values, default=0)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / max(len(values), 1)
    bar_w = max(step * 0.75, 1.0)
    parts = [
        f'<div class="chart {escape(css_class)}">',
        f'<div class="axis"><span>max {escape(label(top))}</span></div>',
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">',
        f'<line class="base" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" '
        f'x2="{WIDTH - PAD_RIGHT}" y2="{HEIGHT - PAD_BOTTOM}"/>',
    ]
    for i, (value, date) in enumerate(zip(values, dates, strict=True)):
        h = inner_h * value / top if top else 0.0
        if value and h < 1:
            h = 1.0
        x = PAD_LEFT + i * step + (step - bar_w) / 2
        y = HEIGHT - PAD_BOTTOM - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
            f"<title>{escape(date)}: {escape(label(value))}</title></rect>"
        )
    parts.append("</svg>")
    if dates:
        parts.append(
            f'<div class="axis"><span>{escape(dates[0])}</span>'
            f"<span>{escape(dates[-1])}</span></div>"
        )
    parts.append("</div>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int], *, title: str, width: int = 120, height: int = 28) -> Markup:
    """A line through ``values`` scaled to the box; flat at the bottom when all are zero."""
    top = max(values, default=0)
    n = len(values)
    points = " ".join(
        f"{(i * (width - 2) / max(n - 1, 1)) + 1:.1f},"
        f"{height - 1 - ((height - 2) * v / top if top else 0):.1f}"
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><polyline points="{points}"/></svg>'
    )
