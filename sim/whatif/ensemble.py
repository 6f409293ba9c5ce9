"""What-ifs over a calibration's plausible parameter sets: answers that carry parameter uncertainty.

A single parameter set answers a what-if with Monte Carlo noise only, however little the
public figures pin that set down. Here every plausible set of a calibration
(`sim calibrate`) runs the what-if with paired replicates (common random numbers); each
set's effect is the mean of its paired differences, and the answer is the spread of the
effects across sets: the median, the 5-95 % range, and how many sets agree on the sign.
When fewer than `DECIDED` of the sets agree, the headline says the figures do not decide it.

This module runs nothing: it plans the paired runs (`plan_ensemble`, plain scenarios and
seeds) and summarises their outcomes (`ensemble_result`, plain arrays); the runner in
analysis.py (`ensemble_whatif`) passes one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.provenance import versions
from sim.scenario.calendar import month_at
from sim.scenario.loading import Problem, ScenarioError, scenario_from_dict
from sim.scenario.schema import Scenario
from sim.sweep.models import assignment
from sim.whatif.changes import METRICS, SHARE_METRICS, Changes, explain_no_effect, parse_changes

SET_PREFIX = "set."
UNIT_PREFIX = "unit."
DECIDED = 0.9  # share of sets that must agree on a sign before a headline calls it
DRAWS = "draws"  # how many of a what-if's draws from the posterior fell on a set
MIN_EFFECTIVE_SETS = 20  # posterior weights resting on fewer effective sets than this are not used
DEFAULT_ENSEMBLE_REPLICATES = 2
RANGE = 0.9


@dataclass(frozen=True)
class EnsembleWhatIfResult:
    """The what-if over plausible sets: per vendor, metric and month, the spread of the sets' effects."""

    baseline: Scenario
    variant: Scenario
    changes: list[str]
    seeds: list[int]
    sets: pd.DataFrame  # the plausible sets used: `set` and the scenario paths each sets
    source: str
    table: pd.DataFrame  # long: date, vendor, metric, baseline, whatif, difference, low, high, agree, higher, ...
    samples: dict[str, np.ndarray]  # "baseline"/"whatif": [set, metric, month, vendor], each set's mean
    confidence: float = RANGE
    versions: dict[str, str] = field(default_factory=versions)
    no_effect: list[str] = field(default_factory=list)  # why a change altered nothing in any set, if it did not
    weighting: str = "equal weights (the calibration gave none)"  # how the sets were weighed, and why

    @property
    def dates(self) -> list[str]:
        return list(dict.fromkeys(self.table["date"]))

    @property
    def interval_label(self) -> str:
        return f"{round(100 * self.confidence)} % range over sets"

    @property
    def chart_interval_label(self) -> str:
        return f"{self.interval_label} ({len(self.sets)} plausible sets)"

    @property
    def interval_note(self) -> str:
        return (
            f"Ranges: {round(100 * self.confidence)} % of the {len(self.sets)} plausible parameter sets "
            f"of {self.source} "
            f"(each set's effect is the mean of {len(self.seeds)} paired replicates); the difference is their median. "
            f"Sets weighed by {self.weighting}."
        )

    @property
    def runs_label(self) -> str:
        return f"median over {len(self.sets)} plausible sets, {len(self.seeds)} paired replicates each"

    def at(self, date: str, metric: str | None = None) -> pd.DataFrame:
        rows = self.table[self.table["date"] == date]
        return rows if metric is None else rows[rows["metric"] == metric]

    def headlines(self, date: str | None = None, count: int = 4) -> list[str]:
        """Sentences for the largest share changes at `date`, each with the sets' agreement on its sign.

        A change that altered nothing in any set is said so plainly, with what absorbed it.
        """
        if self.no_effect:
            return list(self.no_effect)
        date = date or self.dates[-1]
        rows = self.at(date)
        rows = rows[rows["metric"].isin(SHARE_METRICS)].copy()
        rows["size"] = rows["difference"].abs()
        ranked = rows.sort_values(["size", "vendor", "metric"], ascending=[False, True, True]).head(count)
        sentences = [
            ensemble_sentence(row, date, self.baseline, self.confidence) + size_clause(self.decides(date, row))
            for row in ranked.itertuples()
        ]
        return [*sentences, f"Sets weighed by {self.weighting}."]

    def decides(self, date: str, row) -> tuple[str, float] | None:
        """The free parameter whose value ranks the sets' effects most closely, with its rank correlation.

        Spearman's correlation across sets between each parameter and the set's effect on this
        vendor, metric and month: the parameter a researcher would pin first to narrow the answer.
        None when the effect or every parameter is the same in all sets.
        """
        if row.zero == row.sets:
            return None
        names = parameter_names(self.sets)
        where = (METRICS.index(row.metric), self.dates.index(date), list(self.baseline.vendors).index(row.vendor))
        effects = self.samples["whatif"][(slice(None), *where)] - self.samples["baseline"][(slice(None), *where)]
        return strongest_rank_correlation(self.sets[names], effects)


