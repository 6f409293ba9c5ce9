"""Short tables for the terminal: the result of a run, and target checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from sim.report.colors import vendor_colors
from sim.report.summary import divergence_months, period_shares
from sim.run import RunResult
from sim.targets import TargetCheck


def plain_price(price: float) -> str:
    """A token price in yuan per 1,000 tokens, to 3 significant digits, never with an exponent
    (after a 99 % cut prices are millionths of a yuan: '0.00000825', not '8.25e-06')."""
    return np.format_float_positional(price, precision=3, unique=False, fractional=False, trim="-")


def result_table(result: RunResult) -> Table:
    """Per vendor: final and whole-period token and revenue shares, price and margin at the end."""
    last = result.trajectories[result.trajectories["date"] == result.trajectories["date"].iloc[-1]].set_index("vendor")
    token_mean, revenue_mean = period_shares(result, "token_share"), period_shares(result, "revenue_share")
    colors = vendor_colors(result.scenario)
    first, final = result.trajectories["date"].iloc[0], result.trajectories["date"].iloc[-1]
    table = Table(title=f"{result.scenario.name} (seed {result.seed}), {first} to {final}: shares, price, gross margin")
    for header in ("vendor", f"tokens {final}", "all months", f"revenue {final}", "all months", "yuan/1k", "margin"):
        table.add_column(header, justify="left" if header == "vendor" else "right")
    for vendor in result.vendor_ids:
        row = last.loc[vendor]
        table.add_row(
            f"[{colors[vendor]}]■[/] {vendor}",
            f"{100 * row['token_share']:.1f} %",
            f"{100 * token_mean[vendor]:.1f} %",
            f"{100 * row['revenue_share']:.1f} %",
            f"{100 * revenue_mean[vendor]:.1f} %",
            plain_price(row["price"]),
            f"{100 * row['gross_margin']:.0f} %",
        )
    return table


def print_result(result: RunResult, console: Console | None = None) -> None:
    console = console or Console()
    console.print(result_table(result))
    months = divergence_months(result)
    console.print(f"Token-share and revenue-share leaders differ in {len(months)} of {len(result.market)} months.")


def targets_table(checks: Sequence[TargetCheck], title: str) -> Table:
    table = Table(title=title)
    for header in ("target", "what", "public figure", "simulated", "ok"):
        table.add_column(header)
    for check in checks:
        verdict = "[green]yes[/]" if check.passed else "[red]NO[/]"
        table.add_row(check.target, check.item, check.public, check.simulated, verdict)
    return table


def whatif_table(result, date: str) -> Table:
    """Per vendor at `date`: both sides' shares and the paired difference with its interval."""
    level = result.interval_label
    table = Table(title=f"What-if vs baseline at {date} ({result.runs_label})")
    for header in ("vendor", "token share", "change pp", level, "revenue share", "change pp", level):
        table.add_column(header, justify="left" if header == "vendor" else "right")
    rows = result.at(date).set_index(["metric", "vendor"])
    colors = vendor_colors(result.baseline)
    for vendor in result.baseline.vendors:
        cells = [f"[{colors[vendor]}]■[/] {vendor}"]
        for metric in ("token_share", "revenue_share"):
            row = rows.loc[(metric, vendor)]
            cells += [
                f"{100 * row.whatif:.1f} %",
                f"{100 * row.difference:+.2f}",
                f"{100 * row.low:+.2f} to {100 * row.high:+.2f}",
            ]
        table.add_row(*cells)
    return table
