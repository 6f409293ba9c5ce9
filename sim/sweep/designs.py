"""Designs: which parameter sets a sweep runs.

Sampling designs draw points in the unit hypercube, with scipy.stats.qmc (Latin
hypercube), SALib (Saltelli's scheme for Sobol' indices, Morris trajectories) or NumPy's
generator (plain random); each coordinate is then mapped to a parameter value through the
inverse of its distribution (scipy.stats), or to one of its listed values. The unit
coordinates are kept beside the values: SALib's analyses need them, and they do not
depend on the distributions. The full grid takes every combination in file order (the
first parameter varies slowest).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from sim.sweep.spec import (
    Grid,
    LatinHypercube,
    LogUniform,
    Morris,
    Normal,
    Parameter,
    RandomDesign,
    Sobol,
    Uniform,
    Values,
)

UNIT_PREFIX = "unit."
EDGE = 1e-12  # keeps unbounded inverse distributions finite at a coordinate of exactly 0 or 1


@dataclass(frozen=True)
class Design:
    """The parameter sets of a sweep, in order (`point` i is the i-th)."""

    method: str
    names: list[str]
    values: list[dict[str, Any]]
    unit: np.ndarray | None = None  # (points, parameters) in [0, 1], for sampling designs
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.values)

    def problem(self) -> dict[str, Any]:
        """SALib's problem on the unit hypercube (indices do not depend on the scale)."""
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": [[0.0, 1.0]] * len(self.names)}

    def table(self, unit: bool = True) -> pd.DataFrame:
        """One row per point: `point`, each parameter's value and, if `unit`, its unit coordinate."""
        columns: dict[str, Any] = {"point": np.arange(self.size, dtype=np.int64)}
        for name in self.names:
            columns[name] = column_values([point[name] for point in self.values])
        if unit and self.unit is not None:
            for j, name in enumerate(self.names):
                columns[UNIT_PREFIX + name] = self.unit[:, j]
        return pd.DataFrame(columns)


def column_values(values: list[Any]) -> np.ndarray | list[str]:
    """A typed column: whole numbers, numbers, flags or text; anything else as JSON text."""
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return list(values)
    return [json.dumps(v, sort_keys=True, default=str) for v in values]


def make_design(spec: Grid | RandomDesign | LatinHypercube | Sobol | Morris, parameters: list[Parameter]) -> Design:
    """The design's points, each a mapping from parameter name to value."""
    names = [p.name for p in parameters]
    if isinstance(spec, Grid):
        levels = [grid_levels(p.spec) for p in parameters]
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*levels)]
        return Design("grid", names, points, None, {})
    unit, options = unit_sample(spec, len(parameters), names)
    columns = [from_unit(p.spec, unit[:, j]) for j, p in enumerate(parameters)]
    points = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
    return Design(spec.method, names, points, unit, options)


def unit_sample(
    spec: RandomDesign | LatinHypercube | Sobol | Morris, dimensions: int, names: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Points in [0, 1]^d from the design's sampler, and the options an analysis needs.

    SALib is imported here, when a design needs it, so that `import sim` stays quick.
    """
    from SALib.sample import morris as morris_sampler
    from SALib.sample import sobol as sobol_sampler

    problem = {"num_vars": dimensions, "names": names, "bounds": [[0.0, 1.0]] * dimensions}
    if isinstance(spec, RandomDesign):
        return np.random.default_rng(spec.seed).random((spec.samples, dimensions)), {"seed": spec.seed}
    if isinstance(spec, LatinHypercube):
        sampler = qmc.LatinHypercube(dimensions, optimization=spec.optimization, rng=np.random.default_rng(spec.seed))
        return sampler.random(spec.samples), {"seed": spec.seed}
    if isinstance(spec, Sobol):
        unit = sobol_sampler.sample(problem, spec.samples, calc_second_order=spec.second_order, seed=spec.seed)
        return unit, {"samples": spec.samples, "second_order": spec.second_order, "seed": spec.seed}
    unit = morris_sampler.sample(problem, spec.trajectories, num_levels=spec.levels, seed=spec.seed)
    return unit, {"trajectories": spec.trajectories, "levels": spec.levels, "seed": spec.seed}


def distribution(spec: Uniform | LogUniform | Normal) -> stats.rv_continuous:
    """The scipy.stats distribution a parameter is drawn from."""
    if isinstance(spec, LogUniform):
        return stats.loguniform(spec.low, spec.high)
    if isinstance(spec, Uniform):
        return stats.uniform(loc=spec.low, scale=spec.high - spec.low)
    a, b = (spec.low - spec.mean) / spec.sd, (spec.high - spec.mean) / spec.sd
    return stats.truncnorm(a, b, loc=spec.mean, scale=spec.sd)


def from_unit(spec: Values | Uniform | LogUniform | Normal, unit: np.ndarray) -> list[Any]:
    """Map unit coordinates to values: a listed value by equal slices, else the inverse distribution."""
    if isinstance(spec, Values):
        index = np.minimum(np.floor(unit * len(spec.values)).astype(int), len(spec.values) - 1)
        return [spec.values[i] for i in index]
    values = distribution(spec).ppf(np.clip(unit, EDGE, 1 - EDGE) if isinstance(spec, Normal) else unit)
    return _typed(values, spec.integer)


def grid_levels(spec: Values | Uniform | LogUniform | Normal) -> list[Any]:
    """A parameter's values on a grid: its list, or `levels` points spanning its distribution.

    Uniform: evenly spaced from low to high; log-uniform: evenly spaced in logarithm;
    normal: the quantiles at the middle of `levels` equal-probability slices.
    """
    if isinstance(spec, Values):
        return list(spec.values)
    count = spec.levels or 0
    if isinstance(spec, LogUniform):
        values = np.geomspace(spec.low, spec.high, count)
    elif isinstance(spec, Uniform):
        values = np.linspace(spec.low, spec.high, count)
    else:
        values = distribution(spec).ppf((np.arange(count) + 0.5) / count)
    return _typed(values, spec.integer)


def _typed(values: np.ndarray, integer: bool) -> list[Any]:
    if integer:
        return [int(v) for v in np.rint(values)]
    return [float(v) for v in values]