MOVES_WITH = 0.3  # a rank correlation below this does not single out a parameter


def strongest_rank_correlation(values: pd.DataFrame, effects: np.ndarray) -> tuple[str, float] | None:
    """The column of `values` most rank-correlated with `effects` (Spearman), or None if none varies."""
    from scipy import stats

    if len(effects) < 3 or np.ptp(effects) == 0:
        return None
    found = []
    for name in values.columns:
        column = values[name].to_numpy(dtype=float)
        if np.ptp(column) > 0:
            found.append((str(name), float(stats.spearmanr(column, effects).statistic)))
    return max(found, key=lambda pair: (abs(pair[1]), pair[0])) if found else None


def size_clause(decides: tuple[str, float] | None) -> str:
    """' Its size moves most with X (rank correlation -0.62 across sets).', or that no parameter stands out."""
    if decides is None:
        return ""
    name, rho = decides
    if abs(rho) < MOVES_WITH:
        return f" No single free parameter decides its size (the strongest, {name}, has rank correlation {rho:+.2f})."
    return f" Its size moves most with {name} (rank correlation {rho:+.2f} across sets)."


def ensemble_sentence(row, date: str, scenario: Scenario, level: float) -> str:
    """'In 41 of 50 plausible parameter sets ... is lower by Dec 2026: median -3.1 pp (90 % range ...).'"""
    when = pd.Timestamp(f"{date}-01").strftime("%b %Y")
    name = scenario.vendors[row.vendor].name
    name += "'" if name.endswith("s") else "'s"
    metric = row.metric.replace("_", " ")
    if row.zero == row.sets:
        return f"By {when} {name} {metric} is exactly unchanged in all {row.sets} plausible parameter sets."
    spread = f"{round(100 * level)} % range {100 * row.low:+.1f} to {100 * row.high:+.1f} pp"
    if row.difference == 0:
        text = (
            f"By {when} {name} {metric} is unchanged in {row.zero} of {row.sets} plausible parameter sets, "
            f"higher in {row.higher} and lower in {row.lower} ({spread})."
        )
        return text + (" The public figures do not decide whether it changes." if row.zero < DECIDED * row.sets else "")
    direction = "higher" if row.difference > 0 else "lower" if row.difference < 0 else "unchanged"
    share = getattr(row, "agree_weight", row.agree / row.sets)
    weighted = abs(share - row.agree / row.sets) > 1e-9
    sets = f"{row.agree} of {row.sets} plausible parameter sets" + (
        f" ({100 * share:.0f} % of the posterior weight)" if weighted else ""
    )
    text = (
        f"In {sets} {name} {metric} is {direction} by {when}: "
        f"median {100 * row.difference:+.1f} pp ({round(100 * level)} % range {100 * row.low:+.1f} to "
        f"{100 * row.high:+.1f})."
    )
    if share >= DECIDED - 1e-12:
        return text
    opposite = row.higher if row.difference < 0 else row.lower
    if opposite == 0:
        return text + f" It is unchanged in the other {row.zero}: the public figures do not decide whether it changes."
    return text + " The public figures do not decide the sign."


