"""The search: space-filling points, an optimiser, then history matching in rounds.

1. **Initial**: a scrambled Sobol' sample of the box (scipy.stats.qmc), plus the base
   scenario's own values when they lie inside the bounds.
2. **Search**: optuna's TPE sampler, warm-started with every initial point, proposes
   candidates in batches; it minimises the method-of-simulated-moments distance (the
   weighted sum of squared scaled misses of the fitted figures, each averaged over the
   calibration's seeds: common random numbers across candidates).
3. **Refocusing rounds** (history matching without an emulator): each round draws
   candidates round the sets found plausible so far (every fitted figure within `cutoff`
   tolerances) with the ABC-SMC kernel, twice their covariance, truncated to the box, so
   the search spreads to the edges of the plausible region, not only towards the best
   point. How often a round's candidates are plausible tells whether the edges were found
   (`acceptance`). Each stage's density is known exactly, so `posterior.py` can weigh every
   candidate by prior over proposal.
4. **Posterior rounds** (population Monte Carlo with tempering, `posterior.py`): each round
   draws round the weighted posterior so far, tempered while too few candidates carry it,
   so the weighted sample's effective size grows where the figures point.

The ensemble is the plausible sets of the initial sample and both kinds of rounds; the optimiser's
candidates crowd round the best point, so they count for the best set only. Every
candidate's runs go through the sweep runner (Dask) and its store, keyed by the resolved
scenario and seed: a calibration killed at any moment and started again proposes the same
candidates (every sampler is seeded), finds their runs stored, and ends with the same result.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.stats import qmc

from sim.calibrate.moments import MISS, SIMULATED, MomentModel
from sim.calibrate.posterior import POSTERIOR_STAGE, ROUND_STAGE, next_posterior_proposal
from sim.calibrate.proposals import UNIT, round_proposal
from sim.calibrate.spec import Calibration
from sim.scenario.calendar import month_index
from sim.scenario.loading import ScenarioError
from sim.sweep.plan import PlannedRun, run_key
from sim.sweep.runner import execute
from sim.sweep.store import RunStore

if TYPE_CHECKING:
    from distributed import Client

FAILED_DISTANCE = 1e12  # told to the optimiser for a candidate that could not run
Z = "z."
SIM = "sim."
SET = "set."
GROWTH = 0.1  # a plausible range that widened this much in the last round has not found its edges


@dataclass(frozen=True)
class RoundWork:
    """One batch of candidates in the form the sweep runner evaluates (see sim.sweep.plan.Work)."""

    name: str
    model: MomentModel
    calibration: Calibration
    points: list[dict[str, float]]
    outcomes: None = None

    @property
    def model_version(self) -> str:
        return self.model.version

    def prepared(self, point: int) -> Any:
        return self.model.prepare(self.calibration.base, self.points[point])


@dataclass
class Timing:
    """Where the time went: wall time of the evaluations, and the model's own time in them."""

    wall_s: float = 0.0
    model_s: float = 0.0
    runs: int = 0
    reused: int = 0


