"""Sweep analysis outputs: report.md, indices.csv, outcomes.csv, leaders.csv and three charts.

indices.png    each headline outcome's indices per parameter, with confidence bars
response.png   how each headline outcome responds to each parameter (point means)
fan.png        the spread of token and revenue share trajectories across the sweep
               (median, 50 % and 90 % bands per vendor), if trajectories were kept
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from rich.table import Table
from rich.text import Text

from sim.provenance import versions
from sim.report.charts import save_figure
from sim.report.colors import KNOWN, SPARE, vendor_colors
from sim.report.files import write_json, write_text
from sim.report.folders import Identity
from sim.scenario.loading import ScenarioError, scenario_from_dict
from sim.sweep.sensitivity import SweepAnalysis
from sim.sweep.store import read_manifest

INDEX_LABELS = {
    "sobol": "Sobol' indices: first order (S1) and total (ST)",
    "morris": "Morris: mean absolute elementary effect (mu*) per unit of range",
    "lhs": "RBD-FAST first-order index (S1)",
    "random": "RBD-FAST first-order index (S1)",
    "grid": "correlation ratio eta² (first-order index on the grid)",
}
SHOWN_INDICES = {"sobol": ("S1", "ST"), "morris": ("mu_star",), "lhs": ("S1",), "random": ("S1",), "grid": ("eta2",)}
FAN_METRICS = (("token_share", "Token share"), ("revenue_share", "Revenue share"))
FEW_LEVELS = 12  # a parameter with at most this many values is drawn level by level, else as a cloud


ANALYSIS = "analysis.json"


def analysis_folder(sweep: Path, out: Path | None = None) -> Path:
    return out or sweep / "analysis"


def analysis_identity(sweep: Path) -> Identity:
    """An analysis is of a sweep: compared by the hash of the sweep's manifest, without its
    status and versions (a resumed or re-run sweep of the same design is the same sweep)."""
    manifest = {k: v for k, v in read_manifest(sweep).items() if k not in ("status", "versions")}
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()
    name = str(manifest.get("sweep", {}).get("name", sweep.name))
    return Identity(ANALYSIS, "sweep_hash", digest, name, earlier=("report.md", "indices.csv"))


def save_sweep_report(analysis: SweepAnalysis, folder: Path | None = None) -> dict[str, Path]:
    """Write the analysis into `folder` (default: <sweep>/analysis/); return what was written.

    The command line writes into a claimed folder's staging copy (sim.report.folders), so
    the set appears whole or not at all, and a chart a new analysis does not draw is not
    left over from an earlier one.
    """
    folder = analysis_folder(analysis.output.folder, folder)
    folder.mkdir(parents=True, exist_ok=True)
    sweep = analysis.output.folder
    written = {
        "analysis": folder / ANALYSIS,
        "report": folder / "report.md",
        "indices": folder / "indices.csv",
        "outcomes": folder / "outcomes.csv",
        "leaders": folder / "leaders.csv",
    }
    write_text(written["indices"], analysis.indices.to_csv(index=False, float_format="%.6g"))
    write_text(written["outcomes"], analysis.summary.to_csv(index=False, float_format="%.6g"))
    write_text(written["leaders"], analysis.leaders.to_csv(index=False, float_format="%.6g"))
    notes = list(analysis.notes)
    if analysis.headline and not analysis.indices.empty:
        written["indices_chart"] = folder / "indices.png"
        save_figure(indices_figure(analysis), written["indices_chart"])
    if analysis.headline:
        written["response_chart"] = folder / "response.png"
        save_figure(response_figure(analysis), written["response_chart"])
    fan = fan_figure(analysis)
    if fan is None:
        notes.append("fan chart skipped: the sweep kept no share trajectories (set `outcomes: {trajectories: true}`)")
    else:
        written["fan_chart"] = folder / "fan.png"
        save_figure(fan, written["fan_chart"])
    write_text(written["report"], markdown(analysis, written, notes))
    identity = analysis_identity(sweep)
    record = {
        "sweep": identity.name,
        identity.key: identity.value,
        "sweep_folder": str(sweep),
        "confidence": analysis.confidence,
        "headline": analysis.headline,
        "versions": versions(),
    }
    write_json(written["analysis"], record)
    return written


# --- charts -----------------------------------------------------------------------------------


def _grid(count: int, columns: int, width: float, height: float) -> tuple[Figure, np.ndarray]:
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(max(7.0, width * columns), height * rows + 0.6), squeeze=False, constrained_layout=True
    )
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes


def indices_figure(analysis: SweepAnalysis) -> Figure:
    """One panel per headline outcome: a bar per parameter and index, with its confidence half-width."""
    shown = SHOWN_INDICES.get(analysis.method, ("S1",))
    outcomes = [o for o in analysis.headline if o in set(analysis.indices["outcome"])]
    fig, axes = _grid(len(outcomes), min(3, len(outcomes)), 4.6, 0.5 + 0.45 * len(analysis.output.parameters))
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        rows = analysis.indices[analysis.indices["outcome"] == outcome]
        _index_bars(ax, rows, analysis.output.parameters, shown)
        ax.set_title(outcome, fontsize=9)
    axes.flat[0].legend(fontsize=7, frameon=False, loc="lower right")
    level = round(100 * analysis.confidence)
    fig.suptitle(f"{INDEX_LABELS.get(analysis.method, 'indices')}; bars: {level} % confidence", fontsize=10)
    return fig


def _index_bars(ax: Axes, rows: pd.DataFrame, parameters: list[str], shown: tuple[str, ...]) -> None:
    height = 0.8 / len(shown)
    positions = np.arange(len(parameters))
    for k, index in enumerate(shown):
        values = rows[rows["index"] == index].set_index("parameter").reindex(parameters)
        conf = values["conf"].fillna(0).to_numpy()
        ax.barh(positions + k * height, values["value"], height, xerr=conf, label=index, alpha=0.85, capsize=2)
    ax.set_yticks(positions + height * (len(shown) - 1) / 2, [_short(p) for p in parameters], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.grid(axis="x", alpha=0.25)
    ax.tick_params(axis="x", labelsize=7)


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def response_figure(analysis: SweepAnalysis) -> Figure:
    """Rows: headline outcomes; columns: parameters. Each point's mean over replicates against the value."""
    output = analysis.output
    means = analysis.point_means()
    parameters = output.parameters
    fig, axes = plt.subplots(
        len(analysis.headline),
        len(parameters),
        figsize=(2.8 * len(parameters) + 1.2, 1.9 * len(analysis.headline) + 0.8),
        squeeze=False,
        sharey="row",
        constrained_layout=True,
    )
    runs = output.results.merge(output.design, on="point", how="left")
    for i, outcome in enumerate(analysis.headline):
        for j, parameter in enumerate(parameters):
            ax = axes[i, j]
            x = output.design[parameter]
            if pd.api.types.is_numeric_dtype(x) and x.nunique() > FEW_LEVELS:
                _cloud(ax, x.to_numpy(dtype=float), means[outcome].to_numpy())
            else:
                _levels(ax, runs[runs["outcome"] == outcome], parameter)
            if _log_scale(output, parameter):
                ax.set_xscale("log")
            ax.grid(alpha=0.25)
            ax.tick_params(labelsize=7)
            if i == len(analysis.headline) - 1:
                ax.set_xlabel(_short(parameter, 36), fontsize=8)
        axes[i, 0].set_ylabel(_short(outcome, 34), fontsize=7)
    fig.suptitle(f"{output.manifest['sweep']['name']}: outcome responses (mean over replicates)", fontsize=10)
    return fig


