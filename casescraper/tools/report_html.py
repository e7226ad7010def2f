"""The `report --html` page: one self-contained file, inline CSS and inline SVG.

No scripts, no fonts, no images, no links to anything: it opens offline and can be
mailed around. Per year: the table, the details and a chart that stacks the saved files
of each filing month by office. With several years, a table across them comes first;
then the recent changes. It takes a `report_model.Report` and imports no reader.
"""

from __future__ import annotations

import math
from collections import Counter
from html import escape
from typing import Any, Optional

from casescraper.tools import report_changes
from casescraper.tools.report_model import (UNKNOWN, Coverage, Report, details, month_office_counts,
                                      summary, table_rows, years_label, years_rows)

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
tr.all td { font-weight: bold; border-top: 2px solid #999; }
table.changes th, table.changes td { text-align: left; vertical-align: top; }
h3 { font-size: 1em; }
h2.year { border-top: 1px solid #bbb; padding-top: .8em; margin-top: 2em; }
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


def office_colors(covs: list[Coverage]) -> dict[str, str]:
    """One colour per office over all the years charted: an office keeps its colour from
    year to year. The busiest offices get the first (most distinct) colours."""
    files: Counter = Counter(office for cov in covs for _case, _month, office in cov.files)
    ranked = sorted(files, key=lambda o: (o == UNKNOWN, -files[o], o))
    return {office: office_color(i, office) for i, office in enumerate(ranked)}


def chart(cov: Coverage, colors: Optional[dict[str, str]] = None) -> str:
    """Stacked bars of files per filing month, one colour per office, with a legend."""
    months, offices, counts = month_office_counts(cov)
    if not months:
        return "<p>No saved files to chart.</p>"
    colors = colors or office_colors([cov])
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


def _table(rows: list[list[str]], cls: str = "") -> str:
    """A table of text rows, header first; a last row named `all` is the total."""
    head = "".join(f"<th>{escape(c)}</th>" for c in rows[0])
    body = []
    for row in rows[1:]:
        total = ' class="all"' if row[0] == "all" else ""
        body.append(f"<tr{total}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _year(cov: Coverage, level: str, colors: dict[str, str]) -> list[str]:
    """A year's table, details and chart; `level` is the chart heading's tag."""
    items = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in details(cov))
    note = ""
    if cov.unreadable:
        note = f"<p>{len(cov.unreadable)} saved file(s) could not be read and are not charted.</p>"
    return [f"<p>{escape(summary(cov))}</p>", _table(table_rows(cov)), f"<dl>{items}</dl>",
            f"<{level}>Saved files per filing month and office</{level}>", chart(cov, colors), note]


def _changes(report: Report) -> list[str]:
    lines, limit = report.changes, report.changes_limit
    if not limit:
        return []
    out = ["<h2>Recent changes</h2>"]
    if not lines:
        return out + ["<p>No changed case files recorded.</p>"]
    heading = report_changes.heading(len(lines), limit)
    return out + [f"<p>{escape(heading[0].upper() + heading[1:])}.</p>",
                  _table(report_changes.rows(lines, limit), "changes")]


def render_html(report: Report) -> str:
    years = years_label(report.years + report.missing)
    title = f"casescraper coverage {years}"
    parts: list[Any] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    colors = office_colors(report.covs)
    if not report.several:
        parts += _year(report.covs[0], "h2", colors) + _changes(report)
    else:
        parts.append(f"<p>{escape(report.summary())}</p>")
        if report.missing:
            parts.append(f"<p>No ledger (skipped): {escape(years_label(report.missing))}.</p>")
        parts += ["<h2>Coverage by year</h2>", _table(years_rows(report.covs), "years"),
                  "<p>Coverage: the share of 1..last whose answer is known (a saved file or no "
                  "results).</p>"]
        parts += _changes(report)
        for cov in report.covs:
            parts += [f'<h2 class="year">{cov.year}</h2>', *_year(cov, "h3", colors)]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"