class Evaluator:
    """Evaluates candidates (unit coordinates) and returns one row per candidate."""

    def __init__(self, calibration: Calibration, client: Client, store: RunStore, progress: bool) -> None:
        self.calibration = calibration
        self.client, self.store, self.progress = client, store, progress
        self.model = MomentModel(calibration.model, calibration.targets, calibration.targets_digest())
        self.timing = Timing()
        self.count = 0
        self._tables: dict[Path, pd.DataFrame] = {}
        self.moments: list[str] | None = None  # names, in the order the targets give them
        self.ends: dict[str, str] = {}
        self.targets_of: dict[str, str] = {}
        self.public: dict[str, float] = {}

    def __call__(self, units: np.ndarray, stage: str) -> pd.DataFrame:
        values = [self.calibration.values(list(u)) for u in units]
        points = [self.calibration.assignments(v) for v in values]
        work = RoundWork(f"{self.calibration.name}: {stage}", self.model, self.calibration, points)
        planned, invalid = self._plan(work)
        done = self.store.index(False).done
        todo = list({p.key: p for p in planned if p.key not in done}.values())
        began = time.perf_counter()
        if todo:
            execute(self.client, work, todo, self.store, self.model.batch_size, self.progress, len(todo))
        self.timing.wall_s += time.perf_counter() - began
        self.timing.reused += len(planned) - len(todo)
        rows = self._rows(units, values, points, planned, invalid, stage, {p.key for p in todo})
        self.count += len(units)
        return rows

    def _plan(self, work: RoundWork) -> tuple[list[PlannedRun], set[int]]:
        seeds, planned, invalid = self.calibration.spec.seeds, [], set()
        for point in range(len(work.points)):
            try:
                fingerprint = self.model.fingerprint(work.prepared(point))
            except ScenarioError:  # two parameters together can break a scenario rule
                invalid.add(point)
                continue
            for replicate, seed in enumerate(seeds):
                key = run_key(self.model.name, self.model.version, fingerprint, seed, "")
                planned.append(PlannedRun(point, replicate, seed, key))
        return planned, invalid

    def _rows(
        self,
        units: np.ndarray,
        values: list[dict[str, float]],
        points: list[dict[str, float]],
        planned: list[PlannedRun],
        invalid: set[int],
        stage: str,
        executed: set[str],
    ) -> pd.DataFrame:
        outcomes = self._outcomes([p.key for p in planned])
        self.timing.model_s += sum(float(outcomes[k].attrs.get("elapsed_s", 0.0)) for k in executed if k in outcomes)
        rows = []
        for point, unit in enumerate(units):
            row: dict[str, Any] = {"candidate": self.count + point, "stage": stage}
            row.update({f"{UNIT}{name}": float(u) for name, u in zip(self.calibration.names, unit, strict=True)})
            row.update(values[point])
            row.update({f"{SET}{path}": value for path, value in points[point].items()})
            keys = [p.key for p in planned if p.point == point]
            found = [outcomes[k] for k in keys if k in outcomes]
            row["ok"] = point not in invalid and len(found) == len(keys) and bool(keys)
            if row["ok"]:
                row.update(self._moments(found))
            rows.append(row)
        self.timing.runs += len(executed)
        return pd.DataFrame(rows)

    def _moments(self, runs: list[pd.DataFrame]) -> dict[str, float]:
        """Each moment's scaled miss and simulated value, averaged over the seeds."""
        frame = pd.concat(runs)
        if self.moments is None:
            first = runs[0]
            self.moments = list(dict.fromkeys(first["outcome"]))
            public = first[first["metric"] == "public"].set_index("outcome")
            self.ends = public["period"].to_dict()
            self.targets_of = public["label"].to_dict()
            self.public = public["value"].to_dict()
        means = frame.groupby(["outcome", "metric"], sort=False)["value"].mean()
        out = {}
        for name in self.moments:
            out[f"{Z}{name}"] = float(means.get((name, MISS), math.nan))
            out[f"{SIM}{name}"] = float(means.get((name, SIMULATED), math.nan))
        return out

    def _outcomes(self, keys: list[str]) -> dict[str, pd.DataFrame]:
        """Each stored run's outcome rows, by key (batch files are read once and kept)."""
        index = self.store.index(False)
        wanted: dict[Path, set[str]] = {}
        for key in keys:
            if key in index.done:
                wanted.setdefault(index.done[key].file, set()).add(key)
        found = {}
        for file, file_keys in wanted.items():
            if file not in self._tables:
                self._tables[file] = pq.read_table(file).to_pandas()
            table = self._tables[file]
            elapsed = {key: index.done[key].elapsed_s for key in file_keys}
            for key, rows in table[table["key"].isin(file_keys)].groupby("key"):
                rows.attrs["elapsed_s"] = elapsed[key]
                found[key] = rows
        return found

    # --- what is fitted -----------------------------------------------------------------------

    def fitted(self) -> list[str]:
        """The moments the distance uses: all, or those whose data ends by `until`."""
        until = self.calibration.until
        names = self.moments or []
        if until is None:
            return list(names)
        return [n for n in names if not self.ends.get(n) or month_index(self.ends[n], until) >= 0]

    def figures(self) -> dict[str, float]:
        """Each fitted figure's scaled-miss column and its weight in the distance."""
        return {f"{Z}{name}": weight for name, weight in self.weights().items()}

    def weights(self) -> dict[str, float]:
        given = self.calibration.spec.targets.weights
        return {name: float(given.get(self.targets_of.get(name, ""), 1.0)) for name in self.fitted()}


