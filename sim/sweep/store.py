"""The sweep's folder on disk: finished runs stored as they finish, compacted into one dataset.

    <out>/manifest.json          sweep file, resolved base, model, design, seeds, outcomes, versions
    <out>/sweep.yaml             the sweep file as given
    <out>/base.resolved.yaml     the base scenario with every default filled in (market model)
    <out>/design.parquet         one row per point: parameter values and unit coordinates
    <out>/runs/                  what finished, as it finished:
        <batch>.out.parquet      outcomes of a batch of runs (which runs: in the file's metadata)
        <batch>.traj.parquet     their trajectories, written before the outcomes (if kept)
        <key>.failed.json        a run that raised: the error and traceback
    <out>/results.parquet        one row per run and outcome, with the parameter values
    <out>/trajectories.parquet   one row per run, month and vendor (if kept)
    <out>/runs.parquet           one row per run: status, error, seconds, worker

Every file is written to a temporary name and renamed into place, and a batch's outcomes
file, the proof that its runs are done, is renamed last: a process killed at any moment
leaves complete files or none. Temporary files (`.*.part`) are never read; a finished file
that cannot be read is set aside as `*.corrupt` and its runs are done again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.provenance import scenario_hash, versions
from sim.report.files import write_atomically, write_json, write_text
from sim.report.outputs import OutputConflict
from sim.scenario.schema import Scenario
from sim.sweep.designs import UNIT_PREFIX
from sim.sweep.models import RunRecord
from sim.sweep.plan import Plan

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RESULTS = "results.parquet"
TRAJECTORIES = "trajectories.parquet"
RUN_TABLE = "runs.parquet"
DESIGN = "design.parquet"
BASE = "base.resolved.yaml"
OUT_SUFFIX, TRAJ_SUFFIX, FAILED_SUFFIX = ".out.parquet", ".traj.parquet", ".failed.json"
META_KEY = b"sim.sweep.runs"
STALE_PART_S = 3600  # a temporary file untouched this long belongs to a process that died
BLOCK_RUNS = 2000  # runs compacted at a time: bounds memory whatever the sweep's size
RUN_KEYS = ["point", "replicate", "seed"]
OUTCOME_TYPES = {
    "outcome": pa.string(),
    "metric": pa.string(),
    "vendor": pa.string(),
    "period": pa.string(),
    "value": pa.float64(),
    "label": pa.string(),
}


@dataclass(frozen=True)
class StoredRun:
    """A finished run as its batch file records it."""

    key: str
    file: Path
    seed: int
    elapsed_s: float
    worker: str
    model_version: str


@dataclass
class StoreIndex:
    """What the runs folder holds: finished runs by key, failures by key, files set aside."""

    done: dict[str, StoredRun] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    corrupt: list[Path] = field(default_factory=list)


class RunStore:
    """The `runs/` folder: one small file per finished batch of runs, one per failed run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def save(self, records: list[RunRecord]) -> None:
        """Store a batch as soon as it finishes: trajectories, then outcomes (the proof), then failures."""
        done = [r for r in records if r.ok]
        if done:
            name = hashlib.sha256("\n".join(r.key for r in done).encode()).hexdigest()[:24]
            frames = [_keyed(r.trajectories, r.key) for r in done if r.trajectories is not None]
            if frames:
                table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
                write_atomically(self.folder / f"{name}{TRAJ_SUFFIX}", lambda tmp: pq.write_table(table, tmp))
            outcomes = _outcome_table(done)
            write_atomically(self.folder / f"{name}{OUT_SUFFIX}", lambda tmp: pq.write_table(outcomes, tmp))
            for record in done:
                (self.folder / f"{record.key}{FAILED_SUFFIX}").unlink(missing_ok=True)
        for record in records:
            if not record.ok:
                write_json(self.folder / f"{record.key}{FAILED_SUFFIX}", _failure(record))

    def index(self, trajectories: bool) -> StoreIndex:
        """Scan the folder; a batch whose kept trajectories are missing counts as not done."""
        found = StoreIndex()
        self._remove_stale_parts()
        for path in sorted(self.folder.glob(f"*{OUT_SUFFIX}")):
            if path.name.startswith("."):
                continue
            runs = self._read_meta(path, found)
            if runs is None or (trajectories and not self._readable(_traj_path(path), found)):
                continue
            for run in runs:
                found.done.setdefault(run.key, run)
        for path in sorted(self.folder.glob(f"*{FAILED_SUFFIX}")):
            if path.name.startswith("."):
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                found.failed[record["key"]] = record
            except (OSError, ValueError, KeyError, TypeError):
                found.corrupt.append(self._set_aside(path))
        return found

    def _read_meta(self, path: Path, found: StoreIndex) -> list[StoredRun] | None:
        """The runs a batch file holds, from its metadata (reading the footer proves the file whole)."""
        try:
            metadata = pq.read_schema(path).metadata or {}
            return [StoredRun(file=path, **run) for run in json.loads(metadata[META_KEY])]
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            found.corrupt.append(self._set_aside(path))
            return None

    def _readable(self, path: Path, found: StoreIndex) -> bool:
        if not path.exists():
            return False
        try:
            pq.read_schema(path)
            return True
        except (OSError, pa.ArrowException):
            found.corrupt.append(self._set_aside(path))
            return False

    def _set_aside(self, path: Path) -> Path:
        """Rename an unreadable file so it is neither read again nor lost (for inspection)."""
        target = path.with_name(path.name + ".corrupt")
        path.replace(target)
        log.warning("unreadable stored file set aside: %s (its runs will be done again)", target)
        return target

    def _remove_stale_parts(self) -> None:
        now = time.time()
        for part in self.folder.glob(".*.part"):
            try:
                if now - part.stat().st_mtime > STALE_PART_S:
                    part.unlink()
            except OSError:
                continue