def parameter_names(sets: pd.DataFrame) -> list[str]:
    """The calibration's parameters in a table of plausible sets: the names with unit coordinates.

    A table without them (plausible sets given by hand) has only the scenario paths it sets,
    which then stand for the parameters.
    """
    named = [str(c)[len(UNIT_PREFIX) :] for c in sets.columns if str(c).startswith(UNIT_PREFIX)]
    named = [name for name in named if name in sets.columns]
    return named or [str(c) for c in sets.columns if str(c).startswith(SET_PREFIX)]


def set_results(result: EnsembleWhatIfResult) -> pd.DataFrame:
    """Each set's outcome on both sides, one row per set, metric, month and vendor, with its parameters.

    What `sim discover` reads (sets.parquet in the what-if's folder): the effect in each set,
    beside the calibration parameters that set holds, so that one can ask where the effect happens.
    """
    base, variant = result.samples["baseline"], result.samples["whatif"]
    _, metrics, months, vendors = base.shape
    index = pd.MultiIndex.from_product(
        [result.sets["set"].astype(int).tolist(), METRICS[:metrics], result.dates[:months],
         list(result.baseline.vendors)[:vendors]],
        names=["set", "metric", "date", "vendor"],
    )  # fmt: skip
    table = pd.DataFrame({"baseline": base.reshape(-1), "whatif": variant.reshape(-1)}, index=index).reset_index()
    names = parameter_names(result.sets)
    values = result.sets[["set", *names]].copy()
    values["set"] = values["set"].astype(int)
    return values.merge(table, on="set", how="right")[["set", *names, "date", "vendor", "metric", "baseline", "whatif"]]


def choose_sets(ensemble: pd.DataFrame, count: int | None) -> pd.DataFrame:
    """`count` sets: drawn from the posterior when its weights are usable, else spread evenly.

    With posterior weights resting on at least MIN_EFFECTIVE_SETS effective sets, and at least
    that many draws asked for (fewer could all fall on one set), `count` draws are taken by
    systematic resampling (deterministic: evenly spaced points on the cumulative weights), so
    the chosen sets are a sample of the posterior; a set drawn several times is run once and
    counts as often (its `draws`). Otherwise the sets are
    spread evenly over the ensemble and weighed later by `set_weights`.
    """
    if count is None or count >= len(ensemble):
        return ensemble.reset_index(drop=True)
    weights = usable_weights(ensemble) if count >= MIN_EFFECTIVE_SETS else None
    if weights is not None:
        positions = (np.arange(count) + 0.5) / count
        picks = np.minimum(np.searchsorted(np.cumsum(weights), positions), len(ensemble) - 1)
        unique, draws = np.unique(picks, return_counts=True)
        chosen = ensemble.iloc[unique].reset_index(drop=True)
        chosen[DRAWS] = draws
        chosen["weight"] = draws / count
        return chosen
    picks = np.unique(np.linspace(0, len(ensemble) - 1, count).round().astype(int))
    return ensemble.iloc[picks].reset_index(drop=True)


def usable_weights(sets: pd.DataFrame) -> np.ndarray | None:
    """The sets' normalised posterior weights, or None when there are none or they rest on too few sets."""
    if "weight" not in sets or not sets["weight"].sum() > 0:
        return None
    weights = sets["weight"].to_numpy(dtype=float)
    weights = weights / weights.sum()
    return weights if 1.0 / float(np.sum(weights**2)) >= MIN_EFFECTIVE_SETS else None


def set_assignments(row: pd.Series) -> list[str]:
    """One plausible set's values as `path=value` assignments."""
    return [assignment(column[len(SET_PREFIX) :], float(row[column])) for column in row.index
            if str(column).startswith(SET_PREFIX)]  # fmt: skip


