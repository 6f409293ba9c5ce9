"""A calibration's report: fit.md, fit.png and posterior.png.

fit.png   left: every figure's scaled miss at the best set (dot) and across the ensemble
          (5-95 % bar), the tolerance shaded; figures left out of the fit marked as predictions.
          right: the best distance as candidates accrue (convergence), and each parameter's
          spread in the ensemble against the pinned / loosely pinned thresholds.
fit.md    the same in tables, with the identification table and the strongest trade-offs.
posterior.png  each parameter's weighted posterior against its prior, and the pairs that trade off.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.calibrate.identification import LOOSE, PINNED, figure_conflicts
from sim.calibrate.posterior import parameter_log_prior
from sim.calibrate.proposals import UNIT
from sim.calibrate.search import SIM, Z, acceptance, still_growing
from sim.report.charts import save_figure
from sim.report.files import write_text

if TYPE_CHECKING:
    from sim.calibrate.posterior import Posterior
    from sim.calibrate.result import CalibrationResult


def save_fit_report(result: CalibrationResult) -> None:
    write_text(result.folder / "fit.md", fit_markdown(result))
    for name, draw in (("fit.png", fit_figure), ("posterior.png", posterior_figure)):
        figure = draw(result)
        save_figure(figure, result.folder / name)
        plt.close(figure)


PAIRS_SHOWN = 4  # pairwise posteriors drawn: the strongest trade-offs among the plausible sets


def posterior_figure(result: CalibrationResult) -> plt.Figure:
    """Each parameter's weighted posterior against its prior, and the pairs that trade off.

    On the search's unit scale (0 = low bound, 1 = high), so every panel has the same axis.
    The weights are the importance weights of `fit.md`'s "Posterior": with few effective
    sets the histograms are spiky, which is what they should show.
    """
    calibration, post = result.calibration, result.posterior
    names = calibration.names
    columns = 5
    rows = -(-len(names) // columns) + 1
    figure = plt.figure(figsize=(3.0 * columns, 2.3 * rows), layout="constrained")
    grid = figure.add_gridspec(rows, columns)
    chosen = result.evaluations.loc[post.weights.index]
    weights = post.weights.to_numpy()
    grid_units = np.linspace(0.0, 1.0, 201)
    for index, (name, parameter) in enumerate(zip(names, calibration.parameters, strict=True)):
        ax = figure.add_subplot(grid[index // columns, index % columns])
        units = chosen[f"{UNIT}{name}"].to_numpy(dtype=float)
        if weights.sum() > 0:
            ax.hist(units, bins=25, range=(0, 1), weights=weights, density=True, color="tab:blue", alpha=0.7)
        prior = np.exp(parameter_log_prior(parameter.spec, grid_units))
        ax.plot(grid_units, prior, color="black", lw=1, label="prior")
        ax.set_title(_tail(name, 34), fontsize=8)
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    for index, pair in enumerate(result.identification.tradeoffs.head(PAIRS_SHOWN).itertuples()):
        ax = figure.add_subplot(grid[rows - 1, index])
        x, y = (chosen[f"{UNIT}{n}"].to_numpy(dtype=float) for n in (pair.a, pair.b))
        ax.scatter(x, y, s=2, color="0.8")
        if weights.max(initial=0.0) > 0:
            ax.scatter(x, y, s=150 * weights / weights.max(), alpha=0.6, color="tab:blue")
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.set_xlabel(_tail(pair.a, 30), fontsize=7)
        ax.set_ylabel(_tail(pair.b, 30), fontsize=7)
        ax.tick_params(labelsize=6)
    figure.suptitle(
        f"Posterior of {calibration.name} ({post.ess:.0f} effective sets) on the search scale (0 = low bound, "
        "1 = high)\nweighted histograms against the prior (line); last row: the strongest trade-offs, "
        "every candidate in grey, circle size = posterior weight",
        fontsize=10,
    )
    return figure


def figure_table(result: CalibrationResult) -> pd.DataFrame:
    """One row per figure: public value, the best set's value and miss, the ensemble's 5-95 % band."""
    rows = []
    for name, info in result.moments.items():
        band = result.ensemble[f"{Z}{name}"] if len(result.ensemble) else pd.Series(dtype=float)
        values = result.ensemble[f"{SIM}{name}"] if len(result.ensemble) else pd.Series(dtype=float)
        best = result.best
        rows.append(
            {
                "figure": name,
                "ends": info["ends"],
                "role": "fitted" if name in result.fitted else "predicted",
                "public": info["public"],
                "best": float(best[f"{SIM}{name}"]) if best is not None else np.nan,
                "best_miss": float(best[f"{Z}{name}"]) if best is not None else np.nan,
                "ensemble_p05": float(values.quantile(0.05)) if len(values) else np.nan,
                "ensemble_p95": float(values.quantile(0.95)) if len(values) else np.nan,
                "miss_p05": float(band.quantile(0.05)) if len(band) else np.nan,
                "miss_p95": float(band.quantile(0.95)) if len(band) else np.nan,
                "ensemble_within": float((band.abs() <= 1).mean()) if len(band) else np.nan,
            }
        )
    columns = ["figure", "ends", "role", "public", "best", "best_miss", "ensemble_p05", "ensemble_p95",
               "miss_p05", "miss_p95", "ensemble_within"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def convergence(result: CalibrationResult) -> pd.DataFrame:
    """The best distance after each stage, and after every candidate (for the chart)."""
    frame = result.evaluations[["candidate", "stage", "distance"]].sort_values("candidate").copy()
    frame["best_so_far"] = frame["distance"].cummin()
    return frame


def fit_markdown(result: CalibrationResult) -> str:
    calibration, status = result.calibration, result.record["status"]
    lines = [
        f"# Calibration {calibration.name}",
        "",
        calibration.spec.description.strip() or "",
        "",
        f"- model: {result.record['model']['name']} ({result.record['model']['version']})",
        f"- base scenario: {result.record['base']}",
        f"- targets file: {result.record['targets_file']} (sha256 {result.record['targets_sha256']})",
        *(
            [f"- also fitted: {result.record['targets_also']} (sha256 {result.record['targets_also_sha256']})"]
            if result.record.get("targets_also")
            else []
        ),
        f"- seeds (common to every candidate): {calibration.spec.seeds}",
        f"- fitted: figures whose data ends by {calibration.until}" if calibration.until else "- fitted: every figure",
        f"- candidates: {status['candidates']} ({status['failed_candidates']} could not run); "
        f"plausible sets (every fitted figure within {calibration.spec.ensemble.cutoff:g} tolerance): "
        f"{status['plausible_sets']}",
        f"- time: {status['elapsed_s']:.0f} s on {status['workers']} workers; "
        f"{status['evaluations_per_minute']} candidates per minute; "
        f"share of worker time in the model: {_percent(status['model_share_of_worker_time'])}",
        "",
    ]
    lines += _fit_lines(result)
    lines += _identification_lines(result)
    lines += _posterior_lines(result)
    lines += _figure_lines(result)
    lines += _convergence_lines(result)
    lines += [
        "## Reading this",
        "",
        "A set is plausible when every fitted figure lies within its tolerance (its scaled miss |z| <= "
        f"{calibration.spec.ensemble.cutoff:g}). A parameter is *pinned* when the middle 90 % of plausible "
        f"values spans less than {PINNED:.0%} of its range (on its search scale), *loosely pinned* below "
        f"{LOOSE:.0%}, and *not pinned* otherwise: these figures then say little about it, and a what-if "
        "that depends on it should be run over the ensemble (`sim whatif --ensemble`). See docs/calibration.md.",
        "",
    ]
    return "\n".join(lines)


def _fit_lines(result: CalibrationResult) -> list[str]:
    """The fit statistic, how far the figures outnumber the parameters, and which figures conflict."""
    figures, parameters = len(result.fitted), len(result.calibration.names)
    best = result.best
    distance = float(best["distance"]) if best is not None else float("nan")
    missed = [] if best is None else [n for n in result.fitted if abs(float(best.get(f"{Z}{n}", np.nan))) > 1.0]
    lines = [
        "## Fit",
        "",
        f"- {figures} fitted figures, {parameters} free parameters: "
        f"{figures / parameters:.2f} figures per parameter"
        + (
            " (over-identified by half again or more)"
            if figures >= 1.5 * parameters
            else " (NOT over-identified by half again)"
        ),
        f"- distance at the best set (sum of squared scaled misses): {distance:.3g}; "
        f"{figures - len(missed)} of {figures} figures within tolerance",
    ]
    if missed:
        lines.append(f"- missed at the best set: {', '.join(missed)}")
    conflicts = figure_conflicts(result.evaluations, result.fitted, Z)
    lines += ["", "Figures that pull against each other near the best fit (Spearman rank correlation of "
              "squared misses among the best tenth of candidates; only pairs with a miss):", ""]  # fmt: skip
    if conflicts.empty:
        lines.append("none stronger than -0.3" if missed else "none: every fitted figure is met")
    for row in conflicts.itertuples():
        lines.append(
            f"- {row.a} (miss {row.a_miss:+.2f}) against {row.b} (miss {row.b_miss:+.2f}): {row.spearman:+.2f}"
        )
    return [*lines, ""]


def _percent(value: float | None) -> str:
    return "n/a (every run was stored already)" if value is None else f"{100 * value:.0f} %"


def _identification_lines(result: CalibrationResult) -> list[str]:
    ident = result.identification
    lines = [
        f"## Identification ({ident.sets} plausible sets)",
        "",
        "| parameter | bounds | best | ensemble 5 % | median | 95 % | spread of range | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in ident.table.itertuples():
        lines.append(
            f"| {row.parameter} | {row.low:.4g} to {row.high:.4g} ({row.scale}) | {row.best:.4g} | "
            f"{row.ensemble_p05:.4g} | {row.ensemble_median:.4g} | {row.ensemble_p95:.4g} | "
            f"{_spread(row.spread)} | {row.verdict} |"
        )
    lines += ["", "Strongest trade-offs (Spearman rank correlation among plausible sets):", ""]
    if ident.tradeoffs.empty:
        lines.append("none stronger than 0.3" if ident.sets >= 10 else "too few plausible sets to tell")
    for row in ident.tradeoffs.itertuples():
        lines.append(f"- {row.a} and {row.b}: {row.spearman:+.2f}")
    return [*lines, ""]


def _spread(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.0f} %"


def _figure_lines(result: CalibrationResult) -> list[str]:
    table = figure_table(result)
    lines = [
        "## Figures",
        "",
        "| figure | role | public | best set | miss | ensemble 5–95 % | ensemble within tolerance |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.figure} | {row.role} | {row.public:.4g} | {row.best:.4g} | {row.best_miss:+.2f} | "
            f"{row.ensemble_p05:.4g} to {row.ensemble_p95:.4g} | {_spread(row.ensemble_within)} |"
        )
    predicted = table[table["role"] == "predicted"]
    if len(predicted):
        hits = int((predicted["best_miss"].abs() <= 1).sum())
        covered = int(((predicted["miss_p05"] <= 1) & (predicted["miss_p95"] >= -1)).sum())
        lines += [
            "",
            f"Out of sample: {len(predicted)} figures end after {result.calibration.until} and were not fitted. "
            f"The best set predicts {hits} of them within tolerance; the ensemble's 5–95 % band reaches "
            f'the tolerance of {covered}. The posterior\'s verdict on each is in "Forecasts" below.',
        ]
    return [*lines, ""]


def forecast_sentence(result: CalibrationResult) -> str | None:
    """The time split's verdict in one sentence, or None when every figure was fitted."""
    hits, figures, density = result.verdicts.score()
    if not figures:
        return None
    missed = result.verdicts.forecast()
    missed = missed[missed["outside"]]["figure"].tolist()
    verdict = (
        "the mechanisms forecast the later figures"
        if hits >= 0.75 * figures
        else "the mechanisms do not forecast the later figures: fitting the early ones is not evidence for them"
    )
    return (
        f"Fit to {result.calibration.until}, the posterior forecasts {hits} of {figures} later figures "
        f"(public value within the central 90 % of its prediction; mean log predictive density {density:.2f}): "
        f"{verdict}." + (f" Missed: {', '.join(missed)}." if missed else "")
    )


