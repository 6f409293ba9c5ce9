"""The weighted posterior: every candidate weighed by prior, fit and the density it was drawn from.

Error model. Each fitted figure's scaled miss z (miss / tolerance) is read as a standard
normal error: the tolerance is one standard deviation of how far a right model may miss a
public figure (data error and what the model leaves out). The likelihood of a parameter set
is then exp(-distance / 2), the distance being the weighted sum of squared misses the search
minimises. This is ABC with a Gaussian kernel whose width is the tolerance.

Importance sampling. Candidates come from several stages: the Sobol' points (uniform on the
box), the optimiser, and the refocusing rounds (truncated kernels, `search.Proposal`). The
optimiser's density is not known, so its candidates are left out; the others are weighed
as a deterministic mixture (Owen and Zhou 2000): w = prior(u) * likelihood(u) / q(u), where
q is the stages' densities averaged by their numbers of candidates. Weighted, they are a
sample of the posterior; their mean weight estimates the evidence p(figures | model), whose
ratio between two variants fitted to the same figures is the Bayes factor.

The effective sample size (ESS) says how many equally weighted sets they are worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from sim.calibrate.search import UNIT, Proposal, UniformBox, round_proposal
from sim.calibrate.spec import Calibration, FreeParameter

WEIGHT = "weight"
CENTRAL = (0.05, 0.95)  # a public value outside this central range of its predictive distribution is named


def log_prior(calibration: Calibration, units: np.ndarray) -> np.ndarray:
    """Log prior density of each candidate in unit coordinates (the product over parameters)."""
    total = np.zeros(len(units))
    for column, parameter in enumerate(calibration.parameters):
        total += parameter_log_prior(parameter.spec, units[:, column])
    return total


def parameter_log_prior(spec: FreeParameter, unit: np.ndarray) -> np.ndarray:
    """One parameter's prior as a density on its unit coordinate (0 = low, 1 = high), truncated."""
    prior = spec.prior
    unit = np.asarray(unit, dtype=float)
    outside = (unit < 0) | (unit > 1)
    if prior.dist == "uniform":
        density = np.zeros_like(unit)
    elif prior.dist == "beta":
        density = stats.beta(prior.a, prior.b).logpdf(np.clip(unit, 0.0, 1.0))
    else:
        if prior.dist == "normal":
            law = stats.norm(prior.mean, prior.sd)
        else:
            law = stats.lognorm(prior.sigma, scale=prior.median)
        mass = law.cdf(spec.high) - law.cdf(spec.low)
        value = np.array([spec.value(float(u)) for u in np.clip(unit, 0.0, 1.0)])
        density = law.logpdf(value) + np.log(_value_per_unit(spec, value)) - math.log(max(mass, 1e-300))
    return np.where(outside, -np.inf, density)


def _value_per_unit(spec: FreeParameter, value: np.ndarray) -> np.ndarray:
    """d value / d unit: the Jacobian from a parameter's own units to its unit coordinate."""
    if spec.scale == "log":
        return value * math.log(spec.high / spec.low)
    return np.full_like(value, spec.high - spec.low)


@dataclass(frozen=True)
class Posterior:
    """Importance weights of the weighed candidates, the evidence, and the effective sample size."""

    weights: pd.Series  # by evaluations' row index; sums to 1; 0 for candidates that could not run
    log_evidence: float  # log of the mean unnormalised weight: log p(figures | model) up to a constant
    ess: float
    weighed: int  # candidates weighed (every stage but the optimiser's and the base's)

    def summary(self, evaluations: pd.DataFrame, calibration: Calibration) -> pd.DataFrame:
        """Each parameter's weighted mean, sd and 5 / 50 / 95 % quantiles, in its own units."""
        rows = []
        chosen = evaluations.loc[self.weights.index]
        w = self.weights.to_numpy()
        for parameter in calibration.parameters:
            values = chosen[parameter.name].to_numpy(dtype=float)
            mean = float(np.sum(w * values)) if len(values) else math.nan
            sd = float(math.sqrt(max(np.sum(w * (values - mean) ** 2), 0.0))) if len(values) else math.nan
            q05, q50, q95 = weighted_quantiles(values, w, [0.05, 0.5, 0.95])
            rows.append({"parameter": parameter.name, "mean": mean, "sd": sd, "p05": q05, "median": q50, "p95": q95})
        return pd.DataFrame(rows)


