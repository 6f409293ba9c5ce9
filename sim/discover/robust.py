"""Robust policies: candidate policies for one vendor, each run under every plausible parameter set.

The policy best on average may fail badly in some of the futures the public figures allow.
Robust decision making (Lempert et al. 2003) asks instead which policy does acceptably well
across them all. A policies file names one vendor, a few candidate policies (scenario
overrides on that vendor's fields, and events for it: price paths, capex paces), a
calibration's plausible sets and the criteria, each a threshold on an outcome in the
condition grammar (`revenue[volcano]@2026-01..2026-12 >= 8e9`: more is better, at least
this is acceptable). Every policy runs under every set with the same seeds (common random
numbers), on the sweep runner (Dask) and its store: resumable after any interruption, with
a progress bar. Per policy and criterion the report gives, across the sets:

  median       the typical value
  worst tenth  the 10th percentile on the unfavourable side (90th for less-is-better)
  regret       in each set, how far the policy falls short of the best policy in that set;
               its median and its largest (minimax regret picks the smallest largest)
  satisficing  the share of sets in which the policy meets the threshold
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.discover.conditions import TOTAL, Clause, additive, parse_condition
from sim.discover.policies import PolicySpec, Robust, RobustResult, RobustSpec
from sim.provenance import scenario_hash, versions
from sim.record.trajectories import VENDOR_COLUMNS
from sim.report.files import write_json
from sim.report.folders import folder_lock, kept_if_refused
from sim.report.outputs import OutputConflict
from sim.scenario.calendar import month_at, month_index
from sim.scenario.loading import (
    FileFields,
    ScenarioError,
    load_scenario,
    read_yaml_mapping,
    scenario_from_dict,
)
from sim.scenario.schema import Scenario
from sim.sweep.models import MarketModel, Model, assignment
from sim.sweep.outcomes import OutcomeSpec, Period
from sim.sweep.plan import PlannedRun, run_key
from sim.sweep.runner import connect, execute, kept_in_store
from sim.sweep.store import RunStore, json_safe
from sim.whatif.ensemble import choose_sets, read_ensemble, set_scenario

if TYPE_CHECKING:
    from distributed import Client

RECORD = "robust.json"
VALUES = "values.parquet"
DOCS = "see docs/discovery.md for the fields allowed here"
VENDOR_EVENTS = ("price", "supply", "efficiency")  # events that act on one vendor (`vendor:`)


def load_robust(path: str | Path) -> Robust:
    """Read and check a policies file; every problem names the file, the line and the field (exit 2)."""
    path = Path(path)
    text, data, lines = read_yaml_mapping(path, "policies")
    at = FileFields(path, lines)
    spec = at.validated(RobustSpec, data, DOCS)
    base = _base(path, spec, at)
    if spec.vendor not in base.vendors:
        raise at.error(("vendor",), f"unknown vendor {spec.vendor!r}; the base has {', '.join(base.vendors)}")
    criteria = tuple(_criterion(i, text, base, spec.vendor, at) for i, text in enumerate(spec.criteria))
    ensemble = _ensemble(path, spec, at)
    sets = choose_sets(ensemble, spec.sets)
    first = spec.seed if spec.seed is not None else base.seed
    scenarios = {}
    for name, policy in spec.policies.items():
        _check_policy(name, policy, spec.vendor, base, at)
        for _, row in sets.iterrows():
            with_set = set_scenario(base, row, str(spec.ensemble))
            scenarios[(name, int(row["set"]))] = _apply(with_set, name, policy, at)
    outcomes = _outcome_spec(criteria)
    return Robust(path, text, spec, base, sets, criteria, [first + r for r in range(spec.replicates)], scenarios,
                  outcomes)  # fmt: skip


def _base(path: Path, spec: RobustSpec, at: FileFields) -> Scenario:
    file = path.parent / spec.base
    if not file.is_file():
        raise at.error(("base",), f"file not found: {file}")
    try:
        return load_scenario(file, [assignment(k, v) for k, v in spec.overrides.items()])
    except ScenarioError as error:
        problems = [
            at.problem(("overrides", p.field), p.message) if p.source == "--set" and p.field in spec.overrides else p
            for p in error.problems
        ]
        raise ScenarioError(problems) from None


def _ensemble(path: Path, spec: RobustSpec, at: FileFields) -> pd.DataFrame:
    try:
        return read_ensemble(path.parent / spec.ensemble)
    except ScenarioError as error:
        raise at.error(("ensemble",), "; ".join(f"{p.field}: {p.message}" for p in error.problems)) from None


def _criterion(i: int, text: str, base: Scenario, vendor: str, at: FileFields) -> Clause:
    """A threshold on a vendor column at a month (or over a period) of the base scenario."""
    loc = ("criteria", str(i))
    try:
        condition = parse_condition(text, str(at.path))
    except ScenarioError as error:
        raise at.error(loc, error.problems[0].message) from None
    if len(condition.clauses) != 1:
        raise at.error(loc, "one threshold per criterion (write a list entry for each, not 'and')")
    clause = condition.clauses[0]
    if clause.side or not clause.numeric:
        raise at.error(
            loc, "a criterion compares an outcome with a number, e.g. 'revenue_share[volcano]@2026-12 >= 0.2'"
        )
    if clause.op in ("==", "!="):
        raise at.error(loc, "a criterion is a threshold: use >, >=, < or <= (more or less is better)")
    if clause.metric not in VENDOR_COLUMNS:
        raise at.error(loc, f"unknown outcome {clause.metric!r}; expected a vendor column: {', '.join(VENDOR_COLUMNS)}")
    if clause.vendor is None:
        raise at.error(loc, f"name the vendor, e.g. {clause.metric}[{vendor}] (or [all] for the market's total)")
    if clause.vendor == TOTAL and not additive(clause.metric):
        raise at.error(loc, f"vendors' {clause.metric} does not add up to a market total; name a vendor")
    if clause.vendor != TOTAL and clause.vendor not in base.vendors:
        raise at.error(loc, f"unknown vendor {clause.vendor!r}; the base has {', '.join(base.vendors)}")
    last = month_at(base.start, base.months - 1)
    if clause.period is None:
        raise at.error(loc, f"add @MONTH or @FROM..TO (the base runs {base.start} to {last})")
    for month in clause.period.split(".."):
        if not 0 <= month_index(base.start, month) < base.months:
            raise at.error(loc, f"{month} is outside the base scenario ({base.start} to {last})")
    return clause


def _check_policy(name: str, policy: PolicySpec, vendor: str, base: Scenario, at: FileFields) -> None:
    """A policy of one vendor changes that vendor's own fields and events, nothing else."""
    loc = ("policies", name)
    for path in policy.set:
        if not path.startswith(f"vendors.{vendor}."):
            raise at.error((*loc, "set", path), f"a policy of {vendor} sets its own fields (vendors.{vendor}.…)")
    for i, event in enumerate(policy.add_events):
        if not isinstance(event, dict) or event.get("type") not in VENDOR_EVENTS or event.get("vendor") != vendor:
            raise at.error((*loc, "add_events", str(i)), f"a policy of {vendor} adds {', '.join(VENDOR_EVENTS)} "
                           f"events with vendor: {vendor}")  # fmt: skip
    ids = [e.id for e in base.events]
    for i, event_id in enumerate(policy.drop_events):
        if event_id not in ids:
            raise at.error((*loc, "drop_events", str(i)), f"no event of the base has id {event_id!r}")
        event = base.events[ids.index(event_id)]
        if getattr(event, "vendor", None) != vendor:
            raise at.error((*loc, "drop_events", str(i)), f"event {event_id!r} is not {vendor}'s own")