def _cloud(ax: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """Every point, and the mean in ten equal-count bins of the parameter."""
    ax.scatter(x, y, s=5, alpha=0.35, color="0.35", linewidths=0)
    finite = np.isfinite(y)
    if finite.sum() < 10:
        return
    frame = pd.DataFrame({"x": x[finite], "y": y[finite]})
    frame["bin"] = pd.qcut(frame["x"], 10, duplicates="drop")
    binned = frame.groupby("bin", observed=True).mean()
    ax.plot(binned["x"], binned["y"], color="#d62728", linewidth=1.6)


def _levels(ax: Axes, rows: pd.DataFrame, parameter: str) -> None:
    """Mean over every run at each value of the parameter, with a 95 % interval (normal approximation)."""
    grouped = rows.groupby(parameter)["value"]
    mean, sem = grouped.mean(), grouped.sem().fillna(0)
    labels = [str(v) for v in mean.index]
    x = mean.index.to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(mean.index) else np.arange(len(mean))
    ax.errorbar(x, mean.to_numpy(), yerr=1.96 * sem.to_numpy(), marker="o", markersize=3, capsize=2, linewidth=1.2)
    if not pd.api.types.is_numeric_dtype(mean.index):
        ax.set_xticks(x, [_short(label, 12) for label in labels], rotation=30, fontsize=6)


def _log_scale(output, parameter: str) -> bool:
    for entry in output.manifest["parameters"]:
        if entry["name"] == parameter:
            return entry["spec"].get("dist") == "loguniform"
    return False


def fan_figure(analysis: SweepAnalysis) -> Figure | None:
    """Median and 50 % / 90 % bands of each vendor's shares over the sweep's runs; None if none kept."""
    path = analysis.output.trajectories
    if path is None:
        return None
    available = set(pq.read_schema(path).names)
    metrics = [(m, title) for m, title in FAN_METRICS if m in available]
    if not metrics:
        return None
    bands = pq.read_table(path, columns=["date", "vendor", *[m for m, _ in metrics]]).to_pandas()
    quantiles = (
        bands.groupby(["vendor", "date"], sort=False)[[m for m, _ in metrics]]
        .quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        .sort_index()
    )
    colors = _colors(analysis)
    fig, axes = plt.subplots(1, len(metrics), figsize=(6.5 * len(metrics), 4.8), squeeze=False, constrained_layout=True)
    for ax, (metric, title) in zip(axes.flat, metrics, strict=True):
        for vendor in dict.fromkeys(bands["vendor"]):
            q = quantiles.loc[vendor, metric].unstack()
            dates = [dt.date(int(d[:4]), int(d[5:7]), 1) for d in q.index]
            color = colors.get(vendor, "0.4")
            ax.fill_between(dates, 100 * q[0.05], 100 * q[0.95], color=color, alpha=0.12, linewidth=0)
            ax.fill_between(dates, 100 * q[0.25], 100 * q[0.75], color=color, alpha=0.25, linewidth=0)
            ax.plot(dates, 100 * q[0.5], color=color, linewidth=1.6, label=vendor)
        ax.set_title(f"{title}: median, 50 % and 90 % of runs", fontsize=10)
        ax.set_ylabel("share (%)")
        ax.grid(alpha=0.25)
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.flat[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    runs = int((analysis.output.runs["status"] == "ok").sum())
    fig.suptitle(f"{analysis.output.manifest['sweep']['name']}: shares across {runs} runs", fontsize=11)
    return fig


def _colors(analysis: SweepAnalysis) -> dict[str, str]:
    """Vendor colours from the base scenario, so a vendor looks the same here as in every chart."""
    base = analysis.output.manifest.get("base") or {}
    try:
        return vendor_colors(scenario_from_dict(yaml.safe_load(base.get("resolved", "")) or {}))
    except (ScenarioError, yaml.YAMLError, TypeError):
        spare = iter(SPARE * 4)
        vendors = dict.fromkeys(analysis.output.results["vendor"].dropna())
        return {v: KNOWN.get(v) or next(spare) for v in vendors if v}


# --- the report -------------------------------------------------------------------------------


def markdown(analysis: SweepAnalysis, written: dict[str, Path], notes: list[str]) -> str:
    output, manifest = analysis.output, analysis.output.manifest
    status = manifest.get("status", {})
    seeds = manifest["seeds"]
    lines = [f"# Sweep {manifest['sweep']['name']}", ""]
    if manifest["sweep"].get("description"):
        lines += [manifest["sweep"]["description"].strip(), ""]
    lines += [
        f"- model: {manifest['model']['name']} (version {manifest['model']['version']})",
        f"- base scenario: {manifest['base']['name']}" if manifest.get("base") else "- base scenario: none",
        f"- design: {output.method}, {manifest['design']['points']} parameter sets"
        + "".join(f", {k} {v}" for k, v in manifest["design"].get("options", {}).items()),
        f"- seeds: {len(seeds)} per parameter set, the same for every set (common random numbers): {_seeds(seeds)}",
        f"- runs: {len(output.runs)}; ok {status.get('ok', '?')}, failed {status.get('failed', '?')}, "
        f"missing {status.get('missing', '?')}",
        f"- parameters: {', '.join(f'`{p}`' for p in output.parameters)}",
        "",
        f"Indices: {INDEX_LABELS.get(output.method, output.method)}{_confidence(analysis)}, on the mean over "
        "replicates at each parameter set. Noise share: the part of an outcome's variance across runs that "
        "lies between replicates of the same parameter set (luck, not parameters).",
        "",
        "## Headline outcomes",
        "",
    ]
    lines += _headline_table(analysis)
    if not analysis.leaders.empty:
        lines += ["", "## Leaders", "", "Share of runs in which each vendor leads.", ""]
        lines += _leaders_table(analysis.leaders)
    lines += ["", "## Charts", ""]
    for key, title in (("indices_chart", "Indices"), ("response_chart", "Responses"), ("fan_chart", "Fan chart")):
        if key in written:
            lines.append(f"![{title}]({written[key].name})")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    lines += [
        "",
        "## Provenance",
        "",
        f"- sweep file: {manifest['sweep']['file']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items()),
        "- every index of every numeric outcome: indices.csv; per-outcome summary: outcomes.csv",
        "",
    ]
    return "\n".join(lines)


def _confidence(analysis: SweepAnalysis) -> str:
    if analysis.method == "grid":
        return " (no interval is computed on a grid)"
    return f", with {round(100 * analysis.confidence)} % confidence half-widths (bootstrap)"


def _seeds(seeds: list[int]) -> str:
    return ", ".join(str(s) for s in seeds) if len(seeds) <= 6 else f"{seeds[0]}, {seeds[1]}, ..., {seeds[-1]}"


def _headline_table(analysis: SweepAnalysis) -> list[str]:
    shown = SHOWN_INDICES.get(analysis.method, ("S1",))
    header = ["outcome", "mean", "sd", "noise share", *[f"top {index}" for index in shown]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary = analysis.summary.set_index("outcome")
    for outcome in analysis.headline:
        row = summary.loc[outcome]
        cells = [f"`{outcome}`", f"{row['mean']:.4g}", f"{row['sd']:.3g}", _fraction(row["noise_share"])]
        for index in shown:
            cells.append(_top(analysis.indices, outcome, index))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fraction(value: float) -> str:
    return "–" if pd.isna(value) else f"{100 * value:.0f} %"


def _top(indices: pd.DataFrame, outcome: str, index: str) -> str:
    rows = indices[(indices["outcome"] == outcome) & (indices["index"] == index)]
    if rows.empty:
        return "–"
    best = rows.loc[rows["value"].abs().idxmax()]
    conf = "" if pd.isna(best["conf"]) else f" ± {best['conf']:.2g}"
    return f"`{best['parameter']}` {best['value']:.2g}{conf}"


def _leaders_table(leaders: pd.DataFrame) -> list[str]:
    lines = ["| outcome | vendors (share of runs) |", "|---|---|"]
    for outcome, rows in leaders.groupby("outcome", sort=False):
        ranked = rows.sort_values("share", ascending=False)
        lines.append(
            f"| `{outcome}` | " + ", ".join(f"{r.vendor} {100 * r.share:.0f} %" for r in ranked.itertuples()) + " |"
        )
    return lines


def indices_table(analysis: SweepAnalysis) -> Table:
    """The headline outcomes' indices for the terminal: one row per outcome, one column per parameter."""
    shown = SHOWN_INDICES.get(analysis.method, ("S1",))
    table = Table(title=f"{analysis.output.manifest['sweep']['name']}: {INDEX_LABELS.get(analysis.method, '')}")
    table.add_column("outcome", no_wrap=True)
    for parameter in analysis.output.parameters:
        table.add_column(Text(_short(parameter, 24)), justify="right")
    for outcome in analysis.headline:
        rows = analysis.indices[analysis.indices["outcome"] == outcome]
        cells = []
        for parameter in analysis.output.parameters:
            mine = rows[rows["parameter"] == parameter].set_index("index")["value"]
            cells.append(" / ".join(f"{mine[i]:.2f}" if i in mine else "–" for i in shown))
        table.add_row(Text(outcome), *cells)
    return table
