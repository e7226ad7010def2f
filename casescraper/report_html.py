"""The `report --html` page: one self-contained file, inline CSS and inline SVG.

No scripts, no fonts, no images, no links to anything: it opens offline and can be
mailed around. The chart stacks the saved files of each filing month by office.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from casescraper.report import UNKNOWN, Coverage, details, month_office_counts, summary, table_rows

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
tr.all td { font-weight: bold; border-top: 2px solid #999; }
dt { font-weight: bold; margin-top: .5em; } dd { margin-left: 1.5em; word-break: break-word; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #888; }
"""

SLOT, BAR, LEFT, TOP, PLOT_H, BOTTOM, ROW = 48, 32, 52, 24, 240, 40, 18


def office_color(index: int, office: str) -> str:
    if office == UNKNOWN:
        return "#9e9e9e"
    return f"hsl({(index * 137.508 + 210) % 360:.0f}, 55%, 50%)"


def nice_step(top: int) -> int:
    """A 1/2/5 x 10^k step giving at most 5 ticks up to `top`."""
    raw = max(1.0, top / 5)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * power >= raw:
            return int(mult * power)
    return int(10 * power)


def chart(cov: Coverage) -> str:
    """Stacked bars of files per filing month, one colour per office, with a legend."""
    months, offices, counts = month_office_counts(cov)
    if not months:
        return "<p>No saved files to chart.</p>"
    colors = {office: office_color(i, office) for i, office in enumerate(offices)}
    totals = {m: sum(counts.get((m, o), 0) for o in offices) for m in months}
    step = nice_step(max(totals.values()))
    ymax = step * math.ceil(max(totals.values()) / step)
    scale = PLOT_H / ymax
    plot_w = len(months) * SLOT
    legend_x = LEFT + plot_w + 24
    legend_w = 24 + 7 * max(len(o) for o in offices) + 40
    width = legend_x + legend_w
    height = max(TOP + PLOT_H + BOTTOM, TOP + ROW * len(offices) + 8)
    base = TOP + PLOT_H
    out = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="saved files per filing month and office">']
    out.append('<g class="y-axis">')
    for tick in range(0, ymax + 1, step):
        y = base - tick * scale
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}"/></g>')
    for i, month in enumerate(months):
        x = LEFT + i * SLOT + (SLOT - BAR) / 2
        out.append(f'<g class="month" data-month="{escape(month)}">')
        y = float(base)
        for office in offices:
            k = counts.get((month, office), 0)
            if not k:
                continue
            h = k * scale
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{BAR}" height="{h:.1f}" '
                       f'fill="{colors[office]}" data-office="{escape(office)}" data-count="{k}">'
                       f'<title>{escape(month)}, {escape(office)}: {k}</title></rect>')
        out.append(f'<text x="{x + BAR / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{totals[month]}</text>'
                   f'<text x="{x + BAR / 2:.1f}" y="{base + 16}" text-anchor="middle">{escape(month)}</text>'
                   '</g>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{base}" y2="{base}"/>')
    out.append('<g class="legend">')
    for i, office in enumerate(offices):
        y = TOP + i * ROW
        total = sum(counts.get((m, office), 0) for m in months)
        out.append(f'<rect x="{legend_x}" y="{y}" width="12" height="12" fill="{colors[office]}"/>'
                   f'<text x="{legend_x + 18}" y="{y + 10}">{escape(office)} ({total})</text>')
    out.append("</g></svg>")
    return "\n".join(out)


def _table(cov: Coverage) -> str:
    rows = table_rows(cov)
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = []
    for row in rows[1:]:
        cls = ' class="all"' if row[0] == "all" and len(cov.prefixes) > 1 else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(cov: Coverage) -> str:
    items = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in details(cov))
    title = f"casescraper coverage {cov.year}"
    note = ""
    if cov.unreadable:
        note = f"<p>{len(cov.unreadable)} saved file(s) could not be read and are not charted.</p>"
    parts: list[Any] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>", f"<p>{escape(summary(cov))}</p>",
        _table(cov), f"<dl>{items}</dl>",
        "<h2>Saved files per filing month and office</h2>", chart(cov), note,
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
