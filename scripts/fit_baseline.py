"""Fit the baseline's free parameters to the public targets (data/targets-v2 figures).

The method of simulated moments with common random numbers: every candidate runs on the
same seeds; the distance is the sum of squared residuals, each scaled by its target's
tolerance (|r| <= 1 means within tolerance); scipy's least_squares (trust-region
reflective, within the bounds) minimises it, with forward differences over 3 % of each
parameter's range (small steps would only see sampling noise).
Twelve parameters are free, no more than the twelve figures the targets give as levels
(the ranking, leader and divergence targets and Alibaba's growth floor only bound the fit);
every other parameter is a cited input or an assumption stated in docs/ODD.md ("Parameters").

    python scripts/fit_baseline.py                       # fit, print the best parameters
    python scripts/fit_baseline.py --evaluate            # residuals of the scenario as it is
    python scripts/fit_baseline.py --budget 60 --write   # and write them into scenarios/baseline.yaml

The full calibration tool (ensembles, identification, out-of-sample checks) is its own
piece of work; this script is the reproducible record of how the baseline was fitted.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

import sim
from sim.report.targets import load_targets

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TARGETS = ROOT / "data" / "targets.yaml"
SMALL = ["agents.developers=40000", "agents.enterprises=15000"]

# dotted path -> (low, high, log scale)
FREE: dict[str, tuple[float, float, bool]] = {
    "developers.tokens_per_day": (2e3, 2e5, True),
    "developers.usage_growth": (0.0, 0.25, False),
    "developers.ecosystem_weight": (0.0, 6.0, False),
    "enterprises.tokens_per_day": (1e4, 3e6, True),
    "enterprises.adoption_rate": (0.001, 0.1, True),
    "enterprises.imitation": (0.0, 0.8, False),
    "vendors.*.platform_fee": (100.0, 2e4, True),
    "labs.*.gpus": (0.1, 3.0, True),  # a common multiplier on every lab's GPUs at the start
    "labs.*.growth": (0.02, 0.3, False),
    "lab_choice.investor_bonus": (0.0, 6.0, False),
    "vendors.volcano.first_party.tokens_per_user": (300.0, 3e4, True),
    "vendors.volcano.first_party.tokens_per_user_growth": (0.05, 0.5, False),
}


def overrides_for(values: np.ndarray, base: sim.Scenario) -> list[str]:
    """--set style overrides for a vector of free-parameter values."""
    sets = []
    for (path, (_, _, log)), raw in zip(FREE.items(), values, strict=True):
        value = math.exp(raw) if log else float(raw)
        if path.startswith("labs.*."):
            field = path.split(".")[-1]
            for lab_id, lab in base.labs.items():
                if field == "gpus":  # a common multiplier; the ceiling keeps its ratio to the start
                    sets.append(f"labs.{lab_id}.gpus={lab.gpus * value!r}")
                    sets.append(f"labs.{lab_id}.ceiling={lab.ceiling * value!r}")
                else:
                    sets.append(f"labs.{lab_id}.{field}={value!r}")
        elif path == "vendors.*.gpus":
            sets += [f"vendors.{v}.gpus={spec.gpus * value!r}" for v, spec in base.vendors.items()]
        elif path.startswith("vendors.*."):
            field = path.split(".", 2)[2]
            sets += [f"vendors.{vendor}.{field}={value!r}" for vendor in base.vendors]
        else:
            sets.append(f"{path}={value!r}")
    return sets


def _log_miss(value: float, target: float, factor: float) -> float:
    """log(value / target) in units of log(factor); a vanished value counts as 100 factors off."""
    return math.log(value / target) / math.log(factor) if value > 0 else -100.0


def _factor(target: dict) -> float:
    return float(str(target["tolerance"]).split("factor of")[1].split()[0])


def _period(result: sim.RunResult, column: str, period: list):
    return result.wide(column).loc[str(period[0]) : str(period[1])].sum()


def residuals(result: sim.RunResult, targets: list[dict]) -> dict[str, float]:
    """Each target's miss scaled by its tolerance (|r| <= 1 is within tolerance), read from the targets file."""
    market = result.market.set_index("date")
    found: dict[str, float] = {}
    for target in targets:
        kind, values = target["id"], target.get("values", {})
        if kind in ("token_share_h1_2025", "ai_cloud_revenue_share_h1_2025"):
            column = "api_tokens_per_day" if kind.startswith("token") else "revenue"
            sums = _period(result, column, target["period"])
            share = sums / sums.sum()
            for vendor, value in values.items():
                found[f"{kind} {vendor}"] = (share[vendor] - value) / float(target["tolerance"])
            named = list(values)
            if kind.startswith("token"):
                last = named[-1]
                found[f"{kind} ranking"] = max(0.0, share.drop(named).max() - share[last]) / 0.02
            else:
                found[f"{kind} leader"] = max(0.0, share.drop(named[0]).max() - share[named[0]]) / 0.02
        elif kind in ("external_api_tokens_h1_2025", "external_api_tokens_2024"):
            first, last = map(str, target["period"])
            mean = market.loc[first:last, "api_tokens_per_day"].mean()
            found[kind] = _log_miss(mean, float(values["total_per_day"]), _factor(target))
        elif kind == "ai_cloud_market_revenue":
            spans = {"year_2024": ("2024-01", "2024-12"), "h1_2025": ("2025-01", "2025-06")}
            for key, value in values.items():
                total = market.loc[spans[key][0] : spans[key][1], "revenue"].sum()
                found[f"{kind} {key}"] = (total / float(value) - 1) / 0.25
        elif kind == "ai_cloud_market_growth":
            ratio = market.loc["2025-01":"2025-06", "revenue"].sum() / market.loc["2024-01":"2024-12", "revenue"].sum()
            found[kind] = (ratio - float(values["ratio"])) / float(target["tolerance"])
        elif kind == "alibaba_ai_revenue_growth":
            alibaba = result.wide("revenue")["alibaba"]
            ratio = alibaba.loc["2025-04":"2025-06"].sum() / alibaba.loc["2024-04":"2024-06"].sum()
            floor = float(values["ratio_at_least"])
            found[kind] = max(0.0, floor - ratio) / (0.1 * floor)
        elif kind == "metric_divergence_2025":
            first, last = map(str, target["period"])
            tokens = result.wide("token_share").loc[first:last].idxmax(axis=1)
            revenue = result.wide("revenue_share").loc[first:last].idxmax(axis=1)
            found[kind] = (1.0 - ((tokens == "volcano") & (revenue == "alibaba")).mean()) * 3
        elif kind == "volcano_headline_tokens":
            headline = result.wide("headline_tokens_per_day")["volcano"]
            may, sep = headline["2024-05"], headline["2025-09"]
            found[f"{kind} May 2024"] = _log_miss(may, float(values["may_2024"]), 1.5)
            found[f"{kind} Sep 2025"] = _log_miss(sep, float(values["sep_2025"]), 1.5)
            found[f"{kind} ratio"] = _log_miss(sep / may if may > 0 else 0.0, float(values["ratio"]), 2.0)
        else:
            raise KeyError(f"no residual is defined for target {kind!r}")
    return found


