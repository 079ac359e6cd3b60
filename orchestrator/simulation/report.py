"""The simulation's summary as a self-contained HTML page (an SVG chart and tables)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from html import escape

from orchestrator.simulation.run import Summary, collected_text

_COLOURS = {"sms": "#2f6fdf", "email": "#1e9e6a", "push": "#d98a1c", "call": "#b4386b"}


def html_report(summary: Summary, *, title: str) -> str:
    days: dict[date, dict[str, int]] = defaultdict(dict)
    for (day, channel), count in summary.per_day_channel.items():
        days[day][channel] = count
    ordered = sorted(days)
    width, height, pad = 960, 320, 40
    top: float = max((sum(v.values()) for v in days.values()), default=1) or 1
    bar = (width - 2 * pad) / max(len(ordered), 1)
    rects = []
    for i, day in enumerate(ordered):
        y: float = height - pad
        for channel in ("sms", "email", "push", "call"):
            count = days[day].get(channel, 0)
            if not count:
                continue
            h = (height - 2 * pad) * count / top
            y -= h
            rects.append(
                f'<rect x="{pad + i * bar:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{_COLOURS[channel]}"><title>{day} {channel}: {count}'
                "</title></rect>"
            )
    legend = " ".join(
        f'<span style="color:{c}">&#9632; {escape(name)}</span>' for name, c in _COLOURS.items()
    )
    blocks = "".join(
        f"<tr><td>{escape(rule)}</td><td>{count:,}</td></tr>"
        for rule, count in summary.blocks_by_rule.most_common()
    )
    outcomes = "".join(
        f"<tr><td>{escape(name)}</td><td>{count:,}</td></tr>"
        for name, count in summary.outcomes.most_common()
    )
    first, last = (ordered[0], ordered[-1]) if ordered else ("", "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:4px 10px}}
td:last-child{{text-align:right}}</style></head><body>
<h1>{escape(title)}</h1>
<p>{summary.accounts:,} accounts; {summary.sent:,} contacts sent; {summary.blocked:,} blocked;
{summary.payments:,} payments ({escape(collected_text(summary))} collected).</p>
<h2>Contacts per day, by channel</h2><p>{legend}</p>
<svg width="{width}" height="{height}" role="img" aria-label="contacts per day">
<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>
<text x="{pad}" y="{pad - 10}" font-size="12">max {top} per day</text>
{"".join(rects)}
<text x="{pad}" y="{height - 10}" font-size="12">{first}</text>
<text x="{width - pad}" y="{height - 10}" font-size="12" text-anchor="end">{last}</text>
</svg>
<h2>Blocked, by rule</h2><table><tr><th>rule</th><th>contacts</th></tr>{blocks}</table>
<h2>Outcomes</h2><table><tr><th>outcome</th><th>count</th></tr>{outcomes}</table>
</body></html>
"""
