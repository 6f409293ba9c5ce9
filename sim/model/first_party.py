"""First-party demand: the group's own apps (users x tokens per user), served on the vendor's GPUs.

Users grow logistically towards a ceiling; tokens per user grow at their own rate (longer
conversations, reasoning models, AI features in existing apps). These tokens earn no AI
cloud revenue but take GPU-hours from paying customers when GPUs are short.
"""

from __future__ import annotations

import numpy as np


def grown_users(users: np.ndarray, growth: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """One month of logistic growth of app users."""
    return users * (1.0 + growth * (1.0 - users / ceiling))


def first_party_tokens(users: np.ndarray, tokens_per_user: np.ndarray) -> np.ndarray:
    """Tokens/day the group's own apps ask for."""
    return users * tokens_per_user
