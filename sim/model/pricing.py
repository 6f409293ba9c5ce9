"""Pricing: a list-price schedule (set by events) plus reactive policies applied in order.

A new policy is one function here and one entry in the scenario schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import DefendShare, MarginFloor, MatchCheapest, PricingPolicy


@dataclass(frozen=True)
class PricingContext:
    """What one vendor sees when it sets this month's price."""

    vendor: int
    list_prices: np.ndarray  # this month's scheduled prices, all vendors
    posted_history: np.ndarray  # posted prices of past months, [month, vendor]
    month: int
    active: np.ndarray  # which vendors are in the market
    unit_cost: float
    previous_posted: float
    previous_token_share: float
    holds_loss_floor: bool = False  # its sustained token losses have run past its patience (LossResponse)
    loss_floor: float = -1.0  # the MaaS gross margin it then keeps
    contract_discount: float = 0.0


def rival_reference_price(ctx: PricingContext, lag: int) -> float | None:
    """Cheapest active rival's price `lag` months ago (this month's list price when lag is 0)."""
    rivals = ctx.active.copy()
    rivals[ctx.vendor] = False
    if not rivals.any():
        return None
    if lag == 0:
        return float(ctx.list_prices[rivals].min())
    past = ctx.month - lag
    prices = ctx.posted_history[past] if past >= 0 else ctx.list_prices
    return float(prices[rivals].min())


def match_cheapest(policy: MatchCheapest, price: float, ctx: PricingContext) -> float:
    reference = rival_reference_price(ctx, policy.lag)
    return price if reference is None else min(price, policy.ratio * reference)


def defend_share(policy: DefendShare, price: float, ctx: PricingContext) -> float:
    if ctx.month > 0 and ctx.previous_token_share < policy.target:
        return min(price, ctx.previous_posted * (1.0 - policy.step))
    return min(price, ctx.previous_posted) if ctx.month > 0 else price


def margin_floor(policy: MarginFloor, price: float, ctx: PricingContext) -> float:
    return max(price, ctx.unit_cost * (1.0 + policy.margin))


POLICIES: dict[type, Callable[[object, float, PricingContext], float]] = {
    MatchCheapest: match_cheapest,
    DefendShare: defend_share,
    MarginFloor: margin_floor,
}


def loss_floor_price(unit_cost: float, floor: float, contract_discount: float) -> float:
    """The lowest list price at which tokens earn a gross margin of at least `floor`, even those
    sold to enterprises at the contract discount: margin = 1 - cost / price, so the price is
    cost / (1 - floor), grossed up for the discount."""
    return unit_cost / ((1.0 - floor) * (1.0 - contract_discount))


def posted_price(policies: list[PricingPolicy], ctx: PricingContext) -> float:
    """This month's price: the list price, then each reactive policy in turn, then, for a vendor
    whose token losses have outlasted its subsidy and patience, the loss floor."""
    price = float(ctx.list_prices[ctx.vendor])
    for policy in policies:
        price = POLICIES[type(policy)](policy, price, ctx)
    if ctx.holds_loss_floor:
        price = max(price, loss_floor_price(ctx.unit_cost, ctx.loss_floor, ctx.contract_discount))
    return price
