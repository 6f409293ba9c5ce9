"""The Explore page's charts, from the model's Mesa DataCollector as the months go by.

They are ECharts options (drawn in the browser by the ECharts that solara-assets ships), so
a Step sends a few numbers rather than a picture: drawing a PNG with matplotlib takes a
few hundred milliseconds a month, more than a Step may. The x axis always spans the whole
scenario, so each Step visibly extends the lines; events are numbered marks, listed in
words on the page. `png` draws the matplotlib figures of the reports (sweeps) for the page.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from sim.record.collector import vendor_reporter_name
from sim.report.colors import PANELS, vendor_colors, vendor_names
from sim.scenario.calendar import month_at
from sim.scenario.schema import EventBase, Scenario

if TYPE_CHECKING:  # matplotlib is loaded only when the Sweeps page draws
    from matplotlib.figure import Figure

MARKET_STREAMS = (
    ("maas_revenue", "MaaS (model-API tokens)", "#3182bd"),
    ("iaas_revenue", "AI IaaS (GPU-hours)", "#e6550d"),
    ("paas_revenue", "AI PaaS (platform fees)", "#74c476"),
)
DPI = 90


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def figure_png(fig: Figure | None) -> bytes | None:
    """A report figure as PNG bytes for the page, then closed: pyplot keeps every open figure."""
    if fig is None:
        return None
    import matplotlib.pyplot as plt  # the report figures are pyplot's; only the Sweeps page needs it

    try:
        return png(fig)
    finally:
        plt.close(fig)


def _labels(scenario: Scenario) -> list[str]:
    return [month_at(scenario.start, i) for i in range(scenario.months)]


@dataclass(frozen=True)
class EventMark:
    """The scenario's events of one month: numbered on the charts, listed in words below them."""

    number: int
    date: str
    notes: tuple[str, ...]


def event_marks(scenario: Scenario) -> list[EventMark]:
    """The dated events within the scenario's months, one mark per month in date order.

    A chart 400 px wide gives a month about 10 px: the notes themselves cannot stand on it
    without overlapping, so the chart shows a number and the page lists the notes.
    """
    last = month_at(scenario.start, scenario.months - 1)
    by_date: dict[str, list[str]] = {}
    for event in scenario.events:
        if scenario.start <= event.date <= last:
            by_date.setdefault(event.date, []).append(event_note(event, scenario))
    return [EventMark(i + 1, date, tuple(by_date[date])) for i, date in enumerate(sorted(by_date))]


def event_note(event: EventBase, scenario: Scenario) -> str:
    """An event in a few words: its vendor's name and its note without the brackets naming sources."""
    vendor = getattr(event, "vendor", None)
    who = scenario.vendors[vendor].name if vendor in scenario.vendors else ("every vendor" if vendor else "")
    note = SOURCES.sub("", event.note or event.type).strip()
    note = note if len(note) <= NOTE_CHARS else note[: NOTE_CHARS - 1].rstrip() + "…"
    return f"{who}: {note}" if who else note


NOTE_CHARS = 140
SOURCES = re.compile(r"\s*\([^()]*\b(?:inputs|assumption)\b[^()]*\)")
EVENT_LEVELS = 3  # labels of neighbouring months sit at different heights, so they never overlap


def _event_lines(scenario: Scenario) -> dict:
    """ECharts mark lines at the events' months, each labelled by its number above the plot."""
    data = [
        {"xAxis": mark.date, "label": {"formatter": str(mark.number), "distance": 2 + 11 * (i % EVENT_LEVELS)}}
        for i, mark in enumerate(event_marks(scenario))
    ]
    return {
        "symbol": "none",
        "silent": True,
        "lineStyle": {"type": "dotted", "color": "#999"},
        "label": {"show": True, "position": "end", "fontSize": 10, "color": "#444"},
        "data": data,
    }


def _padded(values, months: int, decimals: int) -> list[float | None]:
    """A month-by-month series over the whole scenario: the months not yet simulated are gaps.

    Values are rounded to what a reader needs (a share to 0.1 %), which is also what the
    tooltip shows: ECharts' tooltip templates cannot format numbers themselves.
    """
    data = [round(float(v), decimals) for v in values][:months]  # a baseline may run longer
    return data + [None] * (months - len(data))