def score(rows: pd.DataFrame, evaluator: Evaluator, cutoff: float) -> pd.DataFrame:
    """Distance (weighted sum of squared misses) and implausibility (largest |miss|) of fitted figures."""
    rows = rows.copy()
    weights = evaluator.weights()
    if not weights:
        rows["distance"], rows["implausibility"], rows["plausible"] = math.inf, math.inf, False
        return rows
    misses = rows.reindex(columns=[f"{Z}{name}" for name in weights]).to_numpy(dtype=float)
    w = np.array(list(weights.values()))
    with np.errstate(invalid="ignore"):
        distance = np.nansum(w * misses**2, axis=1)
        implausibility = np.nanmax(np.abs(misses), axis=1) if misses.shape[0] else np.zeros(0)
    ok = rows["ok"].to_numpy(dtype=bool) & np.isfinite(misses).all(axis=1)
    rows["distance"] = np.where(ok, distance, math.inf)
    rows["implausibility"] = np.where(ok, implausibility, math.inf)
    rows["plausible"] = rows["implausibility"] <= cutoff
    return rows


# --- the stages -------------------------------------------------------------------------------------


def initial_points(calibration: Calibration) -> np.ndarray:
    """A scrambled Sobol' sample of the box, after the base's own values when they lie inside."""
    spec = calibration.spec.search
    sampler = qmc.Sobol(d=len(calibration.parameters), scramble=True, seed=spec.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "balance properties" when n is not a power of 2
        sample = sampler.random(spec.initial)
    base = base_point(calibration)
    return sample if base is None else np.vstack([base, sample])


def base_point(calibration: Calibration) -> np.ndarray | None:
    """The base scenario's values in unit coordinates (multiply-mode parameters at 1), if inside."""
    if calibration.base is None:
        return None
    unit = []
    for parameter in calibration.parameters:
        if parameter.spec.mode == "multiply":
            value = 1.0
        elif len(set(parameter.base_values)) == 1:
            value = parameter.base_values[0]
        else:
            return None
        if not parameter.spec.low <= value <= parameter.spec.high:
            return None
        unit.append(parameter.spec.unit(value))
    return np.array([unit])


def optimise(evaluator: Evaluator, history: pd.DataFrame, cutoff: float) -> list[pd.DataFrame]:
    """optuna's TPE, warm-started with what is known, in batches of `search.batch` candidates."""
    import optuna

    spec = evaluator.calibration.spec.search
    names = [f"u{i}" for i in range(len(evaluator.calibration.parameters))]
    space = {name: optuna.distributions.FloatDistribution(0.0, 1.0) for name in names}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=spec.seed, multivariate=True, n_startup_trials=0)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    units = history[[f"{UNIT}{n}" for n in evaluator.calibration.names]].to_numpy()
    for unit, distance in zip(units, history["distance"], strict=True):
        value = float(distance) if math.isfinite(distance) else FAILED_DISTANCE
        study.add_trial(optuna.trial.create_trial(params=dict(zip(names, unit, strict=True)), distributions=space,
                                                  value=value))  # fmt: skip
    found, remaining = [], spec.budget
    while remaining > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trials = [study.ask(space) for _ in range(min(spec.batch, remaining))]
        batch = np.array([[trial.params[n] for n in names] for trial in trials])
        rows = score(evaluator(batch, "search"), evaluator, cutoff)
        for trial, distance in zip(trials, rows["distance"], strict=True):
            study.tell(trial, float(distance) if math.isfinite(distance) else FAILED_DISTANCE)
        found.append(rows)
        remaining -= len(trials)
    return found


