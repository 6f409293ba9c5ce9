"""Model families (Doubao, Qwen, DeepSeek, ...): who sells them, their quality, open weights.

A vendor's API sells its own family and hosts every open-weight family. Buyers pick among
the families a vendor offers by quality with a logit, so the quality a vendor's API offers
is the log-sum of exp(quality) over them (the expected best, in utility units) and its
tokens split across families in the same proportions. The same rule splits privately
deployed tokens across open families. DeepSeek opening its weights therefore raises every
host's API quality and gives private deployments a new model.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import Scenario

THIRD_PARTY = -1


class FamilyBook:
    """Every model family's owner, quality and openness, as arrays."""

    def __init__(self, scenario: Scenario):
        vendor_ids = list(scenario.vendors)
        self.ids = list(scenario.families)
        self.names = [f.name for f in scenario.families.values()]
        self.count = len(self.ids)
        self.owner = np.array(
            [vendor_ids.index(f.owner) if f.owner is not None else THIRD_PARTY for f in scenario.families.values()]
        )
        self.quality = np.array([f.quality for f in scenario.families.values()], dtype=np.float64)
        self.open = np.array([f.open_weights for f in scenario.families.values()], dtype=bool)
        self.n_vendors = len(vendor_ids)

    def index(self, family_id: str) -> int:
        return self.ids.index(family_id)

    def offered_by_api(self) -> np.ndarray:
        """[vendors, families]: which families each vendor's API sells (its own and every open one)."""
        own = self.owner[None, :] == np.arange(self.n_vendors)[:, None]
        return own | self.open[None, :]

    def api_mix(self) -> np.ndarray:
        """[vendors, families]: the split of a vendor's API tokens across the families it offers."""
        return _logit_rows(self.offered_by_api(), self.quality)

    def api_quality(self) -> np.ndarray:
        """Quality each vendor's API offers: log-sum-exp of its families' qualities."""
        return _log_sum_exp_rows(self.offered_by_api(), self.quality)

    def open_weights_exist(self) -> bool:
        return bool(self.open.any())

    def private_mix(self) -> np.ndarray:
        """[families]: the split of privately deployed tokens across open families (zeros if none)."""
        return _logit_rows(self.open[None, :], self.quality)[0]

    def private_quality(self) -> float:
        """Quality of the best open model a private deployment can run (-inf if none is open)."""
        return float(_log_sum_exp_rows(self.open[None, :], self.quality)[0])

    def api_tokens_by_family(self, api_tokens: np.ndarray) -> np.ndarray:
        """[vendors, families]: each vendor's API tokens split across the families it offers."""
        return api_tokens[:, None] * self.api_mix()

    def private_tokens_by_family(self, private_tokens: np.ndarray) -> np.ndarray:
        """[vendors, families]: privately run tokens on each vendor's GPUs, split across open families."""
        return private_tokens[:, None] * self.private_mix()[None, :]

    def first_party_tokens_by_family(self, first_party_tokens: np.ndarray) -> np.ndarray:
        """[vendors, families]: the group's own apps run its own family."""
        return first_party_tokens[:, None] * (self.owner[None, :] == np.arange(self.n_vendors)[:, None])

    def tokens_by_family(
        self, api_tokens: np.ndarray, first_party_tokens: np.ndarray, private_tokens: np.ndarray | None = None
    ) -> np.ndarray:
        """[families]: tokens of each family wherever served (API, own apps, private deployments)."""
        total = self.api_tokens_by_family(api_tokens) + self.first_party_tokens_by_family(first_party_tokens)
        if private_tokens is not None:
            total = total + self.private_tokens_by_family(private_tokens)
        return total.sum(axis=0)

    def gravity_tokens(
        self,
        source: str,
        api_tokens: np.ndarray,
        first_party_tokens: np.ndarray,
        private_tokens: np.ndarray | None = None,
    ) -> np.ndarray:
        """[families]: the tokens that make each family's pull on developers (`developers.ecosystem_source`):
        all of them; public ones (APIs and the groups' own apps, no private deployments); or
        external ones (APIs and private deployments, not the groups' own apps)."""
        own = np.zeros_like(first_party_tokens) if source == "external_tokens" else first_party_tokens
        private = None if source == "public_tokens" else private_tokens
        return self.tokens_by_family(api_tokens, own, private)

    def owned_share(self, family_tokens: np.ndarray) -> np.ndarray:
        """[vendors]: share of all tokens (any host, any mode) that run on each vendor's own family.

        `family_tokens` is [families]: tokens of each family wherever they were served.
        """
        total = float(family_tokens.sum())
        owned = np.zeros(self.n_vendors)
        mine = self.owner >= 0
        np.add.at(owned, self.owner[mine], family_tokens[mine])
        return owned / total if total > 0 else owned

    def owns_open_family(self) -> np.ndarray:
        """[vendors]: whether the vendor owns an open-weight family (its own model edge in private deals)."""
        owns = np.zeros(self.n_vendors, dtype=bool)
        owned = self.owner[self.open]
        owns[owned[owned >= 0]] = True
        return owns


def _logit_rows(offered: np.ndarray, quality: np.ndarray) -> np.ndarray:
    weights = np.where(offered, np.exp(quality - quality.max()), 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def _log_sum_exp_rows(offered: np.ndarray, quality: np.ndarray) -> np.ndarray:
    top = quality.max()
    totals = np.where(offered, np.exp(quality - top), 0.0).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.log(totals) + top