def set_scenario(scenario: Scenario, row: pd.Series, source: str) -> Scenario:
    """The scenario with one plausible set's values written into its paths."""
    try:
        return scenario_from_dict(scenario.model_dump(), set_assignments(row))
    except ScenarioError as error:
        reasons = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
        raise ScenarioError(
            [Problem("--ensemble", source, f"set {int(row['set'])} does not fit this scenario: {reasons}")]
        ) from None


@dataclass(frozen=True)
class EnsemblePlan:
    """What an ensemble what-if runs: the chosen sets, each set's two sides, and the seeds of its replicates."""

    sets: pd.DataFrame
    pairs: list[tuple[Scenario, Scenario]]
    seeds: list[int]
    source: str

    @property
    def jobs(self) -> list[tuple[Scenario, Scenario, int]]:
        """(baseline, variant, seed) per set and replicate, set by set."""
        return [(base, variant, seed) for base, variant in self.pairs for seed in self.seeds]


def plan_ensemble(
    scenario: Scenario,
    changes: Changes,
    ensemble: pd.DataFrame,
    *,
    source: str = "the ensemble",
    sets: int | None = None,
    replicates: int = DEFAULT_ENSEMBLE_REPLICATES,
) -> EnsemblePlan:
    """Both sides of the what-if under each chosen plausible set, and the replicates' seeds."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    chosen = choose_sets(ensemble, sets)
    if chosen.empty:
        raise ScenarioError([Problem("--ensemble", source, "the calibration found no plausible set")])
    pairs = [
        parse_changes(set_scenario(scenario, row, source), changes, set_assignments(row))
        for _, row in chosen.iterrows()
    ]
    first = pairs[0][0]
    return EnsemblePlan(chosen, pairs, [first.seed + r for r in range(replicates)], source)


def ensemble_result(
    plan: EnsemblePlan, changes: Changes, base_runs: np.ndarray, variant_runs: np.ndarray
) -> EnsembleWhatIfResult:
    """The answer across sets from the plan's runs, [job, metric, month, vendor] in the order of `plan.jobs`."""
    replicates = len(plan.seeds)
    shape = (len(plan.pairs), replicates, *base_runs.shape[1:])
    base_means = base_runs.reshape(shape).mean(axis=1)
    variant_means = variant_runs.reshape(shape).mean(axis=1)
    first = plan.pairs[0][0]
    labels = [month_at(first.start, i) for i in range(first.months)]
    weights, weighting = set_weights(plan.sets)
    table = summarize_sets(base_means, variant_means, labels, list(first.vendors), RANGE, weights)
    unchanged = not changes.is_empty() and np.array_equal(base_runs, variant_runs)
    runs = f"every replicate in all {len(plan.pairs)} plausible parameter sets"
    return EnsembleWhatIfResult(
        baseline=first,
        variant=plan.pairs[0][1],
        changes=changes.descriptions(),
        seeds=plan.seeds,
        sets=plan.sets,
        source=plan.source,
        table=table,
        samples={"baseline": base_means, "whatif": variant_means},
        no_effect=explain_no_effect(first, changes, runs) if unchanged else [],
        weighting=weighting,
    )


def set_weights(chosen: pd.DataFrame) -> tuple[np.ndarray | None, str]:
    """The chosen sets' posterior weights, or None (equal weights) when they rest on too few sets.

    Importance weights concentrated on a handful of sets would make one or two runs decide
    every headline; below MIN_EFFECTIVE_SETS effective sets the sets count equally, and the
    answer says so.
    """
    if "weight" not in chosen or not chosen["weight"].sum() > 0:
        return None, "equal weights (the calibration gave none)"
    if DRAWS in chosen:
        draws = chosen[DRAWS].to_numpy(dtype=float)
        return draws / draws.sum(), (
            f"how often each was drawn: {int(draws.sum())} draws from the posterior in proportion to its "
            f"weights, {len(draws)} distinct sets"
        )
    weights = chosen["weight"].to_numpy(dtype=float)
    weights = weights / weights.sum()
    effective = 1.0 / float(np.sum(weights**2))
    if effective < MIN_EFFECTIVE_SETS:
        return None, (
            f"equal weights: their posterior weights rest on {effective:.1f} effective sets, fewer than "
            f"{MIN_EFFECTIVE_SETS}, so a handful of sets would decide every answer"
        )
    return weights, f"their posterior weights ({effective:.0f} effective sets)"


