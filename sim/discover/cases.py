"""The cases discovery reads: a sweep's runs, or an ensemble what-if's plausible sets.

A case is one row of inputs (the parameter values it ran with) and the outcomes it gave:

  sweep folder     one case per successful run; inputs: the sweep's design parameters;
                   outcomes: every row of results.parquet, by its name
  what-if folder   one case per plausible set (`sim whatif --ensemble`, sets.parquet);
                   inputs: the calibration parameters of each set; outcomes: each set's
                   effect (mean over its paired replicates): for shares and margins the
                   difference (-0.05 = 5 points lower), for levels (revenue, tokens) the
                   relative change (-0.2 = 20 % lower); `whatif.` or `baseline.` before an
                   outcome reads that side's own value instead

A condition is checked against what the folder holds before anything is computed: an
unknown metric, vendor or month, or a condition that no case or every case meets, is a
one-line error naming what the results hold (exit code 2, nothing written).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.discover.conditions import LEADER, TOTAL, Clause, Condition, additive, choices, problem
from sim.scenario.loading import Problem, ScenarioError

WHATIF_MARKER, WHATIF_SETS = "whatif.json", "sets.parquet"
SWEEP_MARKER = "manifest.json"


@dataclass(frozen=True)
class Cases:
    """Inputs per case, and a way to read any outcome the folder holds for every case."""

    folder: Path
    kind: str  # "sweep" or "whatif"
    unit: str  # what a case is, in words: "runs", "plausible sets"
    inputs: pd.DataFrame  # one row per case, one column per input parameter
    values: pd.DataFrame  # sweep: case x outcome name (numbers); what-if: long per-set table
    labels: pd.DataFrame  # sweep: case x leader outcome (vendor ids); what-if: empty
    identity: str  # hash of what the folder holds (its manifest or what-if record)
    description: str
    notes: list[str] = field(default_factory=list)
    log_scale: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.inputs)

    def meets(self, condition: Condition, source: str = "--where") -> np.ndarray:
        """Which cases meet the condition; refused if a clause names what the folder lacks, or
        if no case or every case meets it (then there is nothing to discover)."""
        met = np.ones(len(self), dtype=bool)
        for clause in condition.clauses:
            met &= self.holds(clause, condition.text, source)
        if not met.any():
            raise problem(source, condition.text, f"no {self.unit[:-1]} meets it{self._range(condition)}: "
                          "nothing to discover; loosen the threshold")  # fmt: skip
        if met.all():
            raise problem(source, condition.text, f"every {self.unit[:-1]} meets it{self._range(condition)}: "
                          "nothing to discover; tighten the threshold")  # fmt: skip
        return met

    def holds(self, clause: Clause, text: str, source: str = "--where") -> np.ndarray:
        if clause.metric == LEADER:
            leaders = self.leader(clause, text, source)
            return np.asarray(clause.holds(leaders), dtype=bool)
        values = self.outcome(clause, text, source)
        with np.errstate(invalid="ignore"):
            return np.asarray(clause.holds(values), dtype=bool) & np.isfinite(values)

    def outcome(self, clause: Clause, text: str, source: str = "--where") -> np.ndarray:
        """The clause's outcome in every case (NaN where a case has none)."""
        if self.kind == "sweep":
            return _sweep_outcome(self, clause, text, source)
        return _whatif_outcome(self, clause, text, source)

    def leader(self, clause: Clause, text: str, source: str = "--where") -> np.ndarray:
        if self.kind != "sweep":
            return _whatif_leader(self, clause, text, source)
        if clause.side:
            raise problem(
                source, text, f"'{clause.side}.' reads one side of an ensemble what-if; {self.folder} is a sweep"
            )
        name = clause.outcome
        if name not in self.labels.columns:
            raise _unknown(self, clause, text, source)
        vendors = {v for m, v, _ in _sweep_names(self).values() if v and m != LEADER}
        if clause.value not in vendors:
            raise problem(source, text, f"unknown vendor {clause.value!r}; vendors: {choices(sorted(vendors))}")
        return self.labels[name].to_numpy(dtype=object)

    def _range(self, condition: Condition) -> str:
        numeric = [c for c in condition.clauses if c.numeric]
        if len(numeric) != 1:
            return ""
        values = self.outcome(numeric[0], condition.text)
        finite = values[np.isfinite(values)]
        if not len(finite):
            return ""
        return f" ({numeric[0].outcome} ranges from {finite.min():.4g} to {finite.max():.4g})"


