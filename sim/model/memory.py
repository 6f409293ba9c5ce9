"""The memory a run's agent populations need, checked before they are allocated.

With tens of millions of agents a run can need more memory than the machine has; numpy then
fails deep inside the model (ArrayMemoryError), or the system kills the process. Instead the
need is estimated first and compared with the memory available, and a run that cannot fit is
refused with both figures.

The estimate reads the populations' own arrays rather than a list kept here, so it follows
the model as its arrays change: a tiny model of the same scenario is built and stepped once,
and the bytes of every array holding one entry per agent are summed (from their dtypes).
Times the agent counts, and times WORKING_FACTOR for what a month allocates on the way
(draws, masks, sort keys), that is the need.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.scenario.loading import Problem, ScenarioError
from sim.scenario.schema import Scenario

# Agents in the probe: counts no other array length of a model shares (vendors, months, labs).
PROBE_DEVELOPERS, PROBE_ENTERPRISES = 97, 89
# Peak over held bytes per agent, measured with tracemalloc over six months of 400,000 agents:
# developers about 88 B at the peak for 45 B of arrays, enterprises about 73 B for 35 B.
WORKING_FACTOR = 2.0
# The Mesa agent objects of the reference mode, per agent (measured about 230 B).
REFERENCE_VIEW_BYTES = 300
# No agent of either population comes near this many bytes (the probe measures well below; a
# test holds it): if even this much fits, the run fits and the probe is not needed.
BOUND_PER_AGENT = 1000
GB = 1e9


@dataclass(frozen=True)
class MemoryNeed:
    """What a run's populations would take, and what the machine has (None: unknown)."""

    developers: int
    enterprises: int
    needed: int
    available: int | None

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= self.available

    def message(self) -> str:
        available = "an unknown amount" if self.available is None else f"{self.available / GB:.2f} GB"
        return (
            f"{self.developers:,} developer and {self.enterprises:,} enterprise agents need about "
            f"{self.needed / GB:.2f} GB of memory; {available} is available: run fewer agents "
            "(agents.developers, agents.enterprises), or free memory"
        )


def check_memory(scenario: Scenario, mode: str = "batched") -> MemoryNeed:
    """Refuse (ScenarioError, naming the need and what is available) a run that cannot fit in memory."""
    need = memory_need(scenario, mode)
    if not need.fits:
        raise ScenarioError([Problem(f"scenario {scenario.name}", "agents", need.message())])
    return need


def memory_need(scenario: Scenario, mode: str = "batched") -> MemoryNeed:
    """The bytes the populations would take at their peak, against the bytes available.

    When even BOUND_PER_AGENT bytes an agent would fit, that bound is the answer: the tiny
    model is built only for runs large enough to matter.
    """
    developers, enterprises = scenario.agents.developers, scenario.agents.enterprises
    views = REFERENCE_VIEW_BYTES * (developers + enterprises) if mode == "reference" else 0
    available = available_bytes()
    bound = BOUND_PER_AGENT * (developers + enterprises) + views
    if available is None or bound <= available:
        return MemoryNeed(developers, enterprises, bound, available)
    per_developer, per_enterprise = agent_bytes(scenario)
    needed = WORKING_FACTOR * (per_developer * developers + per_enterprise * enterprises) + views
    return MemoryNeed(developers, enterprises, int(needed), available)


def agent_bytes(scenario: Scenario) -> tuple[float, float]:
    """Bytes one developer and one enterprise agent hold, read from a tiny model of the scenario.

    The numpy kernels are used: the arrays are the same, and nothing is compiled for the probe.
    """
    from sim.model.market import MarketModel

    agents = scenario.agents.model_copy(update={"developers": PROBE_DEVELOPERS, "enterprises": PROBE_ENTERPRISES})
    model = MarketModel(scenario.model_copy(update={"agents": agents}), kernel="numpy")
    model.step()
    per_agent = {PROBE_DEVELOPERS: 0, PROBE_ENTERPRISES: 0}
    for array in _arrays(model):
        if array.ndim >= 1 and array.shape[0] in per_agent:
            per_agent[array.shape[0]] += array.nbytes
    return per_agent[PROBE_DEVELOPERS] / PROBE_DEVELOPERS, per_agent[PROBE_ENTERPRISES] / PROBE_ENTERPRISES


def _arrays(root: object, depth: int = 3) -> Iterator[np.ndarray]:
    """Every numpy array held by the model's own objects (sim's classes, not Mesa's), once each."""
    seen: set[int] = set()
    stack = [(root, depth)]
    while stack:
        node, left = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, np.ndarray):
            yield node
            continue
        if left == 0:
            continue
        if isinstance(node, dict):
            stack += [(value, left - 1) for value in node.values()]
        elif isinstance(node, list | tuple):
            stack += [(value, left - 1) for value in node]
        elif type(node).__module__.startswith("sim."):
            fields = getattr(node, "__dict__", None) or {
                name: getattr(node, name) for name in getattr(type(node), "__slots__", ()) if hasattr(node, name)
            }
            stack += [(value, left - 1) for value in fields.values()]


def available_bytes() -> int | None:
    """Memory this process could still take: the system's MemAvailable, or what the container's
    memory limit leaves if that is less (a container sees the host's memory in /proc/meminfo)."""
    found = [figure for figure in (_meminfo_available(), _cgroup_left()) if figure is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_left() -> int | None:
    """The cgroup (v2) memory limit less its use; None when there is no limit or no cgroup."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if limit == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii").strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None
