"""Where the search draws its candidates: densities on the unit box, known exactly.

The posterior (`posterior.py`) weighs each candidate by the prior over the density it was
drawn from, so every stage's density must be known exactly, not only its draws. Three
families:

- `UniformBox`: the space-filling Sobol' points;
- `KernelProposal`: a Gaussian kernel density round earlier points, optionally weighted
  (history matching's refocusing rounds round the plausible sets; the posterior rounds
  round the weighted posterior so far, as in population Monte Carlo);
- `AnchorProposal`: normal steps round the best points when too few sets are plausible.

Each is truncated to the box: draws outside are redrawn, never folded back, and the
truncated mass is measured once on a fixed sample.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from sim.calibrate.spec import Calibration

UNIT = "unit."
FALLBACK_SPREAD = 0.05  # kernel width (unit coordinates) round the best points when too few are plausible
KERNEL_WIDTH = math.sqrt(2.0)  # kernel covariance = KERNEL_WIDTH² x the plausible points' covariance
MAX_REDRAWS = 200  # batches a truncated proposal may draw before it gives up
MASS_SAMPLE, MASS_SEED = 20_000, 12345  # the fixed sample that measures a proposal's mass inside the box


class Proposal:
    """Where a stage drew its candidates: a density on the unit box, truncated to it.

    The posterior (`posterior.py`) weighs each candidate by the prior over the density it was
    drawn from, so every stage's density must be known exactly, not only its draws: draws
    outside the box are redrawn (truncation), never folded back, and the truncated mass is
    measured once on a fixed sample.
    """

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._log_mass: float | None = None
        self.temperature = math.nan  # a posterior round's: the tempering it was built at
        self.tempered_ess = math.nan  # a posterior round's: the effective sets it was built on

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def untruncated_logpdf(self, units: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` draws inside the box (rejection from the untruncated density)."""
        kept: list[np.ndarray] = []
        found = 0
        for _ in range(MAX_REDRAWS):
            batch = self.sample(max(2 * count, 256), rng)
            batch = batch[inside(batch)]
            kept.append(batch)
            found += len(batch)
            if found >= count:
                break
        else:
            raise RuntimeError("the refocusing kernel lies almost entirely outside the parameter box")
        return np.vstack(kept)[:count]

    def mass_inside(self) -> float:
        """The share of the untruncated density inside the box, measured once on a fixed sample."""
        if self._log_mass is None:
            sample = self.sample(MASS_SAMPLE, np.random.default_rng(MASS_SEED))
            self._log_mass = math.log(max(float(inside(sample).mean()), 1.0 / MASS_SAMPLE))
        return math.exp(self._log_mass)

    def logpdf(self, units: np.ndarray) -> np.ndarray:
        """Log density of the truncated proposal: -inf outside the box."""
        values = self.untruncated_logpdf(units) - math.log(self.mass_inside())
        return np.where(inside(units), values, -np.inf)


class UniformBox(Proposal):
    """The space-filling stage: the Sobol' points are uniform on the box (density 1)."""

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random((count, self.dimensions))

    def untruncated_logpdf(self, units: np.ndarray) -> np.ndarray:
        return np.zeros(len(units))


class KernelProposal(Proposal):
    """ABC-SMC's kernel (Beaumont et al. 2009): a plausible point plus a normal step with twice
    the points' covariance, as scipy's Gaussian KDE with that bandwidth. A kernel as wide as the
    cloud reaches past its edge, so each round finds where the plausible region ends instead of
    resampling the cloud it already has (Scott's narrower bandwidth would)."""

    def __init__(self, kde: stats.gaussian_kde) -> None:
        super().__init__(kde.d)
        self.kde = kde

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self.kde.resample(count, seed=rng).T

    def untruncated_logpdf(self, units: np.ndarray) -> np.ndarray:
        return self.kde.logpdf(units.T)


class AnchorProposal(Proposal):
    """Too few plausible sets for a kernel: normal steps of FALLBACK_SPREAD round the best points."""

    def __init__(self, anchors: np.ndarray) -> None:
        super().__init__(anchors.shape[1])
        self.anchors = anchors

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        picks = self.anchors[rng.integers(0, len(self.anchors), count)]
        return picks + rng.normal(0.0, FALLBACK_SPREAD, picks.shape)

    def untruncated_logpdf(self, units: np.ndarray) -> np.ndarray:
        steps = (units[:, None, :] - self.anchors[None, :, :]) / FALLBACK_SPREAD
        per_anchor = stats.norm.logpdf(steps).sum(axis=2) - self.dimensions * math.log(FALLBACK_SPREAD)
        return special.logsumexp(per_anchor, axis=1) - math.log(len(self.anchors))


class MixtureProposal(Proposal):
    """Several truncated densities, each drawing a fixed share of a round's candidates.

    Drawn in fixed shares (stratified), the pooled candidates are weighed by the mixture
    density, as the deterministic mixture over stages does (Owen and Zhou 2000).
    """

    def __init__(self, components: list[Proposal], shares: list[float]) -> None:
        super().__init__(components[0].dimensions)
        self.components = components
        self.shares = np.asarray(shares, dtype=float) / float(np.sum(shares))

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        counts = np.floor(self.shares * count).astype(int)
        counts[0] += count - int(counts.sum())
        return np.vstack([c.draw(n, rng) for c, n in zip(self.components, counts, strict=True) if n > 0])

    def logpdf(self, units: np.ndarray) -> np.ndarray:
        parts = [math.log(share) + c.logpdf(units) for c, share in zip(self.components, self.shares, strict=True)]
        return special.logsumexp(np.vstack(parts), axis=0)


def round_proposal(history: pd.DataFrame, calibration: Calibration) -> Proposal:
    """The density a refocusing round draws from, given every candidate before it."""
    columns = [f"{UNIT}{n}" for n in calibration.names]
    plausible = history[history["plausible"]][columns].to_numpy()
    kde = _kernel(plausible)
    if kde is not None:
        return KernelProposal(kde)
    ranked = history[np.isfinite(history["distance"])].sort_values(["distance", "candidate"])
    anchors = ranked[columns].to_numpy()[:10]
    if len(anchors) == 0:
        anchors = np.full((1, len(columns)), 0.5)
    return AnchorProposal(anchors)


def _kernel(points: np.ndarray) -> stats.gaussian_kde | None:
    """The kernel round the plausible points, or None when they are too few or lie in a subspace."""
    if len(points) <= points.shape[1] + 1:
        return None
    try:
        return stats.gaussian_kde(points.T, bw_method=KERNEL_WIDTH)
    except np.linalg.LinAlgError:
        return None


def inside(unit: np.ndarray) -> np.ndarray:
    """Which rows lie in the unit box."""
    return ((unit >= 0.0) & (unit <= 1.0)).all(axis=1)