def load_cases(folder: str | Path) -> Cases:
    """A finished sweep's runs, or an ensemble what-if's sets; any other folder is an error naming it."""
    folder = Path(folder)
    if (folder / SWEEP_MARKER).is_file():
        return _sweep_cases(folder)
    if (folder / WHATIF_MARKER).is_file():
        return _whatif_cases(folder)
    raise refused(
        folder,
        "not a finished sweep (manifest.json) or an ensemble what-if (whatif.json with "
        "sets.parquet); run `sim sweep` or `sim whatif --ensemble`",
    )


def refused(path: Path, message: str) -> ScenarioError:
    """A folder or file discovery cannot read: one line naming it and what was expected."""
    return ScenarioError([Problem(str(path), "FOLDER", message)])


# --- sweeps ---------------------------------------------------------------------------------------


def _sweep_cases(folder: Path) -> Cases:
    from sim.sweep.sensitivity import load_output

    output = load_output(folder)
    results = output.results
    runs = output.runs[output.runs["status"] == "ok"][["point", "replicate"]]
    numeric = results[results["metric"] != LEADER]
    values = numeric.pivot_table(index=["point", "replicate"], columns="outcome", values="value", dropna=False)
    values = values.reindex(pd.MultiIndex.from_frame(runs))
    leaders = results[results["metric"] == LEADER]
    labels = (
        leaders.pivot(index=["point", "replicate"], columns="outcome", values="label").reindex(values.index)
        if len(leaders)
        else pd.DataFrame(index=values.index)
    )
    design = output.design.set_index("point")[output.parameters]
    inputs = design.reindex(values.index.get_level_values("point")).reset_index(drop=True)
    notes = []
    failed = len(output.runs) - len(runs)
    if failed:
        notes.append(f"{failed} of {len(output.runs)} runs did not finish and are left out")
    manifest = {k: v for k, v in output.manifest.items() if k not in ("status", "versions")}
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()
    name = output.manifest.get("sweep", {}).get("name", folder.name)
    parameters = output.manifest.get("parameters", [])
    logs = frozenset(p["name"] for p in parameters if p.get("spec", {}).get("dist") == "loguniform")
    return Cases(
        folder=folder,
        kind="sweep",
        unit="runs",
        inputs=_plain_inputs(inputs),
        values=values.reset_index(drop=True),
        labels=labels.reset_index(drop=True),
        identity=digest,
        description=f"sweep {name!r}: {len(runs)} runs, {output.method} design of {len(output.parameters)} parameters",
        notes=notes,
        log_scale=logs,
    )