def _keyed(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """A run's rows with its key and their position, to restore their order after compaction."""
    return frame.assign(key=key, row=range(len(frame)))


def _traj_path(out_path: Path) -> Path:
    return out_path.with_name(out_path.name.removesuffix(OUT_SUFFIX) + TRAJ_SUFFIX)


def _outcome_table(records: list[RunRecord]) -> pa.Table:
    columns: dict[str, list] = {"key": [], "row": [], **{name: [] for name in OUTCOME_TYPES}}
    for record in records:
        rows = record.outcomes
        count = len(rows) if rows is not None else 0
        columns["key"] += [record.key] * count
        columns["row"] += list(range(count))
        if rows is not None:
            for name, values in rows.columns().items():
                columns[name] += values
    schema = pa.schema([("key", pa.string()), ("row", pa.int32()), *OUTCOME_TYPES.items()])
    meta = [
        {
            "key": r.key,
            "seed": r.seed,
            "elapsed_s": r.elapsed_s,
            "worker": r.worker,
            "model_version": r.model_version,
        }
        for r in records
    ]
    return pa.table(columns, schema=schema).replace_schema_metadata({META_KEY: json.dumps(meta).encode()})


def _failure(record: RunRecord) -> dict[str, Any]:
    return {
        "key": record.key,
        "seed": record.seed,
        "error": record.error,
        "traceback": record.detail,
        "elapsed_s": record.elapsed_s,
        "worker": record.worker,
        "model_version": record.model_version,
    }


# --- the output folder ------------------------------------------------------------------------


def check_folder(folder: Path, name: str, replace: bool = False) -> None:
    """Refuse a folder that holds another sweep's output (the same sweep resumes; `replace` allows)."""
    if folder.exists() and not folder.is_dir():
        raise OutputConflict(f"{folder} is a file, not a folder; choose another folder with --out")
    manifest = folder / MANIFEST
    if replace or not manifest.exists():
        if folder.exists() and not manifest.exists() and any(folder.iterdir()) and not replace:
            raise OutputConflict(
                f"{folder} is not empty and holds no sweep; choose another folder with --out, or pass --force"
            )
        return
    existing = read_manifest(folder).get("sweep", {}).get("name")
    if existing != name:
        raise OutputConflict(
            f"{folder} holds sweep {existing!r}, not {name!r}; choose another folder with --out, "
            "or pass --force to write there anyway (stored runs are reused when they match)"
        )


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def manifest(plan: Plan, status: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to understand and reproduce the sweep, plus how it went."""
    sweep = plan.sweep
    return json_safe(
        {
            "sweep": {
                "name": sweep.name,
                "description": sweep.spec.description,
                "file": str(sweep.path),
                "text": sweep.text,
                "overrides": sweep.cli_overrides,
            },
            "model": {"name": sweep.model.name, "version": plan.model_version},
            "base": None if sweep.base is None else _base_entry(sweep.base),
            "parameters": [{"name": p.name, "target": p.target, "spec": p.spec.model_dump()} for p in sweep.parameters],
            "design": {
                "method": plan.design.method,
                "options": plan.design.options,
                "spec": sweep.spec.design.model_dump(mode="json"),
                "points": plan.design.size,
            },
            "seeds": sweep.seeds,
            "runs": len(plan.runs),
            "outcomes": None if sweep.outcomes is None else sweep.outcomes.model_dump(mode="json", by_alias=True),
            "versions": versions(),
            "status": status,
        }
    )


def _base_entry(base: Scenario) -> dict[str, Any]:
    return {"name": base.name, "hash": scenario_hash(base), "resolved": resolved_text(base)}


def resolved_text(base: Scenario) -> str:
    """The resolved base as YAML (exact floats, and infinities, which JSON cannot hold)."""
    return yaml.safe_dump(base.model_dump(), sort_keys=False, allow_unicode=True, width=100)


def json_safe(value: Any) -> Any:
    """Non-finite floats as YAML spells them (.inf, -.inf, .nan), since JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_inputs(folder: Path, plan: Plan, status: dict[str, Any]) -> None:
    """The sweep's inputs, written before any run so an interrupted sweep is self-describing."""
    sweep = plan.sweep
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "sweep.yaml", sweep.text)
    if sweep.base is not None:
        header = f"# Base scenario of sweep '{sweep.name}', every default filled in.\n"
        write_text(folder / BASE, header + resolved_text(sweep.base))
    table = pa.Table.from_pandas(plan.design.table(), preserve_index=False)
    write_atomically(folder / DESIGN, lambda tmp: pq.write_table(table, tmp))
    write_json(folder / MANIFEST, manifest(plan, status))


# --- compaction -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compacted:
    ok: int
    failed: int
    missing: int


def compact(folder: Path, plan: Plan, index: StoreIndex, trajectories: bool) -> Compacted:
    """Gather the stored runs into results.parquet (and trajectories.parquet), in plan order.

    The order (point, replicate, then outcome) does not depend on which run finished
    first, so the dataset is the same whatever the workers and interruptions. Runs are
    gathered a block at a time, each batch file read at most a few times: memory stays
    bounded by the block, not the sweep.
    """
    runs = pd.DataFrame([vars(r) for r in plan.runs], columns=[*RUN_KEYS, "key"])
    values = plan.design.table(unit=False)
    write_atomically(folder / RESULTS, lambda tmp: _write_blocks(tmp, runs, values, index, OUT_SUFFIX))
    if trajectories:
        write_atomically(folder / TRAJECTORIES, lambda tmp: _write_blocks(tmp, runs, values, index, TRAJ_SUFFIX))
    else:
        (folder / TRAJECTORIES).unlink(missing_ok=True)
    table = _run_table(runs, index)
    write_atomically(
        folder / RUN_TABLE, lambda tmp: pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
    )
    counts = table["status"].value_counts()
    return Compacted(int(counts.get("ok", 0)), int(counts.get("failed", 0)), int(counts.get("missing", 0)))


def _write_blocks(path: Path, runs: pd.DataFrame, values: pd.DataFrame, index: StoreIndex, suffix: str) -> None:
    read = lru_cache(maxsize=32)(_read_stored)
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    try:
        for start in range(0, len(runs), BLOCK_RUNS):
            block = runs.iloc[start : start + BLOCK_RUNS]
            frame = _block_frame(block, values, index, suffix, read)
            if frame is None:
                continue
            if writer is None:
                schema = pa.Schema.from_pandas(frame, preserve_index=False)
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
        if writer is None:
            pq.write_table(pa.Table.from_pandas(_empty(values, suffix), preserve_index=False), path)
    finally:
        if writer is not None:
            writer.close()


def _read_stored(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def _block_frame(
    block: pd.DataFrame, values: pd.DataFrame, index: StoreIndex, suffix: str, read: Callable[[Path], pd.DataFrame]
) -> pd.DataFrame | None:
    done = block[block["key"].isin(index.done.keys())]
    if done.empty:
        return None
    files = sorted({index.done[key].file for key in done["key"]})
    stored = pd.concat([read(_sibling(path, suffix)) for path in files], ignore_index=True)
    stored = stored[stored["key"].isin(set(done["key"]))].drop_duplicates(["key", "row"])
    frame = done.merge(stored, on="key", how="inner").merge(values, on="point", how="left")
    frame = frame.sort_values(["point", "replicate", "row"], kind="stable")
    parameters = [c for c in values.columns if c != "point" and not c.startswith(UNIT_PREFIX)]
    data = [c for c in stored.columns if c not in ("key", "row")]
    return frame[[*RUN_KEYS, *parameters, *data]].reset_index(drop=True)


def _sibling(out_path: Path, suffix: str) -> Path:
    return out_path if suffix == OUT_SUFFIX else _traj_path(out_path)


def _empty(values: pd.DataFrame, suffix: str) -> pd.DataFrame:
    parameters = {c: values[c].iloc[:0] for c in values.columns if c != "point"}
    base = {"point": pd.Series([], dtype="int64"), "replicate": pd.Series([], dtype="int64")}
    base["seed"] = pd.Series([], dtype="int64")
    if suffix == OUT_SUFFIX:
        data = {c: pd.Series([], dtype="float64" if c == "value" else "object") for c in OUTCOME_TYPES}
    else:
        data = {"date": pd.Series([], dtype="object"), "vendor": pd.Series([], dtype="object")}
    return pd.DataFrame({**base, **parameters, **data})


def _run_table(runs: pd.DataFrame, index: StoreIndex) -> pd.DataFrame:
    status, error, elapsed, worker, version = [], [], [], [], []
    for key in runs["key"]:
        if key in index.done:
            stored = index.done[key]
            status.append("ok")
            error.append(None)
            elapsed.append(stored.elapsed_s)
            worker.append(stored.worker)
            version.append(stored.model_version)
        elif key in index.failed:
            failure = index.failed[key]
            status.append("failed")
            error.append(failure.get("error"))
            elapsed.append(failure.get("elapsed_s"))
            worker.append(failure.get("worker"))
            version.append(failure.get("model_version"))
        else:
            status.append("missing")
            error.append(None)
            elapsed.append(None)
            worker.append(None)
            version.append(None)
    return runs.assign(
        status=status, error=error, elapsed_s=pd.array(elapsed, dtype="Float64"), worker=worker, model_version=version
    )
