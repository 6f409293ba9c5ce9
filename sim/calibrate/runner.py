"""`calibrate`: search, ensemble and identification, written into the calibration's folder.

<out>/calibration.json     the calibration file, targets file hash, seeds, versions, status, timing
<out>/calibration.yaml     the calibration file as given
<out>/runs/                every run, stored as it finishes (the sweep store): resumable
<out>/evaluations.parquet  one row per candidate: stage, parameters, misses, distance, plausibility
<out>/ensemble.parquet     the plausible sets (`set` 0, 1, ...), with the scenario paths they set
<out>/calibrated.yaml      a scenario that extends the base with the best parameters
<out>/fit.md, fit.png      each figure against the best set and the ensemble; identification; convergence
<out>/posterior.png        each parameter's weighted posterior against its prior; the pairs that trade off
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.calibrate.identification import identify
from sim.calibrate.posterior import WEIGHT, posterior, verdicts
from sim.calibrate.result import CalibrationResult
from sim.calibrate.search import SET, SIM, Evaluator, Z, ensemble, search
from sim.calibrate.spec import Calibration, load_calibration
from sim.provenance import versions
from sim.report.files import write_atomically, write_json, write_text
from sim.report.folders import folder_lock, kept_if_refused
from sim.report.outputs import OutputConflict
from sim.sweep.runner import connect, kept_in_store
from sim.sweep.store import RunStore, json_safe

if TYPE_CHECKING:
    from distributed import Client

RECORD = "calibration.json"
EVALUATIONS, ENSEMBLE, CALIBRATED = "evaluations.parquet", "ensemble.parquet", "calibrated.yaml"


def calibrate(
    calibration: Calibration | str | Path,
    out: str | Path | None = None,
    *,
    until: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool = True,
    force: bool = False,
) -> CalibrationResult:
    """Fit the calibration's free parameters to its figures; keep the plausible sets; write the report."""
    if not isinstance(calibration, Calibration):
        calibration = load_calibration(calibration, until)
    folder = Path(out) if out is not None else default_folder(calibration)
    with folder_lock(folder), kept_if_refused(folder, kept_in_store(folder / "runs")):
        check_folder(folder, calibration, force)
        return _calibrate_locked(calibration, folder, workers, scheduler, client, progress)


def _calibrate_locked(
    calibration: Calibration,
    folder: Path,
    workers: int | None,
    scheduler: str | None,
    client: Client | None,
    progress: bool,
) -> CalibrationResult:
    """The calibration itself, while this process holds the folder's lock."""
    started = _now()
    write_text(folder / "calibration.yaml", calibration.text)
    write_json(folder / RECORD, record(calibration, {"state": "running", "started": started}))
    store = RunStore(folder / "runs")
    began = time.perf_counter()
    with connect(workers, scheduler, client) as dask:
        evaluator = Evaluator(calibration, dask, store, progress)
        evaluations = search(evaluator)
        threads = sum(dask.nthreads().values())
    elapsed = time.perf_counter() - began
    weighed = posterior(evaluations, calibration, evaluator.figures())
    evaluations[WEIGHT] = weighed.weights.reindex(evaluations.index).fillna(0.0)
    plausible = ensemble(evaluations)
    mass = float(plausible[WEIGHT].sum())
    if mass > 0:
        plausible[WEIGHT] = plausible[WEIGHT] / mass
    ok = evaluations[evaluations["ok"]]
    best = ok.sort_values(["distance", "candidate"]).iloc[0] if len(ok) else None
    fitted = evaluator.fitted()
    moments = {n: {"target": evaluator.targets_of[n], "ends": evaluator.ends[n], "public": evaluator.public[n]}
               for n in evaluator.moments or []}  # fmt: skip
    status = {
        "state": "complete",
        "started": started,
        "finished": _now(),
        "candidates": len(evaluations),
        "failed_candidates": int((~evaluations["ok"]).sum()),
        "plausible_sets": len(plausible),
        "runs_executed": evaluator.timing.runs,
        "runs_reused": evaluator.timing.reused,
        "elapsed_s": round(elapsed, 2),
        "workers": threads,
        "evaluations_per_minute": round(60 * len(evaluations) / elapsed, 1) if elapsed > 0 else None,
        "model_share_of_worker_time": _model_share(evaluator, threads),
        "posterior_effective_sets": round(weighed.ess, 1),
        "posterior_mass_in_plausible_sets": round(mass, 4),
        "log_evidence": round(weighed.log_evidence, 4) if weighed.log_evidence > -float("inf") else None,
    }
    result = CalibrationResult(
        calibration,
        folder,
        evaluations,
        plausible,
        best,
        identify(calibration, plausible, best),
        fitted,
        [n for n in moments if n not in fitted],
        moments,
        record(calibration, status),
        weighed,
        verdicts(evaluations, weighed, moments, fitted, SIM, Z),
    )
    save(result)
    return result


def default_folder(calibration: Calibration) -> Path:
    """runs/<name>/, or runs/<name>-until-<month>/ for a time split, so the two never claim one folder."""
    suffix = f"-until-{calibration.until}" if calibration.until else ""
    return Path("runs") / f"{calibration.name}{suffix}"