def _tooltip(names: list[str], colors: list[str], unit: str, overlay: bool = False) -> dict:
    """An axis tooltip listing each series with its unit; with the overlay, the baseline's value beside it.

    `{cN}` is the value of the N-th series at the hovered month: the run's series come
    first, the baseline's after them.
    """
    lines = ["{b0}"]
    for i, (name, color) in enumerate(zip(names, colors, strict=True)):
        line = f'<span style="color:{color}">&#9679;</span> {html.escape(name)}: {{c{i}}} {unit}'
        if overlay:
            line += f" (baseline {{c{i + len(names)}}} {unit})"
        lines.append(line)
    return {"trigger": "axis", "formatter": "<br/>".join(lines)}


def _vendor_series(frame: pd.DataFrame, scenario: Scenario, metric: str) -> list[dict]:
    """A line per vendor (share in %) over the whole span."""
    colors, names = vendor_colors(scenario), vendor_names(scenario)
    series = []
    for vendor in scenario.vendors:
        column = vendor_reporter_name(metric, vendor)
        values = 100 * frame[column] if column in frame else []
        series.append(
            {
                "name": names[vendor],
                "type": "line",
                "showSymbol": len(frame) < 3,
                "color": colors[vendor],
                "data": _padded(values, scenario.months, 1),
            }
        )
    return series


def _baseline_series(baseline: pd.DataFrame, scenario: Scenario, metric: str) -> list[dict]:
    """The same lines for the scenario before the levers: faint and dashed, behind the run's."""
    faint = []
    for line in _vendor_series(baseline, scenario, metric):
        faint.append(
            {
                **line,
                "name": f"{line['name']} (baseline)",
                "showSymbol": False,
                "silent": True,
                "z": 1,
                "lineStyle": {"type": "dashed", "opacity": 0.4, "width": 1.5},
            }
        )
    return faint


def share_option(
    frame: pd.DataFrame,
    scenario: Scenario,
    metric: str,
    title: str,
    events: bool,
    baseline: pd.DataFrame | None = None,
) -> dict:
    """One share chart (ECharts option): a line per vendor over the whole span, events numbered.

    The vendors' legend is the page's (one for both charts, wrapping to any width), so no
    vendor hides behind a paging legend. `baseline`: the scenario's run without the
    levers, drawn faint behind.
    """
    series = _vendor_series(frame, scenario, metric)
    names, colors = [line["name"] for line in series], [line["color"] for line in series]
    if events and series:
        series[0]["markLine"] = _event_lines(scenario)
    if baseline is not None:
        series += _baseline_series(baseline, scenario, metric)
    return {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": _tooltip(names, colors, "%", overlay=baseline is not None),
        "legend": {"show": False},
        "grid": {"top": 34 + 11 * EVENT_LEVELS + 8, "left": 50, "right": 15, "bottom": 30},
        "xAxis": {"type": "category", "data": _labels(scenario)},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value} %"}},
        "series": series,
    }


def shares_options(frame: pd.DataFrame, scenario: Scenario, baseline: pd.DataFrame | None = None) -> list[dict]:
    """Token share and revenue share, side by side; the scenario's events marked on both."""
    return [share_option(frame, scenario, metric, title, True, baseline) for metric, title in PANELS]


def streams_option(frame: pd.DataFrame, scenario: Scenario) -> dict:
    """The market's AI cloud revenue by stream (bn yuan a month), stacked bars."""
    series = []
    for column, name, color in MARKET_STREAMS:
        values = frame[column] / 1e9 if column in frame else []
        series.append(
            {
                "name": name,
                "type": "bar",
                "stack": "revenue",
                "color": color,
                "data": _padded(values, scenario.months, 2),
            }
        )
    names, colors = [name for _, name, _ in MARKET_STREAMS], [color for _, _, color in MARKET_STREAMS]
    return {
        "animation": False,
        "title": {"text": "Market revenue by stream", "textStyle": {"fontSize": 13}},
        "tooltip": _tooltip(names, colors, "bn yuan"),
        "legend": {"top": 24},
        "grid": {"top": 60, "left": 50, "right": 15, "bottom": 30},
        "xAxis": {"type": "category", "data": _labels(scenario)},
        "yAxis": {"type": "value", "name": "bn yuan / month"},
        "series": series,
    }


def leaders(frame: pd.DataFrame, scenario: Scenario) -> list[tuple[str, str, float]]:
    """(metric title, vendor name, share) of the leader in token share and in revenue share this month."""
    if frame.empty:
        return []
    last = frame.iloc[-1]
    names = vendor_names(scenario)
    rows = []
    for metric, title in PANELS:
        shares = {vendor: float(last[vendor_reporter_name(metric, vendor)]) for vendor in scenario.vendors}
        vendor = max(shares, key=shares.__getitem__)
        rows.append((title, names[vendor], shares[vendor]))
    return rows