def _apply(scenario: Scenario, name: str, policy: PolicySpec, at: FileFields) -> Scenario:
    data = scenario.model_dump()
    data["events"] = [e for e in data["events"] if e.get("id") not in policy.drop_events] + list(policy.add_events)
    try:
        return scenario_from_dict(data, [assignment(k, v) for k, v in policy.set.items()])
    except ScenarioError as error:
        reasons = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
        raise at.error(("policies", name), f"not a valid scenario with this policy: {reasons}") from None


def _outcome_spec(criteria: tuple[Clause, ...]) -> OutcomeSpec:
    """What each run keeps: the criteria's columns at their months and over their periods."""
    metrics = list(dict.fromkeys(c.metric for c in criteria))
    months = sorted({c.period for c in criteria if ".." not in str(c.period)})
    periods = sorted({c.period for c in criteria if ".." in str(c.period)})
    return OutcomeSpec(
        at=months,
        metrics=metrics,
        periods=[Period.model_validate({"from": p.split("..")[0], "to": p.split("..")[1]}) for p in periods],
        leaders=False,
        divergence=False,
    )


# --- running -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RobustWork:
    """The policies x sets in the form the sweep runner evaluates (see sim.sweep.plan.Work)."""

    name: str
    model: Model
    outcomes: OutcomeSpec
    points: list[tuple[str, int]]
    robust: Robust

    @property
    def model_version(self) -> str:
        return self.model.version

    def prepared(self, point: int) -> Scenario:
        return self.robust.scenarios[self.points[point]]