def refocus(evaluator: Evaluator, history: pd.DataFrame, cutoff: float, round_number: int) -> pd.DataFrame:
    """One round of history matching: draw from a kernel density of the plausible sets so far."""
    calibration = evaluator.calibration
    rng = np.random.default_rng([calibration.spec.search.seed, round_number])
    draws = round_proposal(history, calibration).draw(calibration.spec.ensemble.per_round, rng)
    return score(evaluator(draws, f"{ROUND_STAGE} {round_number}"), evaluator, cutoff)


def sample_posterior(evaluator: Evaluator, history: pd.DataFrame, cutoff: float, round_number: int) -> pd.DataFrame:
    """One posterior round: draw from a weighted kernel density of the posterior so far."""
    calibration = evaluator.calibration
    rng = np.random.default_rng([calibration.spec.search.seed, POSTERIOR_SEED, round_number])
    proposal = next_posterior_proposal(history, calibration, evaluator.figures())
    draws = proposal.draw(calibration.spec.ensemble.per_round, rng)
    return score(evaluator(draws, f"{POSTERIOR_STAGE} {round_number}"), evaluator, cutoff)


def search(evaluator: Evaluator) -> pd.DataFrame:
    """Every stage in turn; one row per candidate, in the order they were proposed."""
    spec = evaluator.calibration.spec.ensemble
    cutoff = spec.cutoff
    initial = score(evaluator(initial_points(evaluator.calibration), "initial"), evaluator, cutoff)
    initial.loc[initial.index[0], "stage"] = "base" if base_point(evaluator.calibration) is not None else "initial"
    frames = [initial]
    frames += optimise(evaluator, pd.concat(frames, ignore_index=True), cutoff)
    for number in range(1, spec.rounds + 1):
        frames.append(refocus(evaluator, pd.concat(frames, ignore_index=True), cutoff, number))
    for number in range(1, spec.posterior_rounds + 1):
        frames.append(sample_posterior(evaluator, pd.concat(frames, ignore_index=True), cutoff, number))
    return pd.concat(frames, ignore_index=True)


ENSEMBLE_STAGES = ("base", "initial")
POSTERIOR_SEED = 1009  # keeps the posterior rounds' draws apart from the refocusing rounds'


def acceptance(evaluations: pd.DataFrame) -> dict[str, float]:
    """The share of plausible candidates in each stage, in order."""
    return {str(k): float(v) for k, v in evaluations.groupby("stage", sort=False)["plausible"].mean().items()}


def still_growing(evaluations: pd.DataFrame, names: list[str]) -> list[str]:
    """Parameters whose plausible range still widened in the last round: their edges were not found.

    The range is the 5-95 % span of the ensemble in unit coordinates, with and without the
    last round's sets; a widening of more than GROWTH (relative, and 0.02 absolute) counts.
    """
    evaluations = evaluations[~evaluations["stage"].astype(str).str.startswith(POSTERIOR_STAGE)]
    stages = [str(s) for s in dict.fromkeys(evaluations["stage"])]
    rounds = [s for s in stages if s.startswith(ROUND_STAGE)]
    if not rounds:
        return []
    before = ensemble(evaluations[evaluations["stage"] != rounds[-1]])
    after = ensemble(evaluations)
    if len(before) < 2:
        return list(names) if len(after) >= 2 else []
    growing = []
    for name in names:
        column = f"{UNIT}{name}"
        old = float(np.subtract(*np.quantile(before[column], [0.95, 0.05])))
        new = float(np.subtract(*np.quantile(after[column], [0.95, 0.05])))
        if new - old > max(GROWTH * old, 0.02):
            growing.append(name)
    return growing


def ensemble(evaluations: pd.DataFrame) -> pd.DataFrame:
    """The plausible sets of the space-filling and refocusing stages, numbered `set` 0, 1, ..."""
    stage = evaluations["stage"]
    eligible = stage.isin(ENSEMBLE_STAGES) | stage.str.startswith(ROUND_STAGE) | stage.str.startswith(POSTERIOR_STAGE)
    chosen = evaluations[eligible & evaluations["plausible"]].reset_index(drop=True)
    chosen.insert(0, "set", range(len(chosen)))
    return chosen
