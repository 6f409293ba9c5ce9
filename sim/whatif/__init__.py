"""What-if analysis: a scenario against a changed copy, as paired runs with common random numbers.

The names below are imported when first used (PEP 562): reading this package loads neither
pandas nor SciPy, so `import sim` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.whatif.analysis import WhatIfResult, ensemble_whatif, whatif
    from sim.whatif.changes import Changes, parse_changes
    from sim.whatif.ensemble import EnsembleWhatIfResult

_HOMES = {
    "Changes": "sim.whatif.changes",
    "EnsembleWhatIfResult": "sim.whatif.ensemble",
    "ensemble_whatif": "sim.whatif.analysis",
    "WhatIfResult": "sim.whatif.analysis",
    "parse_changes": "sim.whatif.changes",
    "whatif": "sim.whatif.analysis",
}

__all__ = ["Changes", "EnsembleWhatIfResult", "WhatIfResult", "ensemble_whatif", "parse_changes", "whatif"]


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for, then keep it."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim.whatif' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
