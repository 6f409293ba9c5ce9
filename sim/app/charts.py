"""The Explore page's charts, from the model's Mesa DataCollector as the months go by.

They are ECharts options (drawn in the browser by the ECharts that solara-assets ships), so
a Step sends a few numbers rather than a picture: drawing a PNG with matplotlib takes a
few hundred milliseconds a month, more than a Step may. The x axis always spans the whole
scenario, so each Step visibly extends the lines; events are marked as in the report
charts. `png` draws the matplotlib figures of the reports (sweeps) for the page.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

from sim.record.collector import vendor_reporter_name
from sim.report.colors import PANELS, vendor_colors, vendor_names
from sim.scenario.calendar import month_at
from sim.scenario.schema import Scenario

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


def _events(scenario: Scenario) -> list[dict]:
    """ECharts mark lines at the scenario's dated events (within its months), labelled by their notes."""
    last = month_at(scenario.start, scenario.months - 1)
    marks, seen = [], set()
    for event in scenario.events:
        if event.date > last or event.date in seen:
            continue
        seen.add(event.date)
        text = event.note or f"{event.type} {getattr(event, 'vendor', '') or ''}".strip()
        marks.append({"xAxis": event.date, "label": {"formatter": text[:32]}})
    return marks


def _padded(values, months: int) -> list[float | None]:
    """A month-by-month series over the whole scenario: the months not yet simulated are gaps."""
    data = [round(float(v), 3) for v in values]
    return data + [None] * (months - len(data))


def share_option(frame: pd.DataFrame, scenario: Scenario, metric: str, title: str, events: bool) -> dict:
    """One share chart (ECharts option): a line per vendor over the whole span, events marked."""
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
                "data": _padded(values, scenario.months),
            }
        )
    if events and series:
        series[0]["markLine"] = {
            "symbol": "none",
            "silent": True,
            "lineStyle": {"type": "dotted", "color": "#999"},
            "label": {"show": metric == "token_share", "position": "insideEndTop", "fontSize": 9, "color": "#666"},
            "data": _events(scenario),
        }
    return {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 24, "type": "scroll"},
        "grid": {"top": 70, "left": 45, "right": 15, "bottom": 30},
        "xAxis": {"type": "category", "data": _labels(scenario)},
        "yAxis": {"type": "value", "min": 0, "max": 100, "name": "share (%)"},
        "series": series,
    }


def shares_options(frame: pd.DataFrame, scenario: Scenario) -> list[dict]:
    """Token share and revenue share, side by side; the scenario's events marked on both."""
    return [share_option(frame, scenario, metric, title, events=True) for metric, title in PANELS]  # labels: left only


def streams_option(frame: pd.DataFrame, scenario: Scenario) -> dict:
    """The market's AI cloud revenue by stream (bn yuan a month), stacked bars."""
    series = []
    for column, name, color in MARKET_STREAMS:
        values = frame[column] / 1e9 if column in frame else []
        series.append(
            {"name": name, "type": "bar", "stack": "revenue", "color": color, "data": _padded(values, scenario.months)}
        )
    return {
        "animation": False,
        "title": {"text": "Market revenue by stream", "textStyle": {"fontSize": 13}},
        "tooltip": {"trigger": "axis"},
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
