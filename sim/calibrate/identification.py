"""Which parameters the figures pin down: each parameter's spread in the ensemble, and trade-offs.

A parameter the figures pin down has plausible values in a narrow part of its range; one
they do not pin spreads over the whole range. The spread is measured on the parameter's
search scale (log for log-scaled ones) as the share of its range between the ensemble's
5th and 95th percentiles: a uniform spread over the whole range gives 0.9. Two parameters
that trade off (one can stand in for the other) show as a strong rank correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.spec import Calibration

UNIT = "unit."
PINNED, LOOSE = 0.25, 0.6  # shares of the range spanned by the middle 90 % of plausible values
MIN_SETS = 10  # fewer plausible sets than this cannot tell a pinned parameter from a lucky draw
STRONG = 0.3  # rank correlations weaker than this are not reported as trade-offs
SHOWN_PAIRS = 5


@dataclass(frozen=True)
class Identification:
    table: pd.DataFrame  # one row per parameter
    tradeoffs: pd.DataFrame  # strongest pairs: a, b, spearman
    sets: int


def verdict(spread: float, sets: int) -> str:
    if sets < MIN_SETS:
        return "too few plausible sets to tell"
    if spread < PINNED:
        return "pinned"
    if spread < LOOSE:
        return "loosely pinned"
    return "not pinned"


def identify(calibration: Calibration, ensemble: pd.DataFrame, best: pd.Series | None) -> Identification:
    rows = []
    for parameter in calibration.parameters:
        unit = ensemble[f"{UNIT}{parameter.name}"].to_numpy(dtype=float)
        low, high = np.quantile(unit, [0.05, 0.95]) if len(unit) else (np.nan, np.nan)
        spread = float(high - low) if len(unit) else float("nan")
        rows.append(
            {
                "parameter": parameter.name,
                "low": parameter.spec.low,
                "high": parameter.spec.high,
                "scale": parameter.spec.scale,
                "best": float(best[parameter.name]) if best is not None else float("nan"),
                "ensemble_p05": parameter.spec.value(low) if len(unit) else float("nan"),
                "ensemble_median": parameter.spec.value(float(np.median(unit))) if len(unit) else float("nan"),
                "ensemble_p95": parameter.spec.value(high) if len(unit) else float("nan"),
                "spread": spread,
                "verdict": verdict(spread, len(unit)),
            }
        )
    return Identification(pd.DataFrame(rows), tradeoffs(calibration, ensemble), len(ensemble))


def tradeoffs(calibration: Calibration, ensemble: pd.DataFrame) -> pd.DataFrame:
    """The strongest rank correlations between parameters among the plausible sets."""
    names = calibration.names
    if len(ensemble) < MIN_SETS or len(names) < 2:
        return pd.DataFrame(columns=["a", "b", "spearman"])
    unit = ensemble[[f"{UNIT}{n}" for n in names]].to_numpy(dtype=float)
    rho = stats.spearmanr(unit).statistic
    rho = np.array([[1.0, rho], [rho, 1.0]]) if np.ndim(rho) == 0 else rho
    pairs = [
        {"a": names[i], "b": names[j], "spearman": float(rho[i, j])}
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(rho[i, j]) and abs(rho[i, j]) >= STRONG
    ]
    frame = pd.DataFrame(pairs, columns=["a", "b", "spearman"])
    if frame.empty:
        return frame
    order = frame["spearman"].abs().sort_values(ascending=False).index
    return frame.loc[order].head(SHOWN_PAIRS).reset_index(drop=True)


NEAR_BEST = 0.1  # conflicts are read among the best tenth of the candidates that ran
MIN_NEAR = 20


def figure_conflicts(evaluations: pd.DataFrame, fitted: list[str], z_prefix: str = "z.") -> pd.DataFrame:
    """Fitted figures that pull against each other near the best fit.

    Among the candidates nearest the best (the best tenth by distance, at least 20), a pair
    of figures conflicts when one's squared miss falls as the other's rises: a strongly
    negative rank correlation. Only pairs where at least one figure misses its tolerance in
    the best candidate are reported, since those are the ones no set found can meet together.
    Columns: a, b, spearman, a_miss and b_miss (the best candidate's scaled misses).
    """
    columns = ["a", "b", "spearman", "a_miss", "b_miss"]
    ran = evaluations[np.isfinite(evaluations["distance"])].sort_values("distance")
    near = ran.head(max(MIN_NEAR, int(NEAR_BEST * len(ran))))
    names = [n for n in fitted if f"{z_prefix}{n}" in near and near[f"{z_prefix}{n}"].nunique() > 1]
    if len(near) < MIN_NEAR or len(names) < 2:
        return pd.DataFrame(columns=columns)
    squared = near[[f"{z_prefix}{n}" for n in names]].to_numpy(dtype=float) ** 2
    best = near.iloc[0][[f"{z_prefix}{n}" for n in names]].to_numpy(dtype=float)
    rho = stats.spearmanr(squared).statistic  # figures whose miss never varies are left out above
    rho = np.array([[1.0, rho], [rho, 1.0]]) if np.ndim(rho) == 0 else rho
    pairs = [
        {"a": names[i], "b": names[j], "spearman": float(rho[i, j]), "a_miss": best[i], "b_miss": best[j]}
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(rho[i, j]) and rho[i, j] <= -STRONG and max(abs(best[i]), abs(best[j])) > 1.0
    ]
    frame = pd.DataFrame(pairs, columns=columns)
    return frame.sort_values("spearman").head(2 * SHOWN_PAIRS).reset_index(drop=True)
