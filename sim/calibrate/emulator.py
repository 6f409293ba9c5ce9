"""A linear emulator of the fitted figures near the best candidates, and the posterior it implies.

Each fitted figure's scaled miss z is emulated as a linear function of the parameters (unit
coordinates), fitted by least squares on the candidates nearest the best fit so far. With
linear misses the likelihood exp(-distance / 2) is Gaussian in the parameters (a Laplace
approximation, as in Gauss-Newton): its centre is the emulated best fit and its precision
J W J' (J the emulator's slopes, W the figures' weights). A posterior round draws half its
candidates from a Student t round that Gaussian: heavy tails, so that where the emulator is
wrong the round still reaches past it, and the weights (`posterior.py`) stay those of the
true likelihood, not of the emulator. Each round refits the emulator on candidates nearer
the posterior, so it localises as the rounds go. When the emulated best fit lies so far
outside the box that under MIN_INSIDE of the t's mass is inside, the fit is extrapolating
and the round draws from its kernel alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.proposals import UNIT, Proposal

PER_PARAMETER = 10  # candidates per parameter the emulator is fitted on (at least MIN_FIT)
MIN_FIT = 100
PRIOR_PRECISION = 12.0  # a uniform prior's precision on the unit range (variance 1 / 12): keeps unseen directions open
INFLATION = 1.0  # the proposal's scale is this times the emulated posterior's covariance
DEGREES_OF_FREEDOM = 7  # of the Student t: heavier tails than the normal the emulator implies
MIN_INSIDE = 0.005  # an emulated posterior with less of its mass in the box extrapolates far: the round uses its kernel


@dataclass(frozen=True)
class LinearEmulator:
    """z(u) ~ intercept + slopes' (u - centre), one column per fitted figure."""

    centre: np.ndarray  # (parameters,)
    intercept: np.ndarray  # (figures,)
    slopes: np.ndarray  # (parameters, figures)
    weights: np.ndarray  # (figures,) each figure's weight in the distance

    def predict(self, units: np.ndarray) -> np.ndarray:
        """Emulated scaled misses, (candidates, figures)."""
        return self.intercept + (units - self.centre) @ self.slopes

    def gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        """The Gaussian the emulated likelihood and a weak prior imply: its mean and covariance."""
        dimensions = len(self.centre)
        precision = (self.slopes * self.weights) @ self.slopes.T + PRIOR_PRECISION * np.eye(dimensions)
        shift = -np.linalg.solve(precision, (self.slopes * self.weights) @ self.intercept)
        return self.centre + shift, np.linalg.inv(precision)


def fit_emulator(history: pd.DataFrame, names: list[str], figures: dict[str, float]) -> LinearEmulator | None:
    """The linear emulator on the candidates of lowest distance, or None when too few have run."""
    columns = [f"{UNIT}{n}" for n in names]
    done = history[np.isfinite(history["distance"])].sort_values(["distance", "candidate"])
    count = max(PER_PARAMETER * len(names), MIN_FIT)
    if len(done) < min(count, 2 * (len(names) + 1)) or not figures:
        return None
    local = done.head(count)
    units = local[columns].to_numpy(dtype=float)
    misses = local[list(figures)].to_numpy(dtype=float)
    centre = units.mean(axis=0)
    design = np.hstack([np.ones((len(units), 1)), units - centre])
    coefficients, *_ = np.linalg.lstsq(design, misses, rcond=None)
    return LinearEmulator(centre, coefficients[0], coefficients[1:], np.array(list(figures.values()), dtype=float))


def held_back_accuracy(emulator: LinearEmulator, later: pd.DataFrame, names: list[str]) -> float:
    """Share of the later candidates' distance the emulator explains (R², on runs it was not fitted to)."""
    done = later[np.isfinite(later["distance"])]
    if len(done) < 2:
        return math.nan
    predicted = emulator.predict(done[[f"{UNIT}{n}" for n in names]].to_numpy(dtype=float))
    emulated = (emulator.weights * predicted**2).sum(axis=1)
    actual = done["distance"].to_numpy(dtype=float)
    spread = float(np.sum((actual - actual.mean()) ** 2))
    return 1.0 - float(np.sum((actual - emulated) ** 2)) / spread if spread > 0 else math.nan


class StudentProposal(Proposal):
    """A multivariate Student t round the emulated posterior, truncated to the box."""

    def __init__(self, mean: np.ndarray, covariance: np.ndarray) -> None:
        super().__init__(len(mean))
        self.law = stats.multivariate_t(loc=mean, shape=INFLATION * covariance, df=DEGREES_OF_FREEDOM)

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return np.atleast_2d(self.law.rvs(size=count, random_state=rng))

    def untruncated_logpdf(self, units: np.ndarray) -> np.ndarray:
        return np.atleast_1d(self.law.logpdf(units))


def emulated_proposal(history: pd.DataFrame, names: list[str], figures: dict[str, float]) -> Proposal | None:
    """The Student t round the emulator's posterior, or None when no emulator can be fitted or
    when its posterior lies almost wholly outside the box (a linear fit extrapolated too far)."""
    emulator = fit_emulator(history, names, figures)
    if emulator is None:
        return None
    mean, covariance = emulator.gaussian()
    proposal = StudentProposal(mean, covariance)
    return proposal if proposal.mass_inside() >= MIN_INSIDE else None
