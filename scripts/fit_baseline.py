"""Fit the baseline's free parameters to the public targets (data/targets-v2 figures).

The method of simulated moments with common random numbers: every candidate runs on the
same seeds; the distance is the sum of squared residuals, each scaled by its target's
tolerance (|r| <= 1 means within tolerance); scipy's differential evolution minimises it.
Only parameters that no public figure sets directly are free (docs/ODD.md, "Parameters":
every other one is a cited input or an assumption stated there).

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
from pathlib import Path

import numpy as np
from scipy.optimize import differential_evolution

import sim

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TARGETS = ROOT.parent / "shared" / "data" / "targets-v2.yaml"
if not TARGETS.exists():
    TARGETS = ROOT / "data" / "targets.yaml"
SMALL = ["agents.developers=40000", "agents.enterprises=15000"]

# dotted path -> (low, high, log scale)
FREE: dict[str, tuple[float, float, bool]] = {
    "developers.tokens_per_day": (2e3, 2e5, True),
    "developers.usage_growth": (0.0, 0.12, False),
    "developers.ecosystem_weight": (0.0, 5.0, False),
    "enterprises.tokens_per_day": (1e4, 3e6, True),
    "enterprises.adoption_rate": (0.005, 0.1, True),
    "enterprises.budget": (3e3, 3e5, True),
    "vendors.*.platform_fee": (100.0, 2e4, True),
    "labs.*.gpus": (0.3, 3.0, True),  # a common multiplier on every lab's GPUs at the start
    "labs.*.growth": (0.02, 0.15, False),
    "lab_choice.investor_bonus": (0.0, 4.0, False),
    "vendors.*.gpus": (0.3, 3.0, True),  # a common multiplier on every vendor's GPUs at the start
    "vendors.volcano.first_party.tokens_per_user": (300.0, 3e4, True),
    "vendors.volcano.first_party.tokens_per_user_growth": (0.05, 0.35, False),
}


def overrides_for(values: np.ndarray, base: sim.Scenario) -> list[str]:
    """--set style overrides for a vector of free-parameter values."""
    sets = []
    for (path, (_, _, log)), raw in zip(FREE.items(), values, strict=True):
        value = math.exp(raw) if log else float(raw)
        if path.startswith("labs.*."):
            field = path.split(".")[-1]
            for lab_id, lab in base.labs.items():
                scaled = getattr(lab, field) * value if field == "gpus" else value
                sets.append(f"labs.{lab_id}.{field}={scaled!r}")
        elif path == "vendors.*.gpus":
            sets += [f"vendors.{v}.gpus={spec.gpus * value!r}" for v, spec in base.vendors.items()]
        elif path.startswith("vendors.*."):
            field = path.split(".", 2)[2]
            sets += [f"vendors.{vendor}.{field}={value!r}" for vendor in base.vendors]
        else:
            sets.append(f"{path}={value!r}")
    return sets


def _sum(result: sim.RunResult, column: str, first: str, last: str):
    return result.wide(column).loc[first:last].sum()


def _log_miss(value: float, target: float, factor: float) -> float:
    """log(value / target) in units of log(factor); a vanished value counts as 100 factors off."""
    return math.log(value / target) / math.log(factor) if value > 0 else -100.0


def residuals(result: sim.RunResult) -> dict[str, float]:
    """Each target's miss scaled by its tolerance: |r| <= 1 is within tolerance."""
    market = result.market.set_index("date")
    tokens = _sum(result, "api_tokens_per_day", "2025-01", "2025-06")
    token_share = tokens / tokens.sum()
    revenue = _sum(result, "revenue", "2025-01", "2025-06")
    revenue_share = revenue / revenue.sum()
    headline = result.wide("headline_tokens_per_day")["volcano"]
    alibaba = result.wide("revenue")["alibaba"]
    year, half = market.loc["2024-01":"2024-12", "revenue"].sum(), market.loc["2025-01":"2025-06", "revenue"].sum()
    token_leader = result.wide("token_share").loc["2025-01":"2025-12"].idxmax(axis=1)
    revenue_leader = result.wide("revenue_share").loc["2025-01":"2025-12"].idxmax(axis=1)
    diverging = ((token_leader == "volcano") & (revenue_leader == "alibaba")).mean()
    others = token_share.drop(["volcano", "alibaba", "baidu"]).max()
    return {
        "token share volcano": (token_share["volcano"] - 0.492) / 0.05,
        "token share alibaba": (token_share["alibaba"] - 0.27) / 0.05,
        "token share baidu": (token_share["baidu"] - 0.17) / 0.05,
        "baidu above every other vendor": max(0.0, others - token_share["baidu"]) / 0.02,
        "api tokens 2024": _log_miss(market.loc["2024-01":"2024-12", "api_tokens_per_day"].mean(), 3.12e11, 1.5),
        "api tokens H1 2025": _log_miss(market.loc["2025-01":"2025-06", "api_tokens_per_day"].mean(), 2.97e12, 1.5),
        "revenue share alibaba": (revenue_share["alibaba"] - 0.358) / 0.04,
        "alibaba leads revenue": max(0.0, revenue_share.drop("alibaba").max() - revenue_share["alibaba"]) / 0.02,
        "revenue 2024": (year / 20.83e9 - 1) / 0.25,
        "revenue H1 2025": (half / 22.3e9 - 1) / 0.25,
        "revenue growth": (half / year - 1.07) / 0.10,
        "alibaba Q2 growth >= 2": max(
            0.0, 2.0 - alibaba.loc["2025-04":"2025-06"].sum() / alibaba.loc["2024-04":"2024-06"].sum()
        )
        / 0.2,
        "divergence every month of 2025": (1.0 - diverging) * 3,
        "volcano headline May 2024": _log_miss(headline["2024-05"], 1.2e11, 1.5),
        "volcano headline Sep 2025": _log_miss(headline["2025-09"], 3.0e13, 1.5),
    }


