"""The CIOs' month compiled with numba: `EnterprisePopulation.step_rows` and `purchases`.

The numpy code (`enterprises.py`, `procurement.py`) is the reference; this runs the same
arithmetic in the same order, sums per vendor in row order as np.bincount does, reads the
per-vendor utility terms from `procurement.vendor_terms`, and leaves log and exp to numpy
(as developer_kernel.py explains), so the results are identical bit for bit
(tests/test_kernel.py). Used when the developers' kernel is (`developer_kernel.resolve`).
Like the developers' kernel it is handed plain data, the population's arrays and the month's
offer and draws, and returns plain arrays.
"""

from __future__ import annotations

import numpy as np

from sim.model.developer_kernel import compiled
from sim.model.procurement import PRIVATE, EnterpriseMonth, EnterpriseOffer, is_large_account, vendor_terms
from sim.scenario.calendar import DAYS_PER_MONTH

NONE = -1  # as in enterprises.py: no vendor, no mode


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
    fills,
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
        needed_tokens = z * private_tokens_per_size
        serving_hours = needed_tokens * DAYS_PER_MONTH / private_tokens_per_gpu_hour[v]
        private_gpu_hours = max(serving_hours, reserved_gpu_hours)
        # procurement.private_deployment_tokens
        private_tokens = private_gpu_hours * private_tokens_per_gpu_hour[v] / DAYS_PER_MONTH if fills else needed_tokens
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


def purchases(
    vendor: np.ndarray, mode: np.ndarray, size: np.ndarray, weight: np.ndarray, offer: EnterpriseOffer, n_vendors: int
) -> np.ndarray:
    """EnterprisePopulation.purchases in one compiled pass: its five quantities per vendor as
    the rows of one array, in the order of the fields of `Purchases`."""
    totals = np.zeros((5, n_vendors))
    _purchases(
        vendor,
        mode,
        size,
        weight,
        offer.api_tokens_per_size,
        float(offer.private_tokens_per_size),
        offer.private_tokens_per_gpu_hour,
        float(offer.reserved_gpu_hours),
        float(offer.finetune_gpu_hours),
        offer.platform_fee,
        offer.contract_price,
        offer.gpu_hour_price,
        float(offer.budget),
        bool(offer.private_fills),
        totals,
    )
    return totals


@compiled
def _find_choosers(
    vendor, months_left, queue_position, event_draws, active, potential, adoption_rate, rows, current, moved_from
):
    """Who chooses this month: newcomers within the potential whose draw adopts, adopters at
    renewal or whose vendor left. Everyone else who has a contract has a month less to run.
    Returns the number of choosers, listed in `rows` (with their current vendor) in row order.
    """
    count = 0
    for i in range(vendor.shape[0]):
        state = vendor[i]
        if state < 0:
            chooses = queue_position[i] < potential and event_draws[i] < adoption_rate
            now = NONE
        else:
            gone = not active[state]
            chooses = months_left[i] <= 1 or gone
            now = NONE if gone else state
            if not chooses:
                months_left[i] -= 1
        if chooses:
            rows[count] = i
            current[count] = now
            count += 1
        else:
            moved_from[i] = NONE
    return count


@compiled
def _option_costs(
    rows,
    size,
    api_tokens_per_size,
    private_tokens_per_size,
    private_tokens_per_gpu_hour,
    reserved_gpu_hours,
    finetune_gpu_hours,
    platform_fee,
    contract_price,
    gpu_hour_price,
    costs,
):
    """Each chooser's monthly bill of every option (`procurement.bills`), [choosers, 2 * vendors]."""
    for c in range(rows.shape[0]):
        z = np.float64(size[rows[c]])
        for v in range(platform_fee.shape[0]):
            api_tokens = z * api_tokens_per_size[v]
            private_tokens = z * private_tokens_per_size
            serving_hours = private_tokens * DAYS_PER_MONTH / private_tokens_per_gpu_hour[v]
            private_gpu_hours = max(serving_hours, reserved_gpu_hours)
            finetune = z * finetune_gpu_hours
            platform = z * platform_fee[v]
            costs[c, 2 * v] = api_tokens * DAYS_PER_MONTH / 1000.0 * contract_price[v] + platform
            costs[c, 2 * v + 1] = (private_gpu_hours + finetune) * gpu_hour_price[v] + platform


