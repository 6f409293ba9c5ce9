"""GPUs: the fleet each vendor owns, what a GPU-hour serves and costs, and who is served when short.

Every stream runs on the same GPUs: the group's own apps (first party), rented GPU-hours
(AI IaaS: labs, private deployments, fine-tuning, self-hosting developers) and model-API
inference. A vendor's allocation order says who is served first when demand exceeds the
GPU-hours it has; each stream's service level is the fraction of its demand served.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("first_party", "iaas", "api")
FIRST_PARTY, IAAS, API_STREAM = range(3)


def investment_appetite(gross_margin: np.ndarray) -> np.ndarray:
    """Fraction of its customers' demand a vendor buys GPUs for, from what that business earns.

    A vendor whose AI cloud business covers its serving cost (gross margin >= 0) buys GPUs for
    all of it; one whose serving costs are twice its revenue (margin <= -100 %) buys none; in
    between, a share that falls linearly with the margin (brief rule 8: capex follows margins).
    """
    return np.clip(1.0 + np.asarray(gross_margin, dtype=np.float64), 0.0, 1.0)


def expected_demand(last: np.ndarray, before: np.ndarray, most: float) -> np.ndarray:
    """Next month's GPU-hours per stream, [vendors, streams]: last month's, grown as they grew from
    the month before (at least flat, at most as fast as a fleet can grow). Chips take a month to
    arrive, so a vendor that bought only for last month's demand would always be a month short."""
    growth = np.divide(last, before, out=np.ones_like(last), where=before > 0)
    return last * np.clip(growth, 1.0, 1.0 + most)


def wanted_growth(
    gpus: np.ndarray,
    gpu_hours_asked: np.ndarray,
    appetite: np.ndarray,
    usable_hours: float,
    utilisation: float,
) -> np.ndarray:
    """Growth of the fleet a vendor wants: enough GPUs to serve the demand it expects at its
    target utilisation (capex follows demand; GPUs already bought are kept).

    `gpu_hours_asked` is [vendors, streams] (expected_demand). The group's own apps are always
    provided for; paying customers' demand only as far as `appetite` (investment_appetite) says.
    """
    external = gpu_hours_asked.sum(axis=1) - gpu_hours_asked[:, FIRST_PARTY]
    needed = (gpu_hours_asked[:, FIRST_PARTY] + appetite * external) / (usable_hours * utilisation)
    return np.maximum(np.divide(needed, gpus, out=np.zeros_like(needed), where=gpus > 0) - 1.0, 0.0)


def grown_fleet(
    imported: np.ndarray,
    domestic: np.ndarray,
    wanted: np.ndarray,
    most: float,
    imported_growth_cap: np.ndarray,
    domestic_growth_cap: np.ndarray,
    substitution: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Next month's GPUs: the fleet grows as wanted, at most `most` a month (how fast chips can
    be bought and installed). Export controls cap the imported part's growth; a fraction
    `substitution` of the imported chips they block is bought as domestic chips instead, as
    far as a cap on domestic growth (a shock to all chips) allows."""
    growth = np.minimum(wanted, most)
    imported_growth = np.minimum(growth, imported_growth_cap)
    blocked = (growth - imported_growth) * imported
    domestic_after = domestic * (1.0 + growth) + substitution * blocked
    return imported * (1.0 + imported_growth), np.minimum(domestic_after, domestic * (1.0 + domestic_growth_cap))


def token_unit_cost(gpu_hour_cost: np.ndarray, tokens_per_gpu_hour: np.ndarray) -> np.ndarray:
    """Cost of serving 1,000 tokens: a GPU-hour's cost over the tokens it serves, yuan/1k tokens."""
    return 1000.0 * gpu_hour_cost / tokens_per_gpu_hour


def allocate(demand: np.ndarray, available: np.ndarray, order: np.ndarray, priority_ratio: float) -> np.ndarray:
    """GPU-hours each stream gets, [vendors, streams], when a vendor's GPUs may be short.

    `demand` is [vendors, streams] in GPU-hours, `order` [vendors, 3] the stream indices in
    priority order. With enough GPUs every stream gets what it asks for. When short, each
    stream is served a fraction min(1, lambda * w) of its demand, where a stream's weight w is
    `priority_ratio` times the next one's and lambda uses up exactly the GPU-hours there are:
    the first stream is served most, and nobody gets nothing while another is served in full
    unless the ratio is infinite (strict priority). A ratio of 1 serves every stream alike.
    """
    demand = np.asarray(demand, dtype=np.float64)
    available = np.asarray(available, dtype=np.float64)
    rows = np.arange(demand.shape[0])[:, None]
    weights = np.empty_like(demand)
    if np.isinf(priority_ratio):
        weights[rows, order] = np.array([1e12, 1e6, 1.0])  # strict priority, still finite
    else:
        weights[rows, order] = priority_ratio ** np.arange(order.shape[1] - 1, -1, -1, dtype=np.float64)
    short = demand.sum(axis=1) > available
    level = np.ones(demand.shape[0])
    if short.any():
        level[short] = _fill_level(demand[short], weights[short], available[short])
    fraction = np.where(short[:, None], np.minimum(1.0, level[:, None] * weights), 1.0)
    return demand * fraction


def _fill_level(demand: np.ndarray, weights: np.ndarray, available: np.ndarray) -> np.ndarray:
    """The lambda at which sum_k demand_k * min(1, lambda * w_k) equals the GPU-hours available.

    The sum rises piecewise linearly in lambda; it is solved exactly by trying each count of
    fully served streams (those with the largest weights) and keeping the consistent one.
    """
    ranked = np.argsort(-weights, axis=1)
    d = np.take_along_axis(demand, ranked, axis=1)
    w = np.take_along_axis(weights, ranked, axis=1)
    level = np.zeros(demand.shape[0])
    for full in range(d.shape[1]):
        served = d[:, :full].sum(axis=1)
        rest = (d[:, full:] * w[:, full:]).sum(axis=1)
        candidate = np.divide(available - served, rest, out=np.full_like(rest, np.inf), where=rest > 0)
        fits = candidate * w[:, full] <= 1.0 + 1e-12
        if full > 0:
            fits &= candidate * w[:, full - 1] >= 1.0 - 1e-12
        level = np.where(fits & (level == 0), candidate, level)
    return level


def service_levels(served: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Fraction of each stream's demand served: 1 where nothing was asked."""
    return np.divide(served, demand, out=np.ones_like(served), where=demand > 0)
