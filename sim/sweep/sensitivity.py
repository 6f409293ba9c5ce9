"""Sensitivity of each outcome to each parameter, from a finished sweep's folder.

The index depends on the design, because each estimator needs its own sampling scheme:

  sobol    Sobol' first-order (S1), total (ST) and, if sampled, second-order (S2) indices
           (SALib.analyze.sobol, Saltelli's scheme)
  morris   Morris' mean absolute elementary effect (mu_star), its signed mean (mu) and
           spread (sigma), per unit of each parameter's range (SALib.analyze.morris)
  lhs, random   first-order indices by RBD-FAST (SALib.analyze.rbd_fast), for any sample
  grid     the correlation ratio eta^2 = Var(E[Y | level]) / Var(Y): the first-order index
           on a full factorial grid, read directly from the level means

Replicates are averaged per point first: the indices are those of the expected outcome.
How much of an outcome's spread is luck rather than parameters is reported beside them as
the noise share (mean within-point variance over the total variance across runs). SALib
is imported when an analysis needs it, so that `import sim` stays quick.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.discover.conditions import outcome_pattern
from sim.scenario.loading import Problem, ScenarioError
from sim.sweep.designs import UNIT_PREFIX
from sim.sweep.store import DESIGN, MANIFEST, RESULTS, RUN_TABLE, TRAJECTORIES

HEADLINE_METRICS = ("token_share", "revenue_share")
MAX_HEADLINE = 12
RESULT_COLUMNS = ["point", "replicate", "outcome", "metric", "vendor", "period", "value", "label"]


@dataclass(frozen=True)
class SweepOutput:
    """A finished sweep as stored: its manifest, design, results and per-run status."""

    folder: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    results: pd.DataFrame
    runs: pd.DataFrame

    @property
    def method(self) -> str:
        return self.manifest["design"]["method"]

    @property
    def parameters(self) -> list[str]:
        return [p["name"] for p in self.manifest["parameters"]]

    @property
    def trajectories(self) -> Path | None:
        path = self.folder / TRAJECTORIES
        return path if path.exists() else None


def load_output(folder: str | Path) -> SweepOutput:
    """Read a sweep folder; a folder that is not a finished sweep is a clear error (exit code 2)."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        raise ScenarioError([Problem(str(folder), "", "not a sweep output folder (no manifest.json); run `sim sweep`")])
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem(str(folder / MANIFEST), "", f"cannot read the manifest: {exc}")]) from None
    state = manifest.get("status", {}).get("state")
    if state == "running" or not (folder / RESULTS).exists():
        message = "the sweep has not finished (it is running or was interrupted); run `sim sweep` again to finish it"
        raise ScenarioError([Problem(str(folder), "", message)])
    return SweepOutput(
        folder=folder,
        manifest=manifest,
        design=_read_table(folder / DESIGN, pd.read_parquet),
        results=_read_table(folder / RESULTS, lambda path: pq.read_table(path, columns=RESULT_COLUMNS).to_pandas()),
        runs=_read_table(folder / RUN_TABLE, pd.read_parquet),
    )


