"""What-if outputs: whatif.md (headlines, table, changes, provenance), whatif.csv, whatif.png and
whatif.json (what was compared, for reruns and overwrite checks); an ensemble what-if adds
sets.parquet, each plausible set's outcomes on both sides beside its parameters."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from sim.provenance import scenario_hash
from sim.report.change_words import plain_question
from sim.report.charts import literal
from sim.report.colors import vendor_colors
from sim.report.files import write_atomically
from sim.report.folders import Identity
from sim.scenario.schema import Scenario
from sim.whatif.analysis import METRICS, SHARE_METRICS, WhatIfResult
from sim.whatif.ensemble import EnsembleWhatIfResult, parameter_names, set_results

TITLES = {"token_share": "Token share", "revenue_share": "Revenue share"}


def _dates(result: WhatIfResult) -> list[dt.date]:
    return [dt.date(int(d[:4]), int(d[5:7]), 1) for d in result.dates]


def whatif_figure(result: WhatIfResult) -> Figure:
    """Top: both sides' share trajectories (line: mean, band: 10-90 % of replicates).
    Bottom: the paired difference in percentage points with its confidence band."""
    fig, axes = plt.subplots(2, 2, figsize=(13, 8), sharex=True, constrained_layout=True)
    dates, colors = _dates(result), vendor_colors(result.baseline)
    vendors = list(result.baseline.vendors)
    names = {vendor: result.baseline.vendors[vendor].name for vendor in vendors}  # as the run charts
    for column, metric in enumerate(SHARE_METRICS):
        k = METRICS.index(metric)
        top, bottom = axes[0, column], axes[1, column]
        for v, vendor in enumerate(vendors):
            for side, style in (("baseline", "-"), ("whatif", "--")):
                runs = 100 * result.samples[side][:, k, :, v]
                top.plot(
                    dates,
                    runs.mean(axis=0),
                    style,
                    color=colors[vendor],
                    linewidth=1.6,
                    label=literal(f"{names[vendor]} ({'what-if' if side == 'whatif' else 'baseline'})"),
                )
                top.fill_between(dates, *np.percentile(runs, [10, 90], axis=0), color=colors[vendor], alpha=0.15)
            rows = result.table[(result.table.metric == metric) & (result.table.vendor == vendor)]
            name = literal(names[vendor])
            bottom.plot(dates, 100 * rows["difference"], color=colors[vendor], linewidth=1.6, label=name)
            bottom.fill_between(dates, 100 * rows["low"], 100 * rows["high"], color=colors[vendor], alpha=0.25)
        top.set_title(f"{TITLES[metric]}: baseline (solid) vs what-if (dashed)")
        top.set_ylabel("share (%)")
        bottom.axhline(0, color="0.3", linewidth=0.8)
        bottom.set_title(f"{TITLES[metric]}: what-if minus baseline\n{result.chart_interval_label}", fontsize=10)
        bottom.set_ylabel("difference (percentage points)")
        for ax in (top, bottom):
            ax.grid(alpha=0.25)
            ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[1, 1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    responded = f"\n{result.response.summary()}" if getattr(result, "response", None) else ""
    fig.suptitle(
        literal(f"What if: {_question(result)} ({result.runs_label}){responded}"),
        fontsize=11,
    )
    return fig


METRIC_LABELS = {
    "token_share": "token share",
    "revenue_share": "revenue share",
    "api_tokens_per_day": "API tokens per day",
    "revenue": "revenue, yuan a month",
    "gross_margin": "gross margin",
}
SCALES = ((1e12, " trillion"), (1e9, " bn"), (1e6, " m"), (1e3, " k"))


def _amount(value: float, signed: bool = False) -> str:
    """A count or a sum of money in words a reader scans: 3 significant digits and a scale."""
    sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ("−" if value < 0 else "")
    size = abs(value)
    for factor, word in SCALES:
        if size >= factor:
            return f"{sign}{size / factor:.3g}{word}"
    return f"{sign}{size:.3g}"


def _level(value: float, metric: str) -> str:
    """One side's value: shares and margins in per cent, counts and money scaled."""
    if metric in SHARE_METRICS or metric == "gross_margin":
        return f"{100 * value:.1f} %".replace("-", "−")
    return _amount(value)


def _fmt(value: float, metric: str) -> str:
    """A difference: percentage points for shares and margins, scaled amounts otherwise."""
    if metric in SHARE_METRICS or metric == "gross_margin":
        return f"{100 * value:+.1f} pp".replace("-", "−")
    return _amount(value, signed=True)


def _question(result: WhatIfResult) -> str:
    """The changes in words for titles; the flags that reproduce them are listed under "Changes applied"."""
    return plain_question(result.changes, result.baseline)