def _plain_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats; any other value (a listed mapping, a word) as its text, a category."""
    out = {}
    for column in inputs.columns:
        series = inputs[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            out[column] = series.map(lambda v: v if isinstance(v, str) else json.dumps(v, default=str)).astype(str)
        else:
            out[column] = series.astype(float)
    return pd.DataFrame(out, index=inputs.index)


def _sweep_outcome(cases: Cases, clause: Clause, text: str, source: str) -> np.ndarray:
    if clause.side:
        raise problem(
            source, text, f"'{clause.side}.' reads one side of an ensemble what-if; {cases.folder} is a sweep"
        )
    if clause.vendor == TOTAL:
        return _sweep_total(cases, clause, text, source)
    name = clause.outcome
    if name not in cases.values.columns:
        raise _unknown(cases, clause, text, source)
    return cases.values[name].to_numpy(dtype=float)


def _sweep_total(cases: Cases, clause: Clause, text: str, source: str) -> np.ndarray:
    if not additive(clause.metric):
        raise problem(source, text, f"{clause.metric}[all]: vendors' {clause.metric} does not add up to a market "
                      "total; name a vendor")  # fmt: skip
    parsed = _sweep_names(cases)
    wanted = [n for n, (m, v, p) in parsed.items() if m == clause.metric and v and p == (clause.period or "")]
    if not wanted:
        if any(m == clause.metric and v for m, v, _ in parsed.values()):
            raise _unknown(cases, clause, text, source)
        if any(m == clause.metric for m, _, _ in parsed.values()):
            raise problem(source, text, f"{clause.metric} is not recorded per vendor: remove [all]")
        raise _unknown(cases, clause, text, source)
    return cases.values[wanted].sum(axis=1, min_count=len(wanted)).to_numpy(dtype=float)


def _sweep_names(cases: Cases) -> dict[str, tuple[str, str, str]]:
    """Each outcome name as (metric, vendor, period)."""
    import re

    parsed = {}
    for name in [*cases.values.columns, *cases.labels.columns]:
        match = re.fullmatch(r"([^\[@]+)(?:\[([^\]]*)\])?(?:@(.+))?", str(name))
        if match:
            parsed[str(name)] = (match.group(1), match.group(2) or "", match.group(3) or "")
    return parsed


def _unknown(cases: Cases, clause: Clause, text: str, source: str) -> ScenarioError:
    """Which part of the outcome the sweep lacks: the metric, the vendor or the month."""
    parsed = _sweep_names(cases)
    metrics = dict.fromkeys(m for m, _, _ in parsed.values())
    if clause.metric not in metrics:
        return problem(source, text, f"unknown outcome {clause.metric!r}; the sweep recorded {choices(metrics)}")
    mine = [(v, p) for m, v, p in parsed.values() if m == clause.metric]
    vendors = dict.fromkeys(v for v, _ in mine if v)
    if clause.metric == LEADER:
        if clause.vendor not in vendors:
            return problem(source, text, f"leader[{clause.vendor or ''}]: the sweep recorded leaders of "
                           f"{choices(vendors)}")  # fmt: skip
    elif vendors and clause.vendor is None:
        return problem(source, text, f"{clause.metric} is recorded per vendor: name one, e.g. "
                       f"{clause.metric}[{next(iter(vendors))}] (or [all] for a market total); vendors: "
                       f"{choices(vendors)}")  # fmt: skip
    elif clause.vendor and clause.vendor != TOTAL and clause.vendor not in vendors:
        expected = f"vendors: {choices(vendors)}" if vendors else "it is a market outcome: remove [...]"
        return problem(source, text, f"unknown vendor {clause.vendor!r} for {clause.metric}; {expected}")
    periods = dict.fromkeys(p for v, p in mine if clause.vendor in (None, TOTAL, v))
    if clause.period is None and any(periods):
        return problem(source, text, f"{clause.metric} is recorded at months: add @MONTH, one of "
                       f"{choices(p for p in periods if p)}")  # fmt: skip
    if not any(periods):
        return problem(source, text, f"{clause.metric} is recorded once per run, not by month: remove @{clause.period}")
    return problem(source, text, f"unknown month or period {clause.period!r} for {clause.metric}; the sweep "
                   f"recorded {choices(p for p in periods if p)}")  # fmt: skip


# --- ensemble what-ifs ------------------------------------------------------------------------------


def _whatif_cases(folder: Path) -> Cases:
    try:
        record = json.loads((folder / WHATIF_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise refused(folder / WHATIF_MARKER, f"cannot read the what-if record: {error}") from None
    path = folder / WHATIF_SETS
    if not path.is_file():
        why = (
            "a what-if of one parameter set has no sets to compare; run it with --ensemble"
            if "parameters" not in record and "ensemble" not in record
            else "its per-set results are missing"
        )
        raise refused(
            folder,
            f"no per-set results (sets.parquet): {why}; ensemble what-ifs write them "
            "(run `sim whatif --ensemble` again)",
        )
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises its own errors for a truncated or foreign file
        raise refused(
            path,
            f"not a readable Parquet table ({type(error).__name__}): it may be truncated or "
            "corrupt; run `sim whatif --ensemble` again",
        ) from None
    names = [str(n) for n in record.get("parameters", [])]
    needed = {"set", "date", "vendor", "metric", "baseline", "whatif", *names}
    if not needed <= set(table.columns):
        missing = sorted(needed - set(table.columns))
        raise refused(
            path, f"not the per-set results `sim whatif --ensemble` writes (missing {', '.join(missing[:6])})"
        )
    inputs = table.drop_duplicates("set").set_index("set")[names].sort_index()
    digest = hashlib.sha256(str(record.get("identity", "")).encode())
    digest.update(json.dumps(record.get("changes", []), default=str).encode())
    digest.update(str(len(inputs)).encode())
    question = "; ".join(record.get("changes", [])) or "no change"
    return Cases(
        folder=folder,
        kind="whatif",
        unit="plausible sets",
        inputs=_plain_inputs(inputs.reset_index(drop=True)),
        values=table,
        labels=pd.DataFrame(),
        identity=digest.hexdigest(),
        description=f"ensemble what-if ({question}) over {len(inputs)} plausible sets of {record.get('ensemble', '?')}",
        notes=[],
    )


def _whatif_side(cases: Cases, clause: Clause, text: str, source: str) -> pd.DataFrame:
    """The rows of one metric over the clause's months: set x vendor means of both sides."""
    table = cases.values
    metrics = list(dict.fromkeys(table["metric"]))
    metric = clause.vendor if clause.metric == LEADER else clause.metric
    if clause.metric == LEADER and metric is None:
        raise problem(source, text, f"name the metric led: leader[{metrics[0]}]; metrics: {choices(metrics)}")
    if metric not in metrics:
        what = "leader of" if clause.metric == LEADER else "outcome"
        raise problem(source, text, f"unknown {what} {metric!r}; the what-if recorded {choices(metrics)}")
    months = list(dict.fromkeys(table["date"]))
    if clause.period is None:
        raise problem(source, text, f"add @MONTH (or @FROM..TO): the what-if recorded {months[0]} to {months[-1]}")
    start, _, end = clause.period.partition("..")
    end = end or start
    for month in (start, end):
        if month not in months:
            raise problem(source, text, f"unknown month {month}; the what-if recorded {months[0]} to {months[-1]}")
    rows = table[(table["metric"] == metric) & (table["date"] >= start) & (table["date"] <= end)]
    return rows.groupby(["set", "vendor"], sort=False)[["baseline", "whatif"]].mean()


