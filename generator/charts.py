"""Charts drawn at build time as inline SVG: no script, readable by a screen
reader (a title and a description saying what the chart shows, every number
also written in the bars' labels)."""
from __future__ import annotations

from html import escape

from markupsafe import Markup

WIDTH = 640
BAR = 22  # px per row of a bar chart


def histogram(values: list[float], full: int, title: str, bins: int = 10) -> Markup:
    """Counts of `values` (0..full) in `bins` equal ranges, as vertical bars."""
    step = full / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v // step))] += 1
    top = max(counts) or 1
    height, left, bottom = 180, 36, 28
    width = (WIDTH - left) / bins
    labels = [f"{step * i:g}–{step * (i + 1):g}" for i in range(bins)]
    desc = "；".join(f"{label} 分：{n} 个" for label, n in zip(labels, counts) if n)
    bars = []
    for i, n in enumerate(counts):
        h = round(n / top * (height - 20))
        x, y = left + i * width, height - h
        bars.append(f'<rect x="{x + 2:.1f}" y="{y}" width="{width - 4:.1f}" height="{h}" class="bar"/>'
                    f'<text x="{x + width / 2:.1f}" y="{y - 4}" class="value">{n or ""}</text>'
                    f'<text x="{x + width / 2:.1f}" y="{height + 18}" class="axis">{step * i:g}</text>')
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {height + bottom}" role="img" '
                  f'aria-labelledby="hist-title hist-desc"><title id="hist-title">{escape(title)}</title>'
                  f'<desc id="hist-desc">{escape(desc)}</desc>{"".join(bars)}'
                  f'<line x1="{left}" y1="{height}" x2="{WIDTH}" y2="{height}" class="base"/></svg>')


def stacked(rows: list[tuple[str, list[int]]], series: list[str], title: str) -> Markup:
    """One horizontal bar per row, split into `series` (e.g. awards by county)."""
    left, top = 120, 24
    total = max((sum(values) for _, values in rows), default=0) or 1
    scale = (WIDTH - left - 40) / total
    parts, desc = [], []
    legend = "".join(f'<rect x="{left + i * 110}" y="4" width="12" height="12" class="s{i}"/>'
                     f'<text x="{left + i * 110 + 16}" y="15" class="legend">{escape(name)}</text>'
                     for i, name in enumerate(series))
    for r, (label, values) in enumerate(rows):
        y, x = top + r * BAR, left
        parts.append(f'<text x="{left - 8}" y="{y + 15}" class="label">{escape(label)}</text>')
        for i, n in enumerate(values):
            if n:
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{n * scale:.1f}" height="{BAR - 6}" class="s{i}"/>')
                x += n * scale
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" class="total">{sum(values)}</text>')
        desc.append(f"{label}：" + "，".join(f"{name} {n} 个" for name, n in zip(series, values)))
    height = top + len(rows) * BAR + 8
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
                  f'aria-labelledby="bars-title bars-desc"><title id="bars-title">{escape(title)}</title>'
                  f'<desc id="bars-desc">{escape("；".join(desc))}</desc>{legend}{"".join(parts)}</svg>')
