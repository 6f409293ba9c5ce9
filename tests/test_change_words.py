"""What-if titles say the change in words, with vendor names; what cannot be read stays as written."""

from __future__ import annotations

import pytest
from conftest import small

from sim.report.change_words import plain_change, plain_question
from sim.whatif.changes import Changes


@pytest.fixture(scope="module")
def scenario():
    return small()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("--price-cut volcano=99%@2026-01", "Volcano Engine cuts its token price 99 % from Jan 2026"),
        ("--price-cut all=50%@2025-06", "every vendor cuts its token price 50 % from Jun 2025"),
        ("--capacity-cap all=0%@2025-01", "every vendor: imported GPUs grow at most 0 % a month from Jan 2025"),
        ("--switching-cost -50%@2025-01", "switching costs and lock-in fall 50 % from Jan 2025"),
        ("--set developers.switching_cost=0.3", "developers.switching_cost = 0.3 (what-if side)"),
        ("--price-cut not a change", "--price-cut not a change"),
    ],
)
def test_a_change_in_words(scenario, line, words):
    assert plain_change(line, scenario) == words


def test_the_question_puts_what_both_sides_share_last_and_names_no_flag(scenario):
    changes = Changes(price_cuts=["alibaba=30%@2025-03"], both=["months=48"]).descriptions()
    question = plain_question(changes, scenario)
    assert question == "Alibaba Cloud cuts its token price 30 % from Mar 2025; months = 48 (both sides)"
    assert plain_question([], scenario) == "no change"