def summarize_sets(
    baseline: np.ndarray,
    variant: np.ndarray,
    dates: list[str],
    vendors: list[str],
    level: float,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Across sets: the median effect, its range, and how many sets share the median's sign.

    With the posterior's `weights` (one per set) the median, the range and the agreeing share
    (`agree_weight`) are weighted; the counts stay counts of sets.
    """
    effects = variant - baseline
    w = np.full(effects.shape[0], 1.0 / effects.shape[0]) if weights is None else weights / np.sum(weights)
    median, low, high = weighted_quantiles_along_sets(effects, w, [0.5, (1 - level) / 2, (1 + level) / 2])
    sign = np.sign(median)
    agreeing = np.sign(effects) == sign
    columns = {
        "baseline": np.tensordot(w, baseline, axes=1),
        "whatif": np.tensordot(w, variant, axes=1),
        "difference": median,
        "low": low,
        "high": high,
        "agree": agreeing.sum(axis=0),
        "agree_weight": np.tensordot(w, agreeing.astype(float), axes=1),
        "higher": (effects > 0).sum(axis=0),
        "lower": (effects < 0).sum(axis=0),
        "zero": (effects == 0).sum(axis=0),
        "sets": np.full(median.shape, effects.shape[0]),
    }
    index = pd.MultiIndex.from_product([METRICS, dates, vendors], names=["metric", "date", "vendor"])
    table = pd.DataFrame({name: values.reshape(-1) for name, values in columns.items()}, index=index).reset_index()
    return table[["date", "vendor", "metric", *columns]]


def weighted_quantiles_along_sets(effects: np.ndarray, weights: np.ndarray, levels: list[float]) -> list[np.ndarray]:
    """Quantiles across sets (axis 0) of a weighted sample, cell by cell.

    With equal weights this is numpy's linear-interpolation quantile, so unweighted
    ensembles give the answers they always gave; otherwise the weighted empirical quantile.
    """
    if np.allclose(weights, weights[0]):
        return [np.quantile(effects, level, axis=0) for level in levels]
    order = np.argsort(effects, axis=0, kind="stable")
    ranked = np.take_along_axis(effects, order, axis=0)
    cumulative = np.cumsum(weights[order], axis=0)
    out = []
    for level in levels:
        index = np.minimum((cumulative < level - 1e-12).sum(axis=0), effects.shape[0] - 1)
        out.append(np.take_along_axis(ranked, index[None, ...], axis=0)[0])
    return out


def read_ensemble(folder: Path) -> pd.DataFrame:
    """A calibration folder's plausible sets; a folder that is not one is an error naming it."""
    path = folder / "ensemble.parquet"
    if not path.is_file() or not (folder / "calibration.json").is_file():
        raise ScenarioError(
            [Problem("--ensemble", str(folder), "not a finished calibration folder (run `sim calibrate` first)")]
        )
    try:
        sets = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises its own errors for a truncated, empty or foreign file
        raise ScenarioError(
            [Problem("--ensemble", str(path), f"not a readable Parquet file ({type(error).__name__}): "
                     "it may be truncated or corrupt; run `sim calibrate` again")]
        ) from None  # fmt: skip
    for column in sets.columns:
        if str(column).startswith(SET_PREFIX) and not pd.api.types.is_numeric_dtype(sets[column]):
            raise ScenarioError(
                [Problem("--ensemble", str(path), f"column {str(column)[:80]!r} holds {sets[column].dtype} values, "
                         "not numbers: not an ensemble `sim calibrate` wrote")]
            )  # fmt: skip
    return sets