def _posterior_lines(result: CalibrationResult) -> list[str]:
    """The weighted posterior: its size, each parameter's summary, and each figure's predictive check."""
    post, calibration = result.posterior, result.calibration
    status = result.record["status"]
    lines = [
        "## Posterior",
        "",
        "Every candidate drawn from a known density (the Sobol' points, the refocusing and the posterior "
        "rounds, not the optimiser's) is weighed by prior x likelihood / proposal density, the likelihood "
        "reading each tolerance as one standard deviation of the error (exp(-distance / 2)). "
        "docs/calibration.md says why.",
        "",
        f"- candidates weighed: {post.weighed}; effective sample size: {post.ess:.1f}"
        + ("" if post.ess >= 100 else " (fewer than 100: the weights rest on few sets; run more posterior rounds)"),
        f"- posterior mass in the plausible sets: {_percent(status['posterior_mass_in_plausible_sets'])}; "
        "`ensemble.parquet` carries each plausible set's weight",
        f"- log evidence (up to a constant shared by variants fitted to the same figures): {post.log_evidence:.2f}",
        "",
        *_progression_lines(post),
        "| parameter | prior | mean | sd | 5 % | median | 95 % |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = post.summary(result.evaluations, calibration)
    for parameter, row in zip(calibration.parameters, summary.itertuples(), strict=True):
        lines.append(
            f"| {row.parameter} | {_prior_text(parameter.spec)} | {row.mean:.4g} | {row.sd:.3g} | {row.p05:.4g} | "
            f"{row.median:.4g} | {row.p95:.4g} |"
        )
    lines += ["", *_check_lines(result), ""]
    return lines


def _progression_lines(post: Posterior) -> list[str]:
    """The posterior rounds' convergence: tempering, and the weighted sample's size and evidence."""
    if len(post.rounds) < 2:
        return []
    lines = [
        "Posterior rounds (population Monte Carlo): each draws round the weighted sample so far, at the lowest "
        "temperature that keeps its kernel on enough effective sets (at temperature 1 it draws round the "
        "posterior itself), and half round the Gaussian that a linear emulator of the figures implies. The "
        "sample has settled when the log evidence stops moving. The emulator's accuracy is the share of the "
        "variance of the round's distances it predicts (R²), on runs it was not fitted to.",
        "",
        "| after | temperature | kernel built on (effective sets) | emulator R² on the round | candidates weighed | "
        "effective sample size | log evidence |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in post.rounds.itertuples():
        temperature = "" if math.isnan(row.temperature) else f"{row.temperature:.3g}"
        kernel = "" if math.isnan(row.kernel_ess) else f"{row.kernel_ess:.0f}"
        accuracy = "" if math.isnan(row.emulator_r2) else f"{row.emulator_r2:.2f}"
        lines.append(
            f"| {row.stage} | {temperature} | {kernel} | {accuracy} | {row.weighed} | {row.ess:.1f} | "
            f"{row.log_evidence:.2f} |"
        )
    return [*lines, ""]


def _prior_text(spec) -> str:
    prior = spec.prior
    if prior.dist == "normal":
        shape = f"normal({prior.mean:g}, {prior.sd:g})"
    elif prior.dist == "lognormal":
        shape = f"lognormal(median {prior.median:g}, sigma {prior.sigma:g})"
    elif prior.dist == "beta":
        shape = f"beta({prior.a:g}, {prior.b:g}) on the range"
    else:
        shape = "log-uniform" if spec.scale == "log" else "uniform"
    return f"{shape}, {spec.low:.4g} to {spec.high:.4g}"


def _check_lines(result: CalibrationResult) -> list[str]:
    """Posterior predictive checks of fitted figures, and forecasts of the others."""
    table = result.verdicts.table
    lines = []
    for role, title in (("fitted", "Posterior predictive checks"), ("predicted", "Forecasts")):
        part = table[table["role"] == role]
        if part.empty:
            continue
        lines += [
            f"### {title}",
            "",
            "| figure | public | predicted 5–95 % | public's percentile | verdict |",
            "|---|---|---|---|---|",
        ]
        for row in part.itertuples():
            good, bad = ("inside", "**outside**") if role == "fitted" else ("hit", "**miss**")
            lines.append(
                f"| {row.figure} | {row.public:.4g} | {row.p05:.4g} to {row.p95:.4g} | "
                f"{_spread(row.percentile)} | {bad if row.outside else good} |"
            )
        outside = part[part["outside"]]["figure"].tolist()
        if role == "fitted":
            lines += ["", f"Fitted figures the posterior does not reproduce (public value outside the central 90 %): "
                      f"{', '.join(outside) if outside else 'none'}.", ""]  # fmt: skip
        else:
            lines += ["", forecast_sentence(result) or "", ""]
    return lines


def _convergence_lines(result: CalibrationResult) -> list[str]:
    frame = convergence(result)
    rates = acceptance(result.evaluations)
    lines = [
        "## Search",
        "",
        "| stage | candidates so far | best distance | plausible in stage |",
        "|---|---|---|---|",
    ]
    for stage, group in frame.groupby("stage", sort=False):
        lines.append(
            f"| {stage} | {int(group['candidate'].max()) + 1} | {group['best_so_far'].iloc[-1]:.3g} | "
            f"{100 * rates[stage]:.0f} % |"
        )
    growing = still_growing(result.evaluations, result.calibration.names)
    if growing:
        lines += [
            "",
            "**The plausible region was not fully explored**: the plausible range of "
            + ", ".join(f"`{name}`" for name in growing)
            + " still widened in the last round, so these ranges are lower bounds and a verdict of pinned may "
            "not hold: run more rounds (`ensemble.rounds`).",
        ]
    return [*lines, ""]


def fit_figure(result: CalibrationResult) -> plt.Figure:
    table = figure_table(result)
    figure = plt.figure(figsize=(13, max(5.0, 0.35 * len(table) + 2)), layout="constrained")
    grid = figure.add_gridspec(2, 2, width_ratios=[1.5, 1.1])
    _misses_axes(figure.add_subplot(grid[:, 0]), table)
    _convergence_axes(figure.add_subplot(grid[0, 1]), convergence(result))
    _spread_axes(figure.add_subplot(grid[1, 1]), result)
    figure.suptitle(
        f"Calibration {result.calibration.name}: {result.record['status']['plausible_sets']} plausible sets"
    )
    return figure


def _misses_axes(ax: plt.Axes, table: pd.DataFrame) -> None:
    y = np.arange(len(table))[::-1]
    ax.axvspan(-1, 1, color="0.9", label="within tolerance")
    colors = np.where(table["role"] == "fitted", "tab:blue", "tab:orange")
    ax.hlines(y, table["miss_p05"].clip(-5, 5), table["miss_p95"].clip(-5, 5), colors=colors, lw=4, alpha=0.5)
    ax.scatter(table["best_miss"].clip(-5, 5), y, c=colors, zorder=3)
    ax.set_yticks(y, [_short(name) for name in table["figure"]], fontsize=8)
    ax.set_xlim(-5.2, 5.2)
    ax.set_xlabel("scaled miss z (simulated vs public, in tolerances; clipped at ±5)")
    ax.set_title("Figures: best set (dot), ensemble 5–95 % (bar); blue fitted, orange predicted", fontsize=10)


def _short(name: str, width: int = 60) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _tail(name: str, width: int) -> str:
    """The end of a long dotted name, which tells parameters apart better than its start."""
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _convergence_axes(ax: plt.Axes, frame: pd.DataFrame) -> None:
    finite = frame[np.isfinite(frame["distance"])]
    ax.scatter(finite["candidate"], finite["distance"].clip(lower=1e-6), s=3, color="0.7", label="each candidate")
    best = frame[np.isfinite(frame["best_so_far"])]
    ax.plot(best["candidate"], best["best_so_far"].clip(lower=1e-6), color="black", label="best so far")
    for stage, group in frame.groupby("stage", sort=False):
        if len(group) >= 0.02 * len(frame):
            ax.axvline(group["candidate"].min(), color="0.5", lw=0.8)
            ax.text(group["candidate"].min(), 1.0, f" {stage}", transform=ax.get_xaxis_transform(), fontsize=7,
                    va="top", rotation=90)  # fmt: skip
    ax.set_xlabel("candidate")
    ax.set_ylabel("distance (sum of squared misses)")
    ax.set_title("Search", fontsize=10)
    if finite.empty:  # no candidate ran: nothing to draw on a log scale
        ax.text(0.5, 0.5, "no candidate could run", transform=ax.transAxes, ha="center", va="center")
        return
    ax.set_yscale("log")
    ax.legend(fontsize=7, loc="lower left")


def _spread_axes(ax: plt.Axes, result: CalibrationResult) -> None:
    table = result.identification.table
    y = np.arange(len(table))[::-1]
    ax.barh(y, table["spread"].fillna(0.0), color="tab:green")
    ax.axvline(PINNED, color="0.4", ls="--", lw=0.8)
    ax.axvline(LOOSE, color="0.4", ls=":", lw=0.8)
    ax.set_yticks(y, [_tail(p, 34) for p in table["parameter"]], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the range the middle 90 % spans")
    ax.set_title("Identification (dashed: pinned below; dotted: loosely)", fontsize=10)


def save_comparison(comparison, folder, results, found, verdict: str) -> None:
    """compare.md and compare.json: the variants' evidence, fit and forecasts, and the verdict."""
    from sim.provenance import versions
    from sim.report.files import write_json

    lines = [
        f"# Comparison {comparison.name}",
        "",
        comparison.spec.description.strip(),
        "",
        f"**{verdict}**",
        "",
        "| variant | figures | free parameters | best distance | plausible share of the prior sample | "
        "effective sets | log evidence | probability (equal prior odds) | forecasts hit | "
        "mean log predictive density |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for score in found:
        forecast = "–" if score.forecasts is None else f"{score.forecast_hits} of {score.forecasts}"
        density = "–" if score.forecast_density is None else f"{score.forecast_density:.2f}"
        lines.append(
            f"| {score.label} | {score.figures} | {score.parameters} | {score.best_distance:.3g} | "
            f"{_spread(score.prior_plausible)} | {score.ess:.0f} | {score.log_evidence:.2f} | "
            f"{100 * score.probability:.1f} % | {forecast} | {density} |"
        )
    lines += [
        "",
        'The evidence is estimated from each variant\'s importance-weighted candidates (fit.md, "Posterior", in '
        "each variant's folder); variants with more free parameters pay for them through their priors. "
        "An effective sample size below 100 makes a variant's evidence uncertain: run more rounds. "
        'See docs/calibration.md, "Comparing variants".',
        "",
    ]
    write_text(folder / "compare.md", "\n".join(lines))
    write_json(
        folder / "compare.json",
        {
            "comparison": {"name": comparison.name, "file": str(comparison.path), "until": comparison.spec.until},
            "variants": {label: str(result.folder) for label, result in results.items()},
            "scores": [score.__dict__ for score in found],
            "verdict": verdict,
            "versions": versions(),
        },
    )