def posterior(evaluations: pd.DataFrame, calibration: Calibration) -> Posterior:
    """Weigh every candidate drawn from a known density (see the module's docstring)."""
    proposals = stage_proposals(evaluations, calibration)
    weighed = evaluations[evaluations["stage"].isin(list(proposals))]
    columns = [f"{UNIT}{n}" for n in calibration.names]
    units = weighed[columns].to_numpy(dtype=float)
    counts = weighed["stage"].value_counts()
    mixture = [np.log(counts[stage] / len(weighed)) + proposal.logpdf(units) for stage, proposal in proposals.items()]
    log_q = special.logsumexp(np.vstack(mixture), axis=0) if mixture else np.zeros(len(units))
    distance = weighed["distance"].to_numpy(dtype=float)
    log_w = log_prior(calibration, units) - 0.5 * distance - log_q
    log_w = np.where(np.isfinite(distance), log_w, -np.inf)
    if not len(log_w) or not np.isfinite(log_w).any():
        empty = pd.Series(np.zeros(len(weighed)), index=weighed.index, dtype=float)
        return Posterior(empty, -math.inf, 0.0, len(weighed))
    log_total = float(special.logsumexp(log_w))
    weights = np.exp(log_w - log_total)
    ess = float(1.0 / np.sum(weights**2))
    return Posterior(pd.Series(weights, index=weighed.index), log_total - math.log(len(log_w)), ess, len(weighed))


def stage_proposals(evaluations: pd.DataFrame, calibration: Calibration) -> dict[str, Proposal]:
    """Each weighed stage's density, rebuilt from the candidates before it as the search built it."""
    proposals: dict[str, Proposal] = {}
    ordered = evaluations.sort_values("candidate")
    for stage in dict.fromkeys(ordered["stage"].astype(str)):
        if stage == "initial":
            proposals[stage] = UniformBox(len(calibration.parameters))
        elif stage.startswith("round"):
            first = ordered.loc[ordered["stage"] == stage, "candidate"].min()
            proposals[stage] = round_proposal(ordered[ordered["candidate"] < first], calibration)
    return proposals


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, levels: list[float]) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted empirical distribution)."""
    keep = weights > 0
    values, weights = np.asarray(values)[keep], np.asarray(weights)[keep]
    if not len(values):
        return [math.nan] * len(levels)
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / np.sum(weights)
    return [float(values[order][min(np.searchsorted(cumulative, level), len(values) - 1)]) for level in levels]


def predictive_percentile(misses: np.ndarray, weights: np.ndarray) -> float:
    """Where a public value falls in the posterior predictive distribution of its figure, 0 to 1.

    A figure's prediction is the model's value plus the error model's normal error, so in
    scaled misses it is z + e: the public value (z = 0) lies at P(z + e <= 0) = sum w * Phi(-z).
    """
    keep = np.isfinite(misses) & (weights > 0)
    if not keep.any():
        return math.nan
    return float(np.sum(weights[keep] * stats.norm.cdf(-misses[keep])) / np.sum(weights[keep]))


def log_predictive_density(misses: np.ndarray, weights: np.ndarray) -> float:
    """log of the posterior predictive density at the public value, in scaled-miss units (a proper score)."""
    keep = np.isfinite(misses) & (weights > 0)
    if not keep.any():
        return -math.inf
    return float(special.logsumexp(stats.norm.logpdf(misses[keep]), b=weights[keep] / np.sum(weights[keep])))


def outside_central(percentile: float) -> bool:
    return not (CENTRAL[0] <= percentile <= CENTRAL[1])


@dataclass(frozen=True)
class Verdicts:
    """Each figure's public value against the posterior predictive distribution.

    For fitted figures it is a posterior predictive check: a public value far in a tail means
    the fitted model cannot reproduce that figure together with the others. For figures left
    out of the fit (after `until`) it is a forecast: a hit when the public value lies in the
    central 90 % of the prediction.
    """

    table: pd.DataFrame  # figure, role, public, p05, p95, percentile, log_density, outside

    def forecast(self) -> pd.DataFrame:
        return self.table[self.table["role"] == "predicted"]

    def score(self) -> tuple[int, int, float]:
        """Forecasts: hits, figures, and the mean log predictive density (higher is better)."""
        forecast = self.forecast()
        hits = int((~forecast["outside"]).sum())
        return hits, len(forecast), float(forecast["log_density"].mean()) if len(forecast) else math.nan


def verdicts(
    evaluations: pd.DataFrame, post: Posterior, moments: dict[str, dict], fitted: list[str], sim: str, z: str
) -> Verdicts:
    """Every figure's predictive interval (weighted 5-95 % of the simulated value), percentile and score."""
    chosen = evaluations.loc[post.weights.index]
    w = post.weights.to_numpy()
    rows = []
    for name, info in moments.items():
        simulated = chosen[f"{sim}{name}"].to_numpy(dtype=float)
        misses = chosen[f"{z}{name}"].to_numpy(dtype=float)
        finite = np.isfinite(simulated)
        p05, p95 = weighted_quantiles(simulated[finite], w[finite], list(CENTRAL))
        percentile = predictive_percentile(misses, w)
        rows.append(
            {
                "figure": name,
                "role": "fitted" if name in fitted else "predicted",
                "public": info["public"],
                "p05": p05,
                "p95": p95,
                "percentile": percentile,
                "log_density": log_predictive_density(misses, w),
                "outside": bool(not math.isfinite(percentile) or outside_central(percentile)),
            }
        )
    columns = ["figure", "role", "public", "p05", "p95", "percentile", "log_density", "outside"]
    return Verdicts(pd.DataFrame(rows, columns=columns))
