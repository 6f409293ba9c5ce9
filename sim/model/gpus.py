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


def wanted_growth(gpus: np.ndarray, gpu_hours_asked: np.ndarray, usable_hours: float, utilisation: float) -> np.ndarray:
    """Growth of the fleet a vendor wants: enough GPUs to serve last month's demand at its
    target utilisation (capex follows demand; GPUs already bought are kept)."""
    needed = gpu_hours_asked / (usable_hours * utilisation)
    return np.maximum(np.divide(needed, gpus, out=np.zeros_like(needed), where=gpus > 0) - 1.0, 0.0)


def grown_fleet(
    imported: np.ndarray,
    domestic: np.ndarray,
    wanted: np.ndarray,
    most: np.ndarray,
    imported_growth_cap: np.ndarray,
    substitution: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Next month's GPUs: the fleet grows as wanted, at most `most` a month (how fast chips can
    be bought and installed). Export controls cap the imported part's growth; a fraction
    `substitution` of the imported chips they block is bought as domestic chips instead."""
    growth = np.minimum(wanted, most)
    imported_growth = np.minimum(growth, imported_growth_cap)
    blocked = (growth - imported_growth) * imported
    return imported * (1.0 + imported_growth), domestic * (1.0 + growth) + substitution * blocked


def token_unit_cost(gpu_hour_cost: np.ndarray, tokens_per_gpu_hour: np.ndarray) -> np.ndarray:
    """Cost of serving 1,000 tokens: a GPU-hour's cost over the tokens it serves, yuan/1k tokens."""
    return 1000.0 * gpu_hour_cost / tokens_per_gpu_hour


def allocate(demand: np.ndarray, available: np.ndarray, order: np.ndarray) -> np.ndarray:
    """GPU-hours each stream gets, [vendors, streams], serving streams in each vendor's order.

    `demand` is [vendors, streams] in GPU-hours, `order` [vendors, 3] the stream indices in
    priority order. A stream gets what it asks for while GPU-hours remain; the first stream
    that does not fit gets the rest, later ones nothing.
    """
    served = np.zeros_like(demand, dtype=np.float64)
    remaining = np.asarray(available, dtype=np.float64).copy()
    rows = np.arange(demand.shape[0])
    for rank in range(order.shape[1]):
        stream = order[:, rank]
        granted = np.minimum(demand[rows, stream], remaining)
        served[rows, stream] = granted
        remaining -= granted
    return served


def service_levels(served: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Fraction of each stream's demand served: 1 where nothing was asked."""
    return np.divide(served, demand, out=np.ones_like(served), where=demand > 0)