def distance(values: np.ndarray, base: sim.Scenario, seeds: list[int]) -> float:
    try:
        scenario = sim.override(base, *overrides_for(values, base))
    except Exception:
        return 1e6
    total = 0.0
    for seed in seeds:
        found = residuals(sim.run(scenario, seed=seed))
        total += sum(min(r * r, 100.0) if np.isfinite(r) else 100.0 for r in found.values())
    return total / len(seeds)


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
    """Set `key: value` for a dotted path in block or flow YAML, one level of nesting at a time."""
    lines = text.splitlines(keepends=True)
    start, indent = 0, -1
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        for i in range(start, len(lines)):
            line = lines[i]
            stripped = line.lstrip()
            current = len(line) - len(stripped)
            if current <= indent and stripped and not stripped.startswith("#") and i > start:
                break
            if stripped.startswith(f"{key}:") and current > indent:
                rest = stripped[len(key) + 1 :]
                if last or rest.strip().startswith("{"):
                    inner = path[depth + 1 :] if not last else []
                    lines[i] = line[:current] + key + ":" + _set_in_flow(rest, inner, value)
                    return "".join(lines)
                start, indent = i + 1, current
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
    parser.add_argument("--budget", type=int, default=40, help="generations of differential evolution")
    parser.add_argument("--popsize", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="processes evaluating candidates")
    parser.add_argument("--evaluate", action="store_true", help="print the residuals of the scenario as it is")
    parser.add_argument("--write", action="store_true", help="write the best values into scenarios/baseline.yaml")
    args = parser.parse_args()
    base = sim.load_scenario(BASELINE, SMALL)
    x0 = start_vector(base)
    if args.evaluate:
        for name, r in residuals(sim.run(base, seed=args.seeds[0])).items():
            print(f"{'ok ' if abs(r) <= 1 else 'MISS'} {r:+7.2f}  {name}")
        return 0
    bounds = [(math.log(lo), math.log(hi)) if log else (lo, hi) for lo, hi, log in FREE.values()]
    x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
    began = time.perf_counter()

    def report(xk, convergence=0.0):
        print(f"{time.perf_counter() - began:6.0f} s  distance {distance(xk, base, args.seeds):8.2f}", flush=True)

    fit = differential_evolution(
        distance,
        bounds,
        args=(base, args.seeds),
        x0=x0,
        maxiter=args.budget,
        popsize=args.popsize,
        seed=0,
        polish=False,
        tol=1e-3,
        workers=args.workers,
        updating="deferred" if args.workers > 1 else "immediate",
        callback=report,
    )
    print(f"distance {fit.fun:.3f} after {fit.nfev} runs")
    for (path, (_, _, log)), raw in zip(FREE.items(), fit.x, strict=True):
        print(f"  {path}: {math.exp(raw) if log else raw:.4g}")
    for name, r in residuals(sim.run(sim.override(base, *overrides_for(fit.x, base)), seed=args.seeds[0])).items():
        print(f"{'ok ' if abs(r) <= 1 else 'MISS'} {r:+7.2f}  {name}")
    if args.write:
        write_back(fit.x, base)
        print(f"written into {BASELINE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
