"""Recorded trajectories: the model's monthly books turned into tidy tables with derived measures."""

from sim.record.trajectories import MARKET_COLUMNS, VENDOR_COLUMNS, Trajectories, record

__all__ = ["MARKET_COLUMNS", "VENDOR_COLUMNS", "Trajectories", "record"]