def run_robust(
    robust: Robust | str | Path,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool = True,
    force: bool = False,
) -> RobustResult:
    """Run every policy under every set (stored runs reused), then compare the policies; write the report."""
    if not isinstance(robust, Robust):
        robust = load_robust(robust)
    folder = Path(out) if out is not None else Path("runs") / f"robust-{robust.name}"
    with folder_lock(folder), kept_if_refused(folder, kept_in_store(folder / "runs")):
        check_folder(folder, robust, force)
        return _run_locked(robust, folder, workers, scheduler, client, progress)


def check_folder(folder: Path, robust: Robust, replace: bool) -> None:
    """Resume the same comparison in its folder; refuse another one's unless `replace`."""
    if folder.exists() and not folder.is_dir():
        raise OutputConflict(f"{folder} is a file, not a folder; choose another folder with --out")
    marker = folder / RECORD
    if not marker.exists():
        if folder.exists() and any(folder.iterdir()) and not replace:
            raise OutputConflict(
                f"{folder} is not empty and holds no policy comparison; choose another --out or --force"
            )
        return
    try:
        held = json.loads(marker.read_text(encoding="utf-8")).get("hash")
    except (OSError, ValueError, AttributeError):
        held = None
    if held != robust.digest() and not replace:
        raise OutputConflict(
            f"{folder} holds another policy comparison (or this file with other policies, sets or seeds); choose "
            "another folder with --out, or pass --force (stored runs are reused when they match)"
        )


def _run_locked(
    robust: Robust, folder: Path, workers: int | None, scheduler: str | None, client: Client | None, progress: bool
) -> RobustResult:
    started = _now()
    write_json(folder / RECORD, record(robust, {"state": "running", "started": started}))
    model = MarketModel()
    points = [(policy, s) for policy in robust.policies for s in robust.set_ids]
    work = RobustWork(f"robust {robust.name}", model, robust.outcomes, points, robust)
    digest = json.dumps(robust.outcomes.model_dump(mode="json"), sort_keys=True)
    planned = []
    for point, key in enumerate(points):
        fingerprint = scenario_hash(robust.scenarios[key])
        for replicate, seed in enumerate(robust.seeds):
            planned.append(
                PlannedRun(point, replicate, seed, run_key(model.name, model.version, fingerprint, seed, digest))
            )
    store = RunStore(folder / "runs")
    done = store.index(False).done
    distinct = list({p.key: p for p in planned}.values())
    todo = [p for p in distinct if p.key not in done]
    began = time.perf_counter()
    if todo:
        with connect(workers, scheduler, client) as dask:
            execute(dask, work, todo, store, 1, progress, len(distinct))
    values, failed = _values(robust, points, planned, store)
    table, overall = compare(values, robust.criteria)
    status = {
        "state": "complete" if failed == 0 else "incomplete",
        "started": started,
        "finished": _now(),
        "runs": len(distinct),
        "executed": len(todo),
        "reused": len(distinct) - len(todo),
        "failed": failed,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }
    notes = []
    if failed:
        notes.append(f"{failed} runs failed (see {folder / 'runs'}); sets missing a policy's value are left out")
    result = RobustResult(robust, folder, values, table, overall, record(robust, status), notes)
    from sim.discover.robust_report import save_robust

    save_robust(result)
    write_json(folder / RECORD, result.record)
    return result


