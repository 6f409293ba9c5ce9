"""Charts: token share beside revenue share over dated axes, vendor colours kept everywhere."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.report.colors import vendor_colors, vendor_names
from sim.report.files import write_atomically
from sim.run import RunResult

PANELS = (
    ("token_share", "Token share (external model-API tokens)"),
    ("revenue_share", "Revenue share (AI cloud revenue)"),
)


def _as_dates(labels) -> list[dt.date]:
    return [dt.date(int(d[:4]), int(d[5:7]), 1) for d in labels]


def mark_events(ax: Axes, result: RunResult, label: bool) -> None:
    """A dotted line at each dated event; the first event of each month is labelled once."""
    seen: set[str] = set()
    for event in result.scenario.events:
        when = dt.date(int(event.date[:4]), int(event.date[5:7]), 1)
        ax.axvline(when, color="0.6", linestyle=":", linewidth=0.9, zorder=0)
        if label and event.date not in seen:
            seen.add(event.date)
            text = event.note or f"{event.type} {getattr(event, 'vendor', '') or ''}".strip()
            ax.annotate(
                text[:40],
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


def share_panel(ax: Axes, result: RunResult, metric: str, title: str, events: bool = True) -> None:
    table = result.wide(metric)
    dates = _as_dates(table.index)
    colors, names = vendor_colors(result.scenario), vendor_names(result.scenario)
    for vendor in table.columns:
        ax.plot(dates, 100 * table[vendor], color=colors[vendor], label=names[vendor], linewidth=1.8)
    if events:
        mark_events(ax, result, label=metric == "token_share")
    ax.set_title(title, fontsize=11)
    ax.set_ylabel("share (%)")
    ax.set_ylim(0, min(100.0, 100 * float(table.max().max()) * 1.2 + 2))
    ax.grid(alpha=0.25)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")


def shares_figure(result: RunResult) -> Figure:
    """Token share and revenue share side by side: the project's signature chart."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharex=True, constrained_layout=True)
    for ax, (metric, title) in zip(axes, PANELS, strict=True):
        share_panel(ax, result, metric, title)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(f"{result.scenario.name}: token share vs revenue share (seed {result.seed})", fontsize=12)
    return fig


def save_figure(fig: Figure, path: Path, dpi: int = 120) -> None:
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    plt.close(fig)