def _model_share(evaluator: Evaluator, threads: int) -> float | None:
    """The share of the workers' time spent in the model (the rest is Dask, storage and the search)."""
    timing = evaluator.timing
    if timing.runs == 0 or timing.wall_s <= 0:
        return None
    return round(timing.model_s / (timing.wall_s * max(threads, 1)), 3)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def calibration_hash(calibration: Calibration) -> str:
    """What decides the result: the file, the base scenario, the targets and `until`."""
    digest = hashlib.sha256(calibration.text.encode())
    digest.update(yaml.safe_dump(json_safe(calibration.base.model_dump()) if calibration.base else None).encode())
    digest.update(calibration.targets_digest().encode())
    digest.update(str(calibration.until).encode())
    return digest.hexdigest()


def check_folder(folder: Path, calibration: Calibration, replace: bool) -> None:
    """Resume the same calibration in its folder; refuse another one's folder unless `replace`."""
    if folder.exists() and not folder.is_dir():
        raise OutputConflict(f"{folder} is a file, not a folder; choose another folder with --out")
    existing = folder / RECORD
    if not existing.exists():
        if folder.exists() and any(folder.iterdir()) and not replace:
            raise OutputConflict(f"{folder} is not empty and holds no calibration; choose another --out or --force")
        return
    import json

    try:
        held = json.loads(existing.read_text(encoding="utf-8")).get("hash")
    except (OSError, ValueError):
        held = None
    if held != calibration_hash(calibration) and not replace:
        raise OutputConflict(
            f"{folder} holds another calibration (or this one with other settings or --until); "
            "choose another folder with --out, or pass --force (stored runs are reused when they match)"
        )


def record(calibration: Calibration, status: dict[str, Any]) -> dict[str, Any]:
    targets_file = calibration.targets_file
    return {
        "calibration": {"name": calibration.name, "file": str(calibration.path), "until": calibration.until},
        "hash": calibration_hash(calibration),
        "model": {"name": calibration.model.name, "version": calibration.model.version},
        "base": str(calibration.path.parent / calibration.spec.base) if calibration.spec.base else None,
        "targets_file": str(targets_file) if targets_file else None,
        "targets_sha256": hashlib.sha256(targets_file.read_bytes()).hexdigest() if targets_file else None,
        "targets_also": str(calibration.also_file) if calibration.also_file else None,
        "targets_also_sha256": (
            hashlib.sha256(calibration.also_file.read_bytes()).hexdigest() if calibration.also_file else None
        ),
        "targets": [t["id"] for t in calibration.targets],
        "seeds": calibration.spec.seeds,
        "ensemble_size": calibration.spec.ensemble.size,
        "parameters": {
            p.name: {**p.spec.model_dump(), "paths": list(p.paths), "base_values": list(p.base_values)}
            for p in calibration.parameters
        },
        "status": status,
        "versions": versions(),
    }


# --- files ----------------------------------------------------------------------------------------


def save(result: CalibrationResult) -> None:
    from sim.calibrate.report import save_fit_report

    folder = result.folder
    _write_parquet(folder / EVALUATIONS, result.evaluations)
    _write_parquet(folder / ENSEMBLE, result.ensemble)
    if result.best is not None and result.calibration.base is not None:
        write_text(folder / CALIBRATED, calibrated_yaml(result))
    save_fit_report(result)
    write_json(folder / RECORD, result.record)


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_atomically(path, lambda tmp: pq.write_table(table, tmp))


def calibrated_yaml(result: CalibrationResult) -> str:
    """A scenario extending the base with the best set: the values as the scenario's own paths."""
    calibration, best = result.calibration, result.best
    assert best is not None and calibration.spec.base is not None
    base_file = (calibration.path.parent / calibration.spec.base).resolve()
    extends = os.path.relpath(base_file, result.folder.resolve())
    tree: dict[str, Any] = {"extends": extends}
    events: dict[int, dict[str, Any]] = {}
    for column in best.index:
        if not str(column).startswith(SET):
            continue
        keys = str(column)[len(SET) :].split(".")
        if keys[0] == "events":  # a list: the changed event is dropped by id and added back
            event = events.setdefault(int(keys[1]), calibration.base.events[int(keys[1])].model_dump(exclude_none=True))
            _put(event, keys[2:], float(best[column]))
        else:
            _put(tree, keys, float(best[column]))
    if events:
        tree["drop_events"] = [event["id"] for event in events.values()]
        tree["add_events"] = [_plain_event(event) for event in events.values()]
    status = result.record["status"]
    header = [
        f"# The best parameter set of calibration {calibration.name!r} ({calibration.path}),",
        f"# finished {status['finished']}: {status['candidates']} candidates, {status['plausible_sets']} plausible.",
        f"# Targets file {result.record['targets_file']} (sha256 {str(result.record['targets_sha256'])[:16]}...),",
        f"# seeds {calibration.spec.seeds}, fitted figures ending by {calibration.until or 'any month'}.",
        f"# Model {result.record['model']['version']}; "
        + ", ".join(f"{k} {v}" for k, v in result.record["versions"].items() if k in ("python", "mesa", "numpy")),
        "# Scenario agent counts are the base's own: the search's overrides are not carried here.",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


def _plain_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as YAML writes it: dates as text."""
    return {key: (str(value) if key == "date" else value) for key, value in event.items()}


def _put(tree: dict[str, Any], keys: list[str], value: float) -> None:
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
