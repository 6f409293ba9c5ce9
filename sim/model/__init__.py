"""The Mesa market model: agents, population state, decision rules and the monthly step."""

from sim.model.agents import DeveloperAgent, EnterpriseAgent, VendorAgent
from sim.model.market import MODES, MarketModel

__all__ = ["MODES", "DeveloperAgent", "EnterpriseAgent", "MarketModel", "VendorAgent"]