def markdown(result: WhatIfResult, dates: list[str]) -> str:
    level = result.interval_label
    names = {vendor_id: vendor.name for vendor_id, vendor in result.baseline.vendors.items()}
    lines = [f"# What if: {_question(result)} (scenario {result.baseline.name})", ""]
    lines += [f"- {s}" for s in result.headlines(dates[-1] if dates else None)] + [""]  # as the terminal says
    lines += ["## Changes applied", ""] + [f"- `{c}`" for c in result.changes or ["(none)"]] + [""]
    lines += result.response.markdown() if getattr(result, "response", None) else []
    for date in dates:
        lines += [
            f"## {date}",
            "",
            f"| vendor | measure | baseline | what-if | difference | {level} |",
            "|---|---|---:|---:|---:|---|",
        ]
        for row in result.at(date).itertuples():
            lines.append(
                f"| {names.get(row.vendor, row.vendor)} | {METRIC_LABELS.get(row.metric, row.metric)} "
                f"| {_level(row.baseline, row.metric)} | {_level(row.whatif, row.metric)} "
                f"| {_fmt(row.difference, row.metric)} | {_fmt(row.low, row.metric)} to {_fmt(row.high, row.metric)} |"
            )
        lines.append("")
    lines += [
        "## Provenance",
        "",
        f"- replicates: {len(result.seeds)} paired runs with common random numbers, seeds {result.seeds[0]}"
        f"–{result.seeds[-1]}",
        f"- baseline scenario hash: {scenario_hash(result.baseline)}",
        f"- what-if scenario hash: {scenario_hash(result.variant)}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()),
        "",
        result.interval_note,
        "",
    ]
    return "\n".join(lines)


MARKER = "whatif.json"
SETS = "sets.parquet"  # an ensemble what-if's per-set results, read by `sim discover`


def whatif_identity(
    baseline: Scenario, variant: Scenario, question: str | None = None, respond: str | None = None
) -> Identity:
    """A what-if's outputs are of its two sides: compared by the hash of both resolved scenarios
    (and of who re-optimised, with --respond). `question` (the changes, in words) names it in messages."""
    sides = f"{scenario_hash(baseline)}:{scenario_hash(variant)}" + (f":respond={respond}" if respond else "")
    both = hashlib.sha256(sides.encode()).hexdigest()
    name = f"a what-if on {baseline.name}" + (f" ({question})" if question else "")
    return Identity(MARKER, "identity", both, name)


def provenance(result: WhatIfResult) -> dict:
    """whatif.json: what was compared (both sides' hashes), how (seeds, confidence), with what versions."""
    response = getattr(result, "response", None)
    mode = response.mode if response else None
    identity = whatif_identity(result.baseline, result.variant, _named(result.changes, mode), mode)
    return {
        "name": result.baseline.name,
        "scenario": identity.name,  # what a refusal to replace these results calls them
        "identity": identity.value,
        "baseline_hash": scenario_hash(result.baseline),
        "whatif_hash": scenario_hash(result.variant),
        "changes": result.changes,
        "seeds": result.seeds,
        "confidence": result.confidence,
        "versions": result.versions,
    } | ({"respond": response.as_dict()} if response else {})


def _named(changes: list[str], respond: str | None) -> str:
    return "; ".join([*changes, *([f"--respond {respond}"] if respond else [])])


FILES = {"report": "whatif.md", "table": "whatif.csv", "chart": "whatif.png", "provenance": MARKER, "sets": SETS}
CHART_DPI = 120  # as save_figure draws a run's charts


def whatif_files(result: WhatIfResult, dates: list[str] | None = None) -> dict[str, bytes]:
    """Every output of a what-if, by kind (keys of FILES), as bytes in memory.

    `save_whatif` writes these; the web app serves them as downloads without writing a file.
    """
    dates = dates or [result.dates[-1]]
    figure = whatif_figure(result)
    chart = io.BytesIO()
    try:
        figure.savefig(chart, dpi=CHART_DPI, format="png")
    finally:
        plt.close(figure)
    files = {
        "report": markdown(result, dates).encode("utf-8"),
        "table": result.table.to_csv(index=False, float_format="%.10g").encode("utf-8"),
        "chart": chart.getvalue(),
    }
    record = provenance(result)
    if isinstance(result, EnsembleWhatIfResult):
        sets = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(set_results(result), preserve_index=False), sets)
        files["sets"] = sets.getvalue()
        record["parameters"] = parameter_names(result.sets)
        record["sets"] = len(result.sets)
        record["ensemble"] = result.source
    files["provenance"] = (json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8")
    return files


def save_whatif(result: WhatIfResult, folder: Path, dates: list[str] | None = None) -> dict[str, Path]:
    """Write whatif.md, whatif.csv, whatif.png and whatif.json (and an ensemble's sets.parquet) into `folder`."""
    written = {}
    folder.mkdir(parents=True, exist_ok=True)
    for kind, data in whatif_files(result, dates).items():
        written[kind] = folder / FILES[kind]
        write_atomically(written[kind], lambda tmp, data=data: tmp.write_bytes(data))
    return written
