"""The Explore page's charts, drawn from the model's Mesa DataCollector as the months go by.

The x axis always spans the whole scenario, so each Step visibly extends the lines; events
are marked as in the report charts (sim/report/charts.py). Figures are drawn without
pyplot (no global state: the web server draws from several threads) and returned as PNG.
"""

from __future__ import annotations

import datetime as dt
import io

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.record.collector import vendor_reporter_name
from sim.report.charts import PANELS, mark_events
from sim.report.colors import vendor_colors, vendor_names
from sim.scenario.calendar import month_at, month_dates
from sim.scenario.schema import Scenario

MARKET_STREAMS = (
    ("maas_revenue", "MaaS (model-API tokens)", "#3182bd"),
    ("iaas_revenue", "AI IaaS (GPU-hours)", "#e6550d"),
    ("paas_revenue", "AI PaaS (platform fees)", "#74c476"),
)
DPI = 80


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _dates(frame: pd.DataFrame) -> list[dt.date]:
    return [dt.date(int(d[:4]), int(d[5:7]), 1) for d in frame["date"]]


def _time_axis(ax: Axes, scenario: Scenario) -> None:
    span = month_dates(scenario.start, scenario.months)
    ax.set_xlim(span[0], span[-1])
    ax.grid(alpha=0.25)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")


def _within(scenario: Scenario) -> Scenario:
    """The scenario with only the events inside its months (the rest would be drawn off the axes)."""
    last = month_at(scenario.start, scenario.months - 1)
    return scenario.model_copy(update={"events": [e for e in scenario.events if e.date <= last]})


def shares_figure(frame: pd.DataFrame, scenario: Scenario) -> Figure:
    """Token share beside revenue share, month by month so far, with the scenario's events marked."""
    fig = Figure(figsize=(10.5, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    colors, names = vendor_colors(scenario), vendor_names(scenario)
    dates = _dates(frame)
    for ax, (metric, title) in zip(axes, PANELS, strict=True):
        for vendor in scenario.vendors:
            column = vendor_reporter_name(metric, vendor)
            values = 100 * frame[column] if column in frame else []
            ax.plot(
                dates,
                values,
                color=colors[vendor],
                label=names[vendor],
                linewidth=1.8,
                marker="." if len(dates) < 3 else None,
            )
        mark_events(ax, _within(scenario), label=metric == "token_share")
        ax.set_title(title, fontsize=11)
        ax.set_ylabel("share (%)")
        ax.set_ylim(0, 100)
        _time_axis(ax, scenario)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def streams_figure(frame: pd.DataFrame, scenario: Scenario) -> Figure:
    """The market's AI cloud revenue by stream (bn yuan a month), stacked."""
    fig = Figure(figsize=(7, 3.0), layout="constrained")
    ax = fig.subplots()
    dates = _dates(frame)
    bottom = pd.Series(0.0, index=frame.index)
    for column, name, color in MARKET_STREAMS:
        values = frame[column] / 1e9 if column in frame else 0.0 * bottom
        ax.bar(dates, values, bottom=bottom, width=25, color=color, label=name, linewidth=0)
        bottom = bottom + values
    if dates:
        ax.legend(loc="upper left", frameon=False, fontsize=8)
    ax.set_title("Market revenue by stream", fontsize=11)
    ax.set_ylabel("bn yuan / month")
    _time_axis(ax, scenario)
    return fig


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
