"""Charts: token share beside revenue share, and revenue by stream, over dated axes; vendor
colours kept everywhere."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator

from sim.report.chart_data import STREAM_COLUMNS, ChartData
from sim.report.colors import PANELS, vendor_colors, vendor_names
from sim.report.files import write_atomically

if TYPE_CHECKING:
    from sim.report.chart_data import Recorded
    from sim.scenario.schema import Scenario


LEGEND_ROWS = 16


def literal(text: str) -> str:
    """Text matplotlib shows as written: a `$` in a name would otherwise start a formula."""
    return text.replace("$", r"\$")


def _as_dates(labels) -> list[dt.date]:
    return [dt.date(int(d[:4]), int(d[5:7]), 1) for d in labels]


def month_ticks(ax: Axes, dates: list[dt.date], months: tuple[int, ...], label: str) -> None:
    """Ticks at the first of the given months, placed once: a date locator would recompute
    them at every layout pass, which cost more than drawing the chart."""
    ticks = [day for day in dates if day.month in months]
    ax.xaxis.set_major_locator(FixedLocator([ax.xaxis.convert_units(day) for day in ticks]))
    ax.xaxis.set_major_formatter(FixedFormatter([day.strftime(label) for day in ticks]))


def mark_events(ax: Axes, scenario: Scenario, label: bool) -> None:
    """A dotted line at each dated event; the first event of each month is labelled once."""
    seen: set[str] = set()
    for event in scenario.events:
        when = dt.date(int(event.date[:4]), int(event.date[5:7]), 1)
        ax.axvline(when, color="0.6", linestyle=":", linewidth=0.9, zorder=0)
        if label and event.date not in seen:
            seen.add(event.date)
            text = event.note or f"{event.type} {getattr(event, 'vendor', '') or ''}".strip()
            ax.annotate(
                literal(text[:40]),
                xy=(when, 1.0),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=6.5,
                color="0.35",
                va="top",
                ha="right",
                xytext=(-2, -2),
                textcoords="offset points",
            )


def share_panel(ax: Axes, result: Recorded | ChartData, metric: str, title: str, events: bool = True) -> None:
    """One share column per vendor over time, in percent, with the scenario's events marked."""
    data = ChartData.of(result)
    values = data.column(metric)
    dates = _as_dates(data.months)
    colors, names = vendor_colors(data.scenario), vendor_names(data.scenario)
    for index, vendor in enumerate(data.vendor_ids):
        ax.plot(dates, 100 * values[:, index], color=colors[vendor], label=literal(names[vendor]), linewidth=1.8)
    if events:
        mark_events(ax, data.scenario, label=metric == "token_share")
    ax.set_title(title, fontsize=11)
    ax.set_ylabel("share (%)")
    ax.set_ylim(0, min(100.0, 100 * float(values.max()) * 1.2 + 2))
    ax.grid(alpha=0.25)
    month_ticks(ax, dates, (1, 7), "%b %Y")
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")


def shares_figure(result: Recorded | ChartData) -> Figure:
    """Token share and revenue share side by side: the project's signature chart."""
    result = ChartData.of(result)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharex=True, constrained_layout=True)
    for ax, (metric, title) in zip(axes, PANELS, strict=True):
        share_panel(ax, result, metric, title)
    columns = -(-len(result.vendor_ids) // LEGEND_ROWS)  # many vendors: more legend columns, not a taller legend
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, ncol=columns)
    fig.suptitle(f"{result.scenario.name}: token share vs revenue share (seed {result.seed})", fontsize=12)
    return fig


STREAM_LABELS = (
    "MaaS: developers' tokens",
    "MaaS: enterprises' tokens",
    "IaaS: model labs",
    "IaaS: private deployments",
    "IaaS: fine-tuning",
    "IaaS: self-hosting developers",
    "PaaS: platform fees",
)
STREAMS = tuple(zip(STREAM_COLUMNS, STREAM_LABELS, strict=True))
STREAM_COLORS = ("#9ecae1", "#3182bd", "#fd8d3c", "#e6550d", "#a63603", "#fdd0a2", "#74c476")


def streams_figure(result: Recorded | ChartData) -> Figure:
    """Each vendor's AI cloud revenue by stream (price x quantity), stacked, on one scale."""
    result = ChartData.of(result)
    vendors = result.vendor_ids
    columns = min(3, len(vendors))
    rows = -(-len(vendors) // columns)
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(4.3 * columns, 3.2 * rows),
        sharex=True,
        sharey=True,
        constrained_layout=True,
        squeeze=False,
    )
    names = vendor_names(result.scenario)
    dates = _as_dates(result.months)
    _autoscale(axes, False)  # each layer would rescale all the shared axes: scaled once, after the last
    for ax, vendor in zip(axes.flat, vendors, strict=False):
        layers = [result.of_vendor(column, vendor) / 1e9 for column, _ in STREAMS]
        ax.stackplot(dates, layers, colors=STREAM_COLORS, linewidth=0)
        ax.set_title(literal(names[vendor]), fontsize=10)
        ax.grid(alpha=0.25)
        month_ticks(ax, dates, (1,), "%Y")
    _autoscale(axes, True)
    for ax in axes[:, 0]:
        ax.set_ylabel("bn yuan / month")
    for ax in list(axes.flat)[len(vendors) :]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STREAM_COLORS]
    fig.legend(handles, [label for _, label in STREAMS], loc="outside lower center", ncol=4, frameon=False, fontsize=8)
    fig.suptitle(f"{result.scenario.name}: revenue by stream (seed {result.seed})", fontsize=12)
    return fig


def _autoscale(axes, on: bool) -> None:
    """Switch the axes' autoscaling off or on; switched on, the shared limits are rescaled once to
    every layer drawn meanwhile."""
    for ax in axes.flat:
        ax.set_autoscale_on(on)
    if on:
        axes.flat[0].autoscale_view()


def save_figure(fig: Figure, path: Path, dpi: int = 120) -> None:
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    plt.close(fig)


RUN_CHARTS = {"chart": shares_figure, "streams": streams_figure}


def save_chart(kind: str, result: Recorded | ChartData, path: Path) -> None:
    """Draw one of a run's charts (a key of RUN_CHARTS) into `path`."""
    save_figure(RUN_CHARTS[kind](result), path)


def warm_up() -> None:
    """Load the fonts and renderer a chart uses, by drawing a small labelled figure to memory
    (a painter process does this while the model runs)."""
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title("warm-up", fontsize=11)
    ax.annotate("warm-up", xy=(0.5, 0.5), rotation=90, fontsize=6.5)
    fig.savefig(io.BytesIO(), dpi=120, format="png")
    plt.close(fig)