@compiled
def _shifted_utilities(
    rows,
    current,
    incumbent,
    sovereign,
    large,
    log_costs,
    trust_part,
    integration_part,
    large_account_part,
    sovereign_part,
    api_part,
    private_part,
    active,
    open_weights,
    price,
    sovereignty_bonus,
    migration_cost,
    out,
):
    """Each chooser's utilities (`procurement.option_utilities` plus the migration cost)
    minus the row maximum, written over its log bills; non-finite rows as for developers."""
    minus_inf = -np.inf
    n_vendors = trust_part.shape[0]
    for c in range(rows.shape[0]):
        i = rows[c]
        top = minus_inf
        for v in range(n_vendors):
            base = (
                trust_part[v]
                + integration_part[v] * (1.0 if incumbent[i] == v else 0.0)
                + large_account_part[v] * (1.0 if large[i] else 0.0)
                + sovereign_part[v] * (1.0 if sovereign[i] else 0.0)
            )
            api = base + api_part[v] - price * log_costs[c, 2 * v]
            if open_weights:
                private = base + private_part[v] + sovereignty_bonus * (1.0 if sovereign[i] else 0.0)
                private = private - price * log_costs[c, 2 * v + 1]
            else:
                private = minus_inf
            if not active[v]:
                api, private = minus_inf, minus_inf
            if v == current[c]:
                api = api if api == minus_inf else api + migration_cost
                private = private if private == minus_inf else private + migration_cost
            out[c, 2 * v], out[c, 2 * v + 1] = api, private
            top = max(top, api, private)
        width = 2 * n_vendors
        if np.isfinite(top):
            for k in range(width):
                out[c, k] = out[c, k] - top
        elif top > 0:
            for k in range(width):
                out[c, k] = 0.0 if out[c, k] == top else minus_inf
        else:
            for k in range(width):
                out[c, k] = minus_inf


@compiled
def _pick_and_apply(rows, current, weights, uniforms, contract_months, vendor, mode, months_left, moved_from):
    """Each chooser's pick by its draw (choice.choose), then its contract (`_choose`, `step_rows`)."""
    width = weights.shape[1]
    for c in range(rows.shape[0]):
        i = rows[c]
        total = weights[c, 0]
        for k in range(1, width):
            total = total + weights[c, k]
        threshold = uniforms[i] * total
        running = weights[c, 0]
        pick = np.int64(running <= threshold)
        for k in range(1, width):
            running = running + weights[c, k]
            pick += running <= threshold
        if pick >= width:
            pick = width - 1
            while pick > 0 and not weights[c, pick] > 0:
                pick -= 1
        if not total > 0:
            pick = -1
        before = vendor[i]
        after = pick // 2 if pick >= 0 else NONE
        vendor[i] = after
        mode[i] = pick % 2 if pick >= 0 else NONE
        months_left[i] = contract_months
        moved_from[i] = before if (before >= 0 and after != before) else NONE


def step(
    vendor: np.ndarray,
    mode: np.ndarray,
    months_left: np.ndarray,
    moved_from: np.ndarray,
    queue_position: np.ndarray,
    size: np.ndarray,
    incumbent: np.ndarray,
    sovereign: np.ndarray,
    month: EnterpriseMonth,
) -> None:
    """One month for every CIO, changing the first four arrays in place: the same result as
    EnterprisePopulation.step_rows on all rows."""
    offer, tastes = month.offer, month.tastes
    n, n_vendors = vendor.shape[0], offer.trust.shape[0]
    rows, current = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    choosers = _find_choosers(
        vendor,
        months_left,
        queue_position,
        month.event_draws,
        offer.active,
        np.float32(month.potential),
        np.float32(month.adoption_rate),
        rows,
        current,
        moved_from,
    )
    rows, current = rows[:choosers], current[:choosers]
    costs = np.empty((choosers, 2 * n_vendors))
    _option_costs(
        rows,
        size,
        offer.api_tokens_per_size,
        float(offer.private_tokens_per_size),
        offer.private_tokens_per_gpu_hour,
        float(offer.reserved_gpu_hours),
        float(offer.finetune_gpu_hours),
        offer.platform_fee,
        offer.contract_price,
        offer.gpu_hour_price,
        costs,
    )
    np.log(costs, out=costs)
    terms = vendor_terms(offer, tastes)
    _shifted_utilities(
        rows,
        current,
        incumbent,
        sovereign,
        is_large_account(size, tastes),
        costs,
        terms.trust,
        terms.integration,
        terms.large_account,
        terms.sovereign,
        terms.api,
        terms.private if terms.private is not None else np.full(n_vendors, -np.inf),
        offer.active,
        terms.private is not None,
        float(tastes.price),
        float(tastes.sovereignty_bonus),
        float(tastes.migration_cost),
        costs,
    )
    np.exp(costs, out=costs)
    _pick_and_apply(
        rows,
        current,
        costs,
        month.choice_draws,
        int(month.contract_months),
        vendor,
        mode,
        months_left,
        moved_from,
    )
