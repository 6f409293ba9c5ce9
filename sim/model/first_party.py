"""First-party demand: the group's own apps (users x tokens per user), served on the vendor's GPUs.

Users grow logistically towards a ceiling, and so do tokens per user (longer conversations,
reasoning models, AI features in existing apps), each at its own rate. These tokens earn no AI
cloud revenue but take GPU-hours from paying customers when GPUs are short.
"""

from __future__ import annotations

import numpy as np


def logistic_growth(level: np.ndarray, growth: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """One month of growth that slows as the level nears its ceiling."""
    return level * (1.0 + growth * (1.0 - level / ceiling))


def first_party_tokens(users: np.ndarray, tokens_per_user: np.ndarray) -> np.ndarray:
    """Tokens/day the group's own apps ask for."""
    return users * tokens_per_user