def _whatif_outcome(cases: Cases, clause: Clause, text: str, source: str) -> np.ndarray:
    means = _whatif_side(cases, clause, text, source)
    vendors = list(dict.fromkeys(means.index.get_level_values("vendor")))
    if clause.vendor is None:
        raise problem(source, text, f"{clause.metric} is per vendor: name one, e.g. {clause.metric}[{vendors[0]}] "
                      f"(or [all] for the market's total); vendors: {choices(vendors)}")  # fmt: skip
    if clause.vendor == TOTAL:
        if not additive(clause.metric):
            raise problem(source, text, f"{clause.metric}[all]: vendors' {clause.metric} does not add up to a "
                          "market total; name a vendor")  # fmt: skip
        sides = means.groupby(level="set", sort=False).sum()
    else:
        if clause.vendor not in vendors:
            raise problem(source, text, f"unknown vendor {clause.vendor!r}; vendors: {choices(vendors)}")
        sides = means.xs(clause.vendor, level="vendor")
    sets = cases.values.drop_duplicates("set")["set"].sort_values()
    sides = sides.reindex(sets)
    if clause.side:
        return sides[clause.side].to_numpy(dtype=float)
    if additive(clause.metric):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (sides["whatif"] / sides["baseline"] - 1).to_numpy(dtype=float)
    return (sides["whatif"] - sides["baseline"]).to_numpy(dtype=float)


def _whatif_leader(cases: Cases, clause: Clause, text: str, source: str) -> np.ndarray:
    """The vendor leading the metric on the what-if side (or `baseline.`), in each set."""
    means = _whatif_side(cases, clause, text, source)
    side = means[clause.side or "whatif"].unstack("vendor")
    vendors = list(side.columns)
    if clause.value not in vendors:
        raise problem(source, text, f"unknown vendor {clause.value!r}; vendors: {choices(vendors)}")
    sets = cases.values.drop_duplicates("set")["set"].sort_values()
    return side.reindex(sets).idxmax(axis=1).to_numpy(dtype=object)
