"""The logit choice rule that every developer and CIO decision goes through."""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim.model.choice import choose, logit_probabilities, with_stay_bonus


def test_probabilities_are_a_softmax_over_available_options():
    utilities = np.array([[0.0, 1.0, -np.inf], [2.0, 2.0, 2.0]])
    p = logit_probabilities(utilities)
    np.testing.assert_allclose(p[0], [1 / (1 + np.e), np.e / (1 + np.e), 0.0])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)


def test_an_unavailable_option_is_never_chosen_and_no_option_gives_minus_one():
    utilities = np.array([[-np.inf, 0.0, -np.inf]] * 1000 + [[-np.inf] * 3])
    picks = choose(utilities, np.random.default_rng(0).random(1001))
    assert (picks[:1000] == 1).all()
    assert picks[1000] == -1


def test_choice_frequencies_match_the_probabilities():
    rng = np.random.default_rng(1)
    n = 60_000
    utilities = np.tile([0.3, -0.2, 1.1, 0.0], (n, 1))
    picks = choose(utilities, rng.random(n))
    observed = np.bincount(picks, minlength=4)
    expected = logit_probabilities(utilities[:1])[0] * n
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_an_infinite_stay_bonus_keeps_everyone_where_they_are():
    current = np.array([0, 2, 1, -1])
    utilities = with_stay_bonus(np.zeros((4, 3)), current, np.inf)
    picks = choose(utilities, np.array([0.99, 0.0, 0.5, 0.99]))
    assert list(picks[:3]) == [0, 2, 1]
    assert picks[3] == 2  # a newcomer has no current option: plain logit, last band for u=0.99


def test_a_stay_bonus_equals_switching_only_when_the_gain_beats_the_cost():
    """Leaving c for j happens iff U_j + e_j > U_c + s + e_c: the logit with +s on c."""
    rng = np.random.default_rng(2)
    n, s = 200_000, 1.0
    base = np.array([0.0, 0.5])
    gumbel = rng.gumbel(size=(n, 2))
    switch_rate = np.mean(base[1] + gumbel[:, 1] > base[0] + s + gumbel[:, 0])
    p = logit_probabilities(with_stay_bonus(base[None, :], np.array([0]), s))[0]
    assert abs(switch_rate - p[1]) < 4 * np.sqrt(p[1] * (1 - p[1]) / n)