def residual_vector(unit: np.ndarray, base: sim.Scenario, seeds: list[int], targets: list[dict]) -> np.ndarray:
    """Residuals of a candidate given in unit coordinates (each free parameter scaled to 0-1)."""
    scenario = sim.override(base, *overrides_for(from_unit(unit), base))
    rows = [list(residuals(sim.run(scenario, seed=seed), targets).values()) for seed in seeds]
    return np.clip(np.nan_to_num(np.mean(rows, axis=0), nan=10.0), -10.0, 10.0)


BOUNDS = [(math.log(lo), math.log(hi)) if log else (lo, hi) for lo, hi, log in FREE.values()]


def to_unit(values: np.ndarray) -> np.ndarray:
    low, high = np.array(BOUNDS).T
    return (values - low) / (high - low)


def from_unit(unit: np.ndarray) -> np.ndarray:
    low, high = np.array(BOUNDS).T
    return low + np.clip(unit, 0.0, 1.0) * (high - low)


def start_vector(base: sim.Scenario) -> np.ndarray:
    """The scenario's current values of the free parameters (labs' GPU multiplier = 1)."""
    values = []
    for path, (_, _, log) in FREE.items():
        if path in ("labs.*.gpus", "vendors.*.gpus"):
            value = 1.0
        elif path.startswith(("labs.*.", "vendors.*.")):
            section, _, field = path.split(".", 2)
            first = next(iter(getattr(base, section).values()))
            value = _dotted(first, field)
        else:
            value = _dotted(base, path)
        values.append(math.log(value) if log else value)
    return np.array(values)


def _dotted(obj, path: str):
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def write_back(values: np.ndarray, base: sim.Scenario) -> None:
    """Replace the fitted values in scenarios/baseline.yaml, keeping its comments."""
    text = BASELINE.read_text(encoding="utf-8")
    for assignment in overrides_for(values, base):
        path, value = assignment.split("=", 1)
        text = _replace_value(text, path.split("."), f"{float(value):.4g}")
    BASELINE.write_text(text, encoding="utf-8")