def _values(
    robust: Robust, points: list[tuple[str, int]], planned: list[PlannedRun], store: RunStore
) -> tuple[pd.DataFrame, int]:
    """Each policy and set's criteria values, the mean over seeds; and how many runs failed."""
    index = store.index(False)
    files: dict[Path, pd.DataFrame] = {}
    rows, failed = [], 0
    for run in planned:
        stored = index.done.get(run.key)
        if stored is None:
            failed += 1
            continue
        if stored.file not in files:
            files[stored.file] = pq.read_table(stored.file, columns=["key", "outcome", "value"]).to_pandas()
        table = files[stored.file]
        outcomes = table[table["key"] == run.key].set_index("outcome")["value"]
        policy, set_id = points[run.point]
        row: dict[str, Any] = {"policy": policy, "set": set_id, "seed": run.seed}
        for clause in robust.criteria:
            row[clause.text] = _criterion_value(clause, outcomes, list(robust.base.vendors))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["policy", "set", "seed", *[c.text for c in robust.criteria]])
    means = frame.groupby(["policy", "set"], sort=False)[[c.text for c in robust.criteria]].mean()
    complete = means.dropna().reset_index()
    counts = complete.groupby("set")["policy"].nunique()
    whole = counts[counts == len(robust.policies)].index
    return complete[complete["set"].isin(whole)].reset_index(drop=True), failed


def _criterion_value(clause: Clause, outcomes: pd.Series, vendors: list[str]) -> float:
    if clause.vendor == TOTAL:
        names = [f"{clause.metric}[{v}]@{clause.period}" for v in vendors]
        return float(outcomes.reindex(names).sum(min_count=len(names)))
    return float(outcomes.get(f"{clause.metric}[{clause.vendor}]@{clause.period}", math.nan))


def compare(values: pd.DataFrame, criteria: tuple[Clause, ...] | list[Clause]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per policy and criterion across sets: median, worst tenth, regret (median, largest), satisficing.

    `values` has one row per policy and set and one column per criterion (named by its text).
    Regret in a set is the distance to the best policy in that set, in the criterion's units:
    zero for the best, never negative.
    """
    rows = []
    policies = list(dict.fromkeys(values["policy"]))
    every: pd.DataFrame | None = None
    for clause in criteria:
        wide = values.pivot(index="set", columns="policy", values=clause.text)[policies]
        high = clause.higher_is_better
        best = wide.max(axis=1) if high else wide.min(axis=1)
        regret = (wide.rsub(best, axis=0) if high else wide.sub(best, axis=0)).clip(lower=0)
        met = pd.DataFrame(np.asarray(clause.holds(wide.to_numpy()), dtype=bool), wide.index, wide.columns)
        every = met if every is None else every & met
        for policy in policies:
            column = wide[policy]
            rows.append(
                {
                    "policy": policy,
                    "criterion": clause.text,
                    "median": float(column.median()),
                    "worst_tenth": float(column.quantile(0.1 if high else 0.9)),
                    "regret_median": float(regret[policy].median()),
                    "regret_max": float(regret[policy].max()),
                    "satisficing": float(met[policy].mean()),
                    "sets": int(column.notna().sum()),
                }
            )
    assert every is not None
    overall = pd.DataFrame({"policy": policies, "every": [float(every[p].mean()) for p in policies],
                            "sets": [len(every)] * len(policies)})  # fmt: skip
    return pd.DataFrame(rows), overall


def record(robust: Robust, status: dict[str, Any]) -> dict[str, Any]:
    return json_safe(
        {
            "name": robust.name,
            "file": str(robust.path),
            "hash": robust.digest(),
            "text": robust.text,
            "base": {"name": robust.base.name, "hash": scenario_hash(robust.base)},
            "ensemble": str(robust.path.parent / robust.spec.ensemble),
            "vendor": robust.spec.vendor,
            "policies": {name: policy.model_dump() for name, policy in robust.spec.policies.items()},
            "criteria": [c.text for c in robust.criteria],
            "sets": robust.set_ids,
            "seeds": robust.seeds,
            "model": {"name": "market", "version": MarketModel().version},
            "status": status,
            "versions": versions(),
        }
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
