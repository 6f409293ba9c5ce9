"""Paired runs with common random numbers, and the paired differences with confidence intervals.

Replicate r runs the baseline and the what-if with the same seed. Every random draw in the
model is made per month for the whole population in a fixed order, so agents a change does
not affect receive the same draws on both sides: the difference between the two runs is
the change's effect plus far less noise than two independent runs would have.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.provenance import versions
from sim.run import run
from sim.scenario.calendar import month_at
from sim.scenario.schema import Scenario
from sim.whatif.changes import DEFAULT_REPLICATES, METRICS, SHARE_METRICS, Changes, explain_no_effect, parse_changes

MAX_REPLICATES = 1000

if TYPE_CHECKING:
    from sim.whatif.ensemble import EnsembleWhatIfResult
    from sim.whatif.respond import Response


def replicate_seeds(scenario: Scenario, replicates: int) -> list[int]:
    """Seeds of the replicates: the scenario's seed, then the next ones."""
    return [scenario.seed + r for r in range(replicates)]


def _tables(scenario: Scenario, seed: int, vendors: list[str]) -> np.ndarray:
    """[metric, month, vendor] for one run, vendors in the given order (the baseline's).

    Columns are picked by vendor id, never by position: a side that lists its vendors in
    another order is compared vendor by vendor all the same.
    """
    result = run(scenario, seed=seed)
    return np.stack([result.wide(metric).loc[:, vendors].to_numpy() for metric in METRICS])


def _pair(job: tuple[Scenario, Scenario, int]) -> tuple[np.ndarray, np.ndarray]:
    baseline, variant, seed = job
    vendors = list(baseline.vendors)
    return _tables(baseline, seed, vendors), _tables(variant, seed, vendors)