def _replace_value(text: str, path: list[str], value: str) -> str:
    """Set `key: value` for a dotted path in block or flow YAML, keeping comments and layout."""
    lines = text.splitlines(keepends=True)
    start, child_indent = 0, 0
    for depth, key in enumerate(path):
        for i in range(start, len(lines)):
            stripped = lines[i].lstrip()
            if not stripped.strip() or stripped.startswith("#"):
                continue
            current = len(lines[i]) - len(stripped)
            if current < child_indent:
                break  # left the section without finding the key
            if current > child_indent or not stripped.startswith(f"{key}:"):
                continue
            rest = stripped[len(key) + 1 :]
            if depth == len(path) - 1 or rest.strip().startswith("{"):
                lines[i] = lines[i][:current] + key + ":" + _set_in_flow(rest, path[depth + 1 :], value)
                return "".join(lines)
            start = i + 1
            following = next(line for line in lines[start:] if line.strip() and not line.lstrip().startswith("#"))
            child_indent = len(following) - len(following.lstrip())
            break
        else:
            raise KeyError(".".join(path))
    raise KeyError(".".join(path))


def _set_in_flow(rest: str, inner: list[str], value: str) -> str:
    if not inner:
        comment = re.search(r"\s+#.*$", rest.rstrip("\n"))
        return f" {value}" + (comment.group(0) if comment else "") + "\n"
    key = inner[-1]
    updated, count = re.subn(rf"(\b{key}:\s*)([^,}}]+)", rf"\g<1>{value}", rest, count=1)
    if not count:
        raise KeyError(key)
    return updated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--budget", type=int, default=15, help="most Gauss-Newton steps (each runs 1 + parameters)")
    parser.add_argument("--targets", type=Path, default=TARGETS, help="targets file (default data/targets.yaml)")
    parser.add_argument("--workers", type=int, default=2, help="processes evaluating candidates")
    parser.add_argument("--evaluate", action="store_true", help="print the residuals of the scenario as it is")
    parser.add_argument("--write", action="store_true", help="write the best values into scenarios/baseline.yaml")
    args = parser.parse_args()
    base = sim.load_scenario(BASELINE, SMALL)
    x0 = start_vector(base)
    if args.evaluate:
        for name, r in residuals(sim.run(base, seed=args.seeds[0]), load_targets(args.targets)).items():
            print(f"{'ok ' if abs(r) <= 1 else 'MISS'} {r:+7.2f}  {name}")
        return 0
    targets = load_targets(args.targets)
    start = np.clip(to_unit(x0), 0.0, 1.0)
    began = time.perf_counter()
    step = 0.03

    def jacobian(unit: np.ndarray, *_: object) -> np.ndarray:
        """Forward differences with a step of 3 % of each parameter's range, both cores at once."""
        points = [np.clip(unit + step * np.eye(len(unit))[i], 0, 1) for i in range(len(unit))]
        centre = residual_vector(unit, base, args.seeds, targets)
        with ProcessPoolExecutor(args.workers) as pool:
            moved = list(pool.map(residual_vector, points, repeat(base), repeat(args.seeds), repeat(targets)))
        columns = [(m - centre) / max(p[i] - unit[i], 1e-9) for i, (m, p) in enumerate(zip(moved, points, strict=True))]
        cost = float(np.sum(centre**2))
        print(f"{time.perf_counter() - began:6.0f} s  sum of squared residuals {cost:8.2f}", flush=True)
        return np.array(columns).T

    fit = least_squares(
        residual_vector,
        start,
        jac=jacobian,
        bounds=(0.0, 1.0),
        args=(base, args.seeds, targets),
        max_nfev=args.budget,
        x_scale=1.0,
    )
    best = from_unit(fit.x)
    print(f"sum of squared residuals {2 * fit.cost:.3f} after {fit.nfev} steps")
    for (path, (_, _, log)), raw in zip(FREE.items(), best, strict=True):
        print(f"  {path}: {math.exp(raw) if log else raw:.4g}")
    final = residuals(sim.run(sim.override(base, *overrides_for(best, base)), seed=args.seeds[0]), targets)
    for name, r in final.items():
        print(f"{'ok ' if abs(r) <= 1 else 'MISS'} {r:+7.2f}  {name}")
    if args.write:
        write_back(best, base)
        print(f"written into {BASELINE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