def _read_table(path: Path, read: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """A finished sweep's Parquet table; a truncated, empty or foreign file is a message naming it."""
    try:
        return read(path)
    except Exception as error:  # pyarrow raises its own errors for a file it cannot read
        message = f"not a readable Parquet table ({type(error).__name__}): it may be truncated or corrupt; " + (
            "run `sim sweep` again to rebuild it"
        )
        raise ScenarioError([Problem(str(path), "", message)]) from None


@dataclass(frozen=True)
class SweepAnalysis:
    """Indices per outcome and parameter, a summary per outcome, leaders, and what was skipped."""

    output: SweepOutput
    indices: pd.DataFrame  # outcome, parameter, index, value, conf, low, high
    summary: pd.DataFrame  # outcome, metric, vendor, period, runs, mean, sd, min, max, noise_share
    leaders: pd.DataFrame  # outcome, vendor, share of runs leading
    headline: list[str]
    confidence: float
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.output.method

    def point_means(self) -> pd.DataFrame:
        """Point x outcome table of the mean over replicates."""
        return point_means(self.output)


def analyze_sweep(
    folder: str | Path, outcomes: list[str] | None = None, confidence: float = 0.95, resamples: int = 100
) -> SweepAnalysis:
    """Indices for every numeric outcome; `outcomes` (glob patterns) picks the headline ones for charts."""
    output = load_output(folder)
    means = point_means(output)
    notes: list[str] = []
    frames = []
    for outcome in means.columns:
        rows, note = outcome_indices(output, outcome, means[outcome].to_numpy(), confidence, resamples)
        if note:
            notes.append(note)
        if rows is not None:
            frames.append(rows)
    indices = pd.concat(frames, ignore_index=True) if frames else _empty_indices()
    return SweepAnalysis(
        output=output,
        indices=indices,
        summary=summarize(output),
        leaders=leader_shares(output),
        headline=headline(output, list(means.columns), outcomes),
        confidence=confidence,
        notes=_failures(output) + notes,
    )


def _empty_indices() -> pd.DataFrame:
    return pd.DataFrame(columns=["outcome", "parameter", "index", "value", "conf", "low", "high"])


def numeric(output: SweepOutput) -> pd.DataFrame:
    return output.results[output.results["metric"] != "leader"]


def point_means(output: SweepOutput) -> pd.DataFrame:
    """Mean over replicates at each point (rows: every point of the design, NaN where none ran)."""
    table = numeric(output).groupby(["point", "outcome"], sort=False)["value"].mean().unstack("outcome")
    order = list(dict.fromkeys(numeric(output)["outcome"]))
    return table.reindex(index=range(len(output.design)), columns=order)


def outcome_indices(
    output: SweepOutput, outcome: str, y: np.ndarray, confidence: float, resamples: int
) -> tuple[pd.DataFrame | None, str | None]:
    """The indices of one outcome, or why there are none."""
    missing = int(np.isnan(y).sum())
    if missing:
        return (
            None,
            f"{outcome}: no indices, {missing} of {len(y)} points have no value (failed runs or months not reached)",
        )
    if np.ptp(y) == 0:
        return None, f"{outcome}: no indices, it is the same at every point ({y[0]:.6g})"
    method = output.method
    options = output.manifest["design"].get("options", {})
    seed = int(options.get("seed", 0))
    if method == "sobol":
        rows = _sobol(output, y, bool(options.get("second_order")), confidence, resamples, seed)
    elif method == "morris":
        rows = _morris(output, y, int(options.get("levels", 4)), confidence, resamples, seed)
    elif method in ("lhs", "random"):
        rows = _rbd_fast(output, y, confidence, resamples, seed)
    else:
        rows = _eta_squared(output, y)
    frame = pd.DataFrame(rows, columns=["parameter", "index", "value", "conf"])
    frame.insert(0, "outcome", outcome)
    frame["low"], frame["high"] = frame["value"] - frame["conf"], frame["value"] + frame["conf"]
    return frame, None


def _problem(output: SweepOutput) -> dict[str, Any]:
    names = output.parameters
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _unit(output: SweepOutput) -> np.ndarray:
    return output.design[[UNIT_PREFIX + name for name in output.parameters]].to_numpy(dtype=float)


def _sobol(output: SweepOutput, y: np.ndarray, second: bool, confidence: float, resamples: int, seed: int) -> list:
    from SALib.analyze import sobol

    found = sobol.analyze(
        _problem(output), y, calc_second_order=second, num_resamples=resamples, conf_level=confidence, seed=seed
    )
    names = output.parameters
    rows = []
    for j, name in enumerate(names):
        rows.append((name, "S1", found["S1"][j], found["S1_conf"][j]))
        rows.append((name, "ST", found["ST"][j], found["ST_conf"][j]))
    if second:
        for j, k in itertools.combinations(range(len(names)), 2):
            rows.append((f"{names[j]} x {names[k]}", "S2", found["S2"][j, k], found["S2_conf"][j, k]))
    return rows


def _morris(output: SweepOutput, y: np.ndarray, levels: int, confidence: float, resamples: int, seed: int) -> list:
    from SALib.analyze import morris

    found = morris.analyze(
        _problem(output), _unit(output), y, num_resamples=resamples, conf_level=confidence, num_levels=levels, seed=seed
    )
    rows = []
    for j, name in enumerate(output.parameters):
        rows.append((name, "mu_star", found["mu_star"][j], found["mu_star_conf"][j]))
        rows.append((name, "mu", found["mu"][j], math.nan))
        rows.append((name, "sigma", found["sigma"][j], math.nan))
    return rows


def _rbd_fast(output: SweepOutput, y: np.ndarray, confidence: float, resamples: int, seed: int) -> list:
    from SALib.analyze import rbd_fast

    harmonics = max(1, min(10, (len(y) - 1) // 2))
    found = rbd_fast.analyze(
        _problem(output), _unit(output), y, M=harmonics, num_resamples=resamples, conf_level=confidence, seed=seed
    )
    return [(name, "S1", found["S1"][j], found["S1_conf"][j]) for j, name in enumerate(output.parameters)]


def _eta_squared(output: SweepOutput, y: np.ndarray) -> list:
    """Share of the variance of point means explained by each parameter's level means (equal weights)."""
    total = float(np.var(y))
    rows = []
    for name in output.parameters:
        levels = pd.Series(y).groupby(output.design[name].astype(str).to_numpy())
        between = float(np.sum(levels.size() * (levels.mean() - y.mean()) ** 2) / len(y))
        rows.append((name, "eta2", between / total, math.nan))
    return rows


def summarize(output: SweepOutput) -> pd.DataFrame:
    """Per numeric outcome: runs, mean, spread, range and the noise share (replicates permitting).

    Both variances are population variances, so that with equal replicates per point the
    noise share is the within-point part of the total variance (a fraction from 0 to 1).
    """
    rows = numeric(output)
    grouped = rows.groupby("outcome", sort=False)
    summary = grouped.agg(
        metric=("metric", "first"),
        vendor=("vendor", "first"),
        period=("period", "first"),
        runs=("value", "count"),
        mean=("value", "mean"),
        sd=("value", "std"),
        min=("value", "min"),
        max=("value", "max"),
    )
    cells = rows.groupby(["outcome", "point"], sort=False)["value"]
    replicated = cells.count() > 1  # one run at a point says nothing about luck
    within = cells.var(ddof=0)[replicated].groupby(level=0, sort=False).mean()
    total = grouped["value"].var(ddof=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        summary["noise_share"] = (within / total).reindex(summary.index)
    return summary.reset_index()


def leader_shares(output: SweepOutput) -> pd.DataFrame:
    """For each leader outcome, the share of successful runs in which each vendor leads."""
    leaders = output.results[output.results["metric"] == "leader"]
    if leaders.empty:
        return pd.DataFrame(columns=["outcome", "vendor", "share"])
    counts = leaders.groupby(["outcome", "label"], sort=False).size().rename("runs").reset_index()
    totals = leaders.groupby("outcome", sort=False).size()
    counts["share"] = counts["runs"] / counts["outcome"].map(totals)
    return counts.rename(columns={"label": "vendor"})[["outcome", "vendor", "share"]]


def headline(output: SweepOutput, outcomes: list[str], patterns: list[str] | None) -> list[str]:
    """The outcomes to chart: those matching `patterns` (`*`: anything), else each vendor's shares at the last month."""
    if patterns:
        wanted = [outcome_pattern(p) for p in patterns]
        return [o for o in outcomes if any(w.fullmatch(o) for w in wanted)][:MAX_HEADLINE]
    at = (output.manifest.get("outcomes") or {}).get("at") or []
    if at:
        chosen = [o for o in outcomes if o.endswith(f"@{at[-1]}") and o.split("[")[0] in HEADLINE_METRICS]
        if chosen:
            return chosen[:MAX_HEADLINE]
    return outcomes[:MAX_HEADLINE]


def _failures(output: SweepOutput) -> list[str]:
    counts = output.runs["status"].value_counts()
    notes = []
    if counts.get("failed", 0):
        errors = output.runs.loc[output.runs["status"] == "failed", "error"].value_counts()
        top = "; ".join(f"{n} x {error}" for error, n in errors.head(3).items())
        notes.append(f"{counts['failed']} of {len(output.runs)} runs failed ({top}); see runs.parquet")
    if counts.get("missing", 0):
        notes.append(f"{counts['missing']} runs are missing (sweep interrupted): run `sim sweep` again to finish")
    return notes
