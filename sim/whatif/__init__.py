"""What-if analysis: a scenario against a changed copy, as paired runs with common random numbers."""

from sim.whatif.analysis import WhatIfResult, whatif
from sim.whatif.changes import Changes, parse_changes

__all__ = ["Changes", "WhatIfResult", "parse_changes", "whatif"]
