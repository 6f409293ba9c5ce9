"""The weighted posterior: every candidate weighed by prior, fit and the density it was drawn from.

Error model. Each fitted figure's scaled miss z (miss / tolerance) is read as a standard
normal error: the tolerance is one standard deviation of how far a right model may miss a
public figure (data error and what the model leaves out). The likelihood of a parameter set
is then exp(-distance / 2), the distance being the weighted sum of squared misses the search
minimises. This is ABC with a Gaussian kernel whose width is the tolerance.

Importance sampling. Candidates come from several stages: the Sobol' points (uniform on the
box), the optimiser, the refocusing rounds (truncated kernels round the plausible sets) and
the posterior rounds (weighted kernels round the posterior so far; `proposals.py`). The
optimiser's density is not known, so its candidates are left out; the others are weighed
as a deterministic mixture (Owen and Zhou 2000): w = prior(u) * likelihood(u) / q(u), where
q is the stages' densities averaged by their numbers of candidates. Weighted, they are a
sample of the posterior; their mean weight estimates the evidence p(figures | model), whose
ratio between two variants fitted to the same figures is the Bayes factor.

The effective sample size (ESS) says how many equally weighted sets they are worth. The
posterior rounds exist to raise it: population Monte Carlo with tempering, each round
drawing where the posterior so far has its mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from sim.calibrate.emulator import emulated_proposal, fit_emulator, held_back_accuracy
from sim.calibrate.proposals import UNIT, KernelProposal, MixtureProposal, Proposal, UniformBox, round_proposal
from sim.calibrate.spec import Calibration, FreeParameter

WEIGHT = "weight"
ROUND_STAGE, POSTERIOR_STAGE = "round", "posterior"
TEMPER_FLOOR = 30  # effective sets a posterior round's kernel is built on (at least 2 x (dimensions + 1))
TEMPERATURES = np.geomspace(1.0, 1e6, 241)  # the temperatures tried, lowest first
EMULATED = 0.5  # share of a posterior round drawn round the linear emulator's posterior
KEPT_WEIGHT = 1e-9  # kernel centres below this share of the largest weight add nothing and are dropped
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
    rounds: pd.DataFrame  # the weighted sample's growth, round by round (`progression`)

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


def posterior(evaluations: pd.DataFrame, calibration: Calibration, figures: dict[str, float]) -> Posterior:
    """Weigh every candidate drawn from a known density (see the module's docstring).

    `figures` maps each fitted figure's scaled-miss column to its weight in the distance
    (the posterior rounds' emulator fits them).
    """
    proposals = stage_proposals(evaluations, calibration, figures)
    weights, log_evidence = importance_weights(evaluations, calibration, proposals)
    rounds = progression(evaluations, calibration, proposals, figures)
    return Posterior(weights, log_evidence, effective_size(weights.to_numpy()), len(weights), rounds)


def importance_weights(
    evaluations: pd.DataFrame, calibration: Calibration, proposals: dict[str, Proposal]
) -> tuple[pd.Series, float]:
    """Normalised weights of the weighed candidates (by row index) and the log evidence."""
    weighed, log_base, distance = weighing(evaluations, calibration, proposals)
    log_w = tempered(log_base, distance, 1.0)
    if not len(log_w) or not np.isfinite(log_w).any():
        return pd.Series(np.zeros(len(weighed)), index=weighed.index, dtype=float), -math.inf
    log_total = float(special.logsumexp(log_w))
    weights = pd.Series(np.exp(log_w - log_total), index=weighed.index)
    return weights, log_total - math.log(len(log_w))


def progression(
    evaluations: pd.DataFrame, calibration: Calibration, proposals: dict[str, Proposal], figures: dict[str, float]
) -> pd.DataFrame:
    """How the weighted sample grew: after the stages before the posterior rounds, then after each.

    A round's temperature and the effective sets its kernel was built on say how far the
    tempering still was from the posterior; the effective sample size and the log evidence
    after it say whether the weighted sample has settled (the evidence stops moving). The
    emulator's accuracy is measured on the round's own runs, which it was not fitted to.
    """
    ordered = evaluations.sort_values("candidate")
    stages = [str(stage) for stage in dict.fromkeys(ordered["stage"].astype(str))]
    rounds = [stage for stage in stages if stage.startswith(POSTERIOR_STAGE)]
    rows = []
    for stage in [None, *rounds]:
        if stage is None:
            prefix = ordered[~ordered["stage"].astype(str).isin(rounds)]
        else:
            prefix = ordered[ordered["candidate"] <= ordered.loc[ordered["stage"] == stage, "candidate"].max()]
        kept = {name: proposal for name, proposal in proposals.items() if name in set(prefix["stage"].astype(str))}
        weights, log_evidence = importance_weights(prefix, calibration, kept)
        proposal = proposals.get(stage) if stage else None
        accuracy = math.nan
        if stage is not None:
            before = ordered[ordered["candidate"] < ordered.loc[ordered["stage"] == stage, "candidate"].min()]
            emulator = fit_emulator(before, calibration.names, figures)
            if emulator is not None:
                accuracy = held_back_accuracy(emulator, ordered[ordered["stage"] == stage], calibration.names)
        rows.append(
            {
                "stage": stage or "before the posterior rounds",
                "temperature": proposal.temperature if proposal else math.nan,
                "kernel_ess": proposal.tempered_ess if proposal else math.nan,
                "weighed": len(weights),
                "ess": effective_size(weights.to_numpy()),
                "log_evidence": log_evidence,
                "emulator_r2": accuracy,
            }
        )
    columns = ["stage", "temperature", "kernel_ess", "weighed", "ess", "log_evidence", "emulator_r2"]
    return pd.DataFrame(rows, columns=columns)


def weighing(
    evaluations: pd.DataFrame, calibration: Calibration, proposals: dict[str, Proposal]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The weighed candidates, log(prior / mixture density) of each, and each one's distance.

    The mixture is the deterministic mixture of every weighed stage's density, each by its
    share of the weighed candidates (Owen and Zhou 2000).
    """
    weighed = evaluations[evaluations["stage"].isin(list(proposals))]
    units = weighed[[f"{UNIT}{n}" for n in calibration.names]].to_numpy(dtype=float)
    counts = weighed["stage"].value_counts()
    mixture = [
        np.log(counts[stage] / len(weighed)) + proposal.logpdf(units)
        for stage, proposal in proposals.items()
        if counts.get(stage, 0)
    ]
    log_q = special.logsumexp(np.vstack(mixture), axis=0) if mixture else np.zeros(len(units))
    distance = weighed["distance"].to_numpy(dtype=float)
    return weighed, log_prior(calibration, units) - log_q, distance


def tempered(log_base: np.ndarray, distance: np.ndarray, temperature: float) -> np.ndarray:
    """Log weights with the likelihood raised to 1 / temperature: exp(-distance / (2 T))."""
    with np.errstate(invalid="ignore"):
        log_w = log_base - 0.5 * distance / temperature
    return np.where(np.isfinite(distance), log_w, -np.inf)


def flattened(log_base: np.ndarray, distance: np.ndarray, temperature: float) -> np.ndarray:
    """The whole log weight divided by the temperature: at 1 the posterior's, higher ever more even."""
    return tempered(log_base, distance, 1.0) / temperature


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights: 1 / sum(w^2)."""
    total = float(np.sum(weights))
    return float(total**2 / np.sum(weights**2)) if total > 0 else 0.0


def normalised(log_w: np.ndarray) -> np.ndarray:
    if not np.isfinite(log_w).any():
        return np.zeros(len(log_w))
    return np.exp(log_w - special.logsumexp(log_w))


def temperature_for(log_base: np.ndarray, distance: np.ndarray, floor: float) -> float:
    """The lowest temperature (at least 1) at which the flattened weights are worth `floor` sets.

    Flattening widens the posterior the next round draws round while too few candidates
    carry it (as ABC-SMC's decreasing tolerances do); once enough candidates sit where the
    figures point, the temperature is 1 and the rounds draw round the posterior itself.
    The whole weight is flattened, prior over proposal included: an informative prior makes
    candidates drawn elsewhere uneven even with no likelihood at all, so tempering the
    likelihood alone may never reach `floor` (nonlinear population Monte Carlo, Koblents and
    Miguez 2015, flattens weights for the same reason). At a high enough temperature every
    finite candidate counts equally, so `floor` is always reached when there are enough.
    """
    for temperature in TEMPERATURES:
        if effective_size(normalised(flattened(log_base, distance, temperature))) >= floor:
            return float(temperature)
    return float(TEMPERATURES[-1])


def posterior_proposal(
    history: pd.DataFrame, calibration: Calibration, proposals: dict[str, Proposal], figures: dict[str, float]
) -> Proposal:
    """A posterior round's density: a weighted kernel density of the (tempered) posterior so far.

    Population Monte Carlo (Cappe et al. 2004) with flattened weights: the candidates so
    far, weighed as in `posterior` but flattened to the lowest temperature that keeps
    `TEMPER_FLOOR` effective sets, are the centres of a Gaussian kernel density with Scott's
    bandwidth for their effective number. Any density known exactly is a valid proposal, so
    the final weights stay those of `posterior`. The kernel follows the posterior's shape, its correlations
    included, so most new candidates land where the posterior has mass. Half the round is
    drawn round the linear emulator's posterior instead (`emulator.py`), which finds a posterior
    far narrower than the cloud of candidates in a few rounds.
    """
    weighed, log_base, distance = weighing(history, calibration, proposals)
    dimensions = len(calibration.parameters)
    floor = max(TEMPER_FLOOR, 2 * (dimensions + 1))
    temperature = temperature_for(log_base, distance, floor)
    weights = normalised(flattened(log_base, distance, temperature))
    keep = weights > KEPT_WEIGHT * (weights.max() if len(weights) else 0.0)
    units = weighed[[f"{UNIT}{n}" for n in calibration.names]].to_numpy(dtype=float)[keep]
    kernel = weighted_kernel(units, weights[keep]) or round_proposal(history, calibration)
    emulated = emulated_proposal(history, calibration.names, figures)
    proposal = kernel if emulated is None else MixtureProposal([kernel, emulated], [1.0 - EMULATED, EMULATED])
    proposal.temperature = temperature
    proposal.tempered_ess = effective_size(weights)
    return proposal


def weighted_kernel(units: np.ndarray, weights: np.ndarray) -> Proposal | None:
    """A Gaussian KDE of weighted points, or None when they are too few or lie in a subspace."""
    if len(units) <= units.shape[1] + 1:
        return None
    try:
        return KernelProposal(stats.gaussian_kde(units.T, weights=weights))
    except np.linalg.LinAlgError:
        return None


def stage_proposals(
    evaluations: pd.DataFrame, calibration: Calibration, figures: dict[str, float]
) -> dict[str, Proposal]:
    """Each weighed stage's density, rebuilt from the candidates before it as the search built it."""
    proposals: dict[str, Proposal] = {}
    ordered = evaluations.sort_values("candidate")
    for stage in dict.fromkeys(ordered["stage"].astype(str)):
        before = ordered[ordered["candidate"] < ordered.loc[ordered["stage"] == stage, "candidate"].min()]
        if stage == "initial":
            proposals[stage] = UniformBox(len(calibration.parameters))
        elif stage.startswith(ROUND_STAGE):
            proposals[stage] = round_proposal(before, calibration)
        elif stage.startswith(POSTERIOR_STAGE):
            proposals[stage] = posterior_proposal(before, calibration, dict(proposals), figures)
    return proposals


def next_posterior_proposal(history: pd.DataFrame, calibration: Calibration, figures: dict[str, float]) -> Proposal:
    """The density the next posterior round draws from, built exactly as `stage_proposals` rebuilds it."""
    return posterior_proposal(history, calibration, stage_proposals(history, calibration, figures), figures)


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