def run_pairs(
    baseline: Scenario,
    variant: Scenario,
    seeds: list[int],
    workers: int | None = None,
    progress: bool = True,
    on_pair: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides for every seed, as [replicate, metric, month, vendor]; same result for any worker count.

    `on_pair(done, total)` is called after each pair (a web page's progress bar); an
    exception it raises stops the work: pairs not yet started are cancelled.
    """
    return run_jobs([(baseline, variant, seed) for seed in seeds], workers, progress, on_pair)


def run_jobs(
    jobs: list[tuple[Scenario, Scenario, int]],
    workers: int | None = None,
    progress: bool = True,
    on_pair: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of every (baseline, variant, seed) job, as [job, metric, month, vendor], in job order."""
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    bar = tqdm(total=len(jobs), desc="paired runs", unit="pair", disable=not progress)

    def done(pair: tuple[np.ndarray, np.ndarray]) -> None:
        pairs.append(pair)
        bar.update()
        if on_pair is not None:
            on_pair(len(pairs), len(jobs))

    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    try:
        if workers == 1:
            for job in jobs:
                done(_pair(job))
        else:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [pool.submit(_pair, job) for job in jobs]
                try:
                    for future in futures:
                        done(future.result())
                finally:
                    for future in futures:
                        future.cancel()
    finally:
        bar.close()
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


@dataclass(frozen=True)
class Interval:
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def t_quantile(probability: float, dof):
    """Student's t quantile. scipy.stats is imported here, when an interval is computed: it
    takes longer to import than a small what-if takes to run, and the app loads this module
    at start."""
    from scipy import stats

    return stats.t.ppf(probability, dof)


def paired_interval(differences: np.ndarray, confidence: float) -> Interval:
    """Student-t interval of the mean paired difference over replicates (axis 0)."""
    n = differences.shape[0]
    mean = differences.mean(axis=0)
    half = t_quantile(0.5 + confidence / 2, n - 1) * differences.std(axis=0, ddof=1) / np.sqrt(n)
    return Interval(mean, mean - half, mean + half)


def unpaired_interval(baseline: np.ndarray, variant: np.ndarray, confidence: float) -> Interval:
    """Welch interval for the difference of means, as if the two sides had independent seeds."""
    n = baseline.shape[0]
    var_b, var_v = baseline.var(axis=0, ddof=1) / n, variant.var(axis=0, ddof=1) / n
    se = np.sqrt(var_b + var_v)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(se > 0, se**4 / (var_b**2 / (n - 1) + var_v**2 / (n - 1)), n - 1)
    half = t_quantile(0.5 + confidence / 2, np.maximum(dof, 1)) * se
    mean = variant.mean(axis=0) - baseline.mean(axis=0)
    return Interval(mean, mean - half, mean + half)


@dataclass(frozen=True)
class WhatIfResult:
    """The answer to a what-if: per vendor, metric and month, both sides and their paired difference."""

    baseline: Scenario
    variant: Scenario
    changes: list[str]
    seeds: list[int]
    confidence: float
    table: pd.DataFrame  # long: date, vendor, metric, baseline, whatif, difference, low, high, unpaired_low, ...
    samples: dict[str, np.ndarray]  # "baseline"/"whatif": [replicate, metric, month, vendor]
    versions: dict[str, str] = field(default_factory=versions)
    no_effect: list[str] = field(default_factory=list)  # why a change altered nothing, if it did not
    response: Response | None = None  # strategic vendors' re-optimised prices on both sides (--respond)

    @property
    def interval_label(self) -> str:
        return f"{round(100 * self.confidence)} % CI"

    @property
    def chart_interval_label(self) -> str:
        """What a chart says its band is: Monte Carlo noise of one parameter set, as every headline does."""
        return f"{self.interval_label} (Monte Carlo noise of one parameter set only)"

    @property
    def interval_note(self) -> str:
        return "Intervals: Student-t on the paired differences across replicates."

    @property
    def runs_label(self) -> str:
        return f"mean of {len(self.seeds)} paired replicates"

    @property
    def dates(self) -> list[str]:
        return list(dict.fromkeys(self.table["date"]))

    def at(self, date: str, metric: str | None = None) -> pd.DataFrame:
        """The table at one month (optionally one metric)."""
        rows = self.table[self.table["date"] == date]
        return rows if metric is None else rows[rows["metric"] == metric]

    def headlines(self, date: str | None = None, count: int = 4) -> list[str]:
        """Sentences for the largest share changes at `date` (default: the last month).

        A change that altered nothing is said so plainly instead: zero differences are not a finding.
        When vendors responded, who followed and how each response path ended come first.
        """
        responded = self.response.sentences() if self.response else []
        if self.no_effect:
            return [*responded, *self.no_effect]
        date = date or self.dates[-1]
        rows = self.at(date)
        rows = rows[rows["metric"].isin(SHARE_METRICS)].copy()
        rows["size"] = rows["difference"].abs()
        return responded + [
            sentence(row, date, self.confidence, self.baseline)
            for row in rows.sort_values("size", ascending=False).head(count).itertuples()
        ]


# A single parameter set's interval says nothing of what the public figures leave open:
# every headline says so, wherever it is read (terminal, whatif.md, the app).
NOISE_ONLY = "Monte Carlo noise of one parameter set only"


def sentence(row, date: str, confidence: float, scenario: Scenario) -> str:
    """'By Dec 2026 Alibaba Cloud's revenue share is 4.1 pp lower (90 % CI 3.3-4.9, Monte Carlo noise ...)'."""
    when = pd.Timestamp(f"{date}-01").strftime("%b %Y")
    name = scenario.vendors[row.vendor].name
    name += "'" if name.endswith("s") else "'s"
    metric = row.metric.replace("_", " ")
    diff, low, high = 100 * row.difference, 100 * row.low, 100 * row.high
    level = f"{round(100 * confidence)} % CI"
    if low <= 0 <= high:
        return (
            f"By {when} {name} {metric} shows no clear change: {diff:+.1f} pp "
            f"({level} {low:+.1f} to {high:+.1f}, {NOISE_ONLY}), from {100 * row.baseline:.1f} %."
        )
    direction = "higher" if diff > 0 else "lower"
    bounds = sorted([abs(low), abs(high)])
    return (
        f"By {when} {name} {metric} is {abs(diff):.1f} pp {direction} "
        f"({level} {bounds[0]:.1f}–{bounds[1]:.1f}, {NOISE_ONLY}): "
        f"{100 * row.whatif:.1f} % instead of {100 * row.baseline:.1f} %."
    )


def summarize(
    baseline: np.ndarray, variant: np.ndarray, dates: list[str], vendors: list[str], confidence: float
) -> pd.DataFrame:
    paired = paired_interval(variant - baseline, confidence)
    unpaired = unpaired_interval(baseline, variant, confidence)
    columns = {
        "baseline": baseline.mean(axis=0),
        "whatif": variant.mean(axis=0),
        "difference": paired.mean,
        "low": paired.low,
        "high": paired.high,
        "unpaired_low": unpaired.low,
        "unpaired_high": unpaired.high,
    }
    index = pd.MultiIndex.from_product([METRICS, dates, vendors], names=["metric", "date", "vendor"])
    table = pd.DataFrame({name: values.reshape(-1) for name, values in columns.items()}, index=index).reset_index()
    return table[["date", "vendor", "metric", *columns]]


def whatif(
    scenario: Scenario,
    changes: Changes,
    replicates: int | None = None,
    confidence: float = 0.9,
    workers: int | None = None,
    progress: bool = True,
    ensemble: str | Path | pd.DataFrame | None = None,
    sets: int | None = None,
    on_pair: Callable[[int, int], None] | None = None,
    respond: str | None = None,
    rounds: int = 6,
    on_round: Callable[[str], None] | None = None,
) -> WhatIfResult | EnsembleWhatIfResult:
    """Run the scenario and its changed copy as paired replicates; summarise the differences.

    With `ensemble` (a calibration folder, or its plausible sets as a table), the what-if
    runs under every plausible parameter set (or `sets` of them), `replicates` paired runs
    each (default 2), and the answer is the spread across sets with their agreement on the sign.

    Replicates run in worker processes started fresh (multiprocessing "spawn"), so a script
    that calls this must keep its top-level code under `if __name__ == "__main__":`, as
    with any Python process pool; notebooks need nothing. `workers=1` runs in-process.
    `on_pair(done, total)` reports progress; an exception it raises cancels the rest.

    With `respond` ("rivals" or "all") strategic vendors re-optimise their token price from the
    change's month on both sides, in at most `rounds` rounds of best responses (sim/whatif/respond.py);
    `on_round` hears each step of the response paths.
    """
    if ensemble is not None and respond is not None:
        from sim.whatif.respond import check_respond

        check_respond(scenario, changes, respond, ensemble=True)
    if ensemble is not None:
        from sim.whatif.ensemble import DEFAULT_ENSEMBLE_REPLICATES, read_ensemble

        source = "the ensemble" if isinstance(ensemble, pd.DataFrame) else str(ensemble)
        table = ensemble if isinstance(ensemble, pd.DataFrame) else read_ensemble(Path(ensemble))
        return ensemble_whatif(
            scenario, changes, table, source=source, sets=sets,
            replicates=replicates or DEFAULT_ENSEMBLE_REPLICATES, workers=workers, progress=progress,
            on_pair=on_pair,
        )  # fmt: skip
    replicates = replicates or DEFAULT_REPLICATES
    if not 2 <= replicates <= MAX_REPLICATES:
        raise ValueError(f"replicates must be from 2 (for a confidence interval) to {MAX_REPLICATES}")
    baseline, variant = parse_changes(scenario, changes)
    played, response = (baseline, variant), None
    if respond is not None:
        from sim.whatif.respond import respond as respond_to

        *played, response = respond_to(baseline, variant, changes, respond, rounds=rounds, progress=on_round)
    seeds = replicate_seeds(baseline, replicates)
    base_runs, variant_runs = run_pairs(*played, seeds, workers, progress, on_pair)
    labels = [month_at(baseline.start, i) for i in range(baseline.months)]
    table = summarize(base_runs, variant_runs, labels, list(baseline.vendors), confidence)
    unchanged = not changes.is_empty() and np.array_equal(base_runs, variant_runs)
    return WhatIfResult(
        baseline=baseline,
        variant=variant,
        changes=changes.descriptions(),
        seeds=seeds,
        confidence=confidence,
        table=table,
        samples={"baseline": base_runs, "whatif": variant_runs},
        no_effect=explain_no_effect(baseline, changes) if unchanged else [],
        response=response,
    )


def ensemble_whatif(
    scenario: Scenario,
    changes: Changes,
    ensemble: pd.DataFrame,
    *,
    source: str = "the ensemble",
    sets: int | None = None,
    replicates: int | None = None,
    workers: int | None = None,
    progress: bool = True,
    on_pair: Callable[[int, int], None] | None = None,
) -> EnsembleWhatIfResult:
    """Run the what-if under each plausible set with paired replicates (default 2 per set); summarise across sets.

    The ensemble module plans the runs and summarises them; the runs themselves are made
    here, and only their arrays pass back.
    """
    from sim.whatif.ensemble import DEFAULT_ENSEMBLE_REPLICATES, ensemble_result, plan_ensemble

    replicates = DEFAULT_ENSEMBLE_REPLICATES if replicates is None else replicates
    plan = plan_ensemble(scenario, changes, ensemble, source=source, sets=sets, replicates=replicates)
    base_runs, variant_runs = run_jobs(plan.jobs, workers, progress, on_pair)
    return ensemble_result(plan, changes, base_runs, variant_runs)
