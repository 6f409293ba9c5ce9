"""What the enterprises buy each month, compiled with numba: `EnterprisePopulation.purchases` in one pass.

The numpy code (`enterprises.py`, `procurement.bills`, `budget_fraction`) is the reference;
this runs the same arithmetic in the same order for every adopted CIO, summing per vendor
in row order as np.bincount does, so the totals are identical bit for bit
(tests/test_kernel.py). Used when the developers' kernel is (`developer_kernel.resolve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.developer_kernel import compiled
from sim.model.procurement import PRIVATE
from sim.scenario.calendar import DAYS_PER_MONTH

if TYPE_CHECKING:
    from sim.model.enterprises import EnterprisePopulation, Purchases
    from sim.model.procurement import EnterpriseOffer


@compiled
def _purchases(
    vendor,
    mode,
    size,
    weight,
    api_tokens_per_size,
    private_tokens_per_size,
    private_tokens_per_gpu_hour,
    reserved_gpu_hours,
    finetune_gpu_hours,
    platform_fee,
    contract_price,
    gpu_hour_price,
    budget,
    totals,
):
    """Per vendor: API tokens, private tokens, private GPU-hours, fine-tuning GPU-hours and
    platform units (rows of `totals`), within each CIO's budget, as in `bills` and `purchases`."""
    for i in range(vendor.shape[0]):
        v = vendor[i]
        if v < 0:
            continue
        z = np.float64(size[i])
        api_tokens = z * api_tokens_per_size[v]
        private_tokens = z * private_tokens_per_size
        serving_hours = private_tokens * DAYS_PER_MONTH / private_tokens_per_gpu_hour[v]
        private_gpu_hours = max(serving_hours, reserved_gpu_hours)
        finetune = z * finetune_gpu_hours
        platform = z * platform_fee[v]
        api_cost = api_tokens * DAYS_PER_MONTH / 1000.0 * contract_price[v] + platform
        private_cost = (private_gpu_hours + finetune) * gpu_hour_price[v] + platform
        private = mode[i] == PRIVATE
        cost = private_cost if private else api_cost
        fraction = z * budget / cost if cost > 0 else 1.0
        scale = min(1.0, fraction) * weight[i]
        on_private, on_api = (1.0, 0.0) if private else (0.0, 1.0)
        totals[0, v] += api_tokens * scale * on_api
        totals[1, v] += private_tokens * scale * on_private
        totals[2, v] += private_gpu_hours * scale * on_private
        totals[3, v] += finetune * scale * on_private
        totals[4, v] += z * scale * 1.0


def purchases(population: EnterprisePopulation, offer: EnterpriseOffer, n_vendors: int) -> Purchases:
    """EnterprisePopulation.purchases in one compiled pass."""
    from sim.model.enterprises import Purchases

    totals = np.zeros((5, n_vendors))
    _purchases(
        population.vendor,
        population.mode,
        population.size,
        population.weight,
        offer.api_tokens_per_size,
        float(offer.private_tokens_per_size),
        offer.private_tokens_per_gpu_hour,
        float(offer.reserved_gpu_hours),
        float(offer.finetune_gpu_hours),
        offer.platform_fee,
        offer.contract_price,
        offer.gpu_hour_price,
        float(offer.budget),
        totals,
    )
    return Purchases(*totals)
