"""What-if analysis: paired runs with common random numbers, differences with intervals."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, small

import sim
from sim.cli import main
from sim.whatif import Changes, parse_changes, whatif
from sim.whatif.analysis import METRICS


@pytest.fixture(scope="module")
def scenario() -> sim.Scenario:
    return small("baseline", "months=20")


def test_a_whatif_that_changes_nothing_reports_exactly_zero_with_zero_width_intervals(scenario):
    result = whatif(scenario, Changes(), replicates=3, workers=1, progress=False)
    assert (result.table["difference"] == 0).all()
    assert (result.table["low"] == 0).all() and (result.table["high"] == 0).all()
    np.testing.assert_array_equal(result.samples["baseline"], result.samples["whatif"])


def test_common_random_numbers_leave_the_months_before_a_change_identical(scenario):
    result = whatif(scenario, Changes(price_cuts=["volcano=50%@2025-01"]), replicates=3, workers=1, progress=False)
    before = result.table[result.table["date"] < "2025-01"]
    after = result.table[(result.table["date"] >= "2025-01") & (result.table["metric"] == "token_share")]
    assert (before["difference"] == 0).all()
    assert (after["difference"].abs() > 0).any()
    volcano = result.at("2025-03", "token_share").set_index("vendor").loc["volcano"]
    assert volcano["low"] > 0  # a cheaper Volcano gains token share, and the interval says so


def test_results_are_identical_whatever_the_number_of_workers(scenario):
    changes = Changes(price_cuts=["baidu=30%@2024-09"])
    one = whatif(scenario, changes, replicates=4, workers=1, progress=False)
    two = whatif(scenario, changes, replicates=4, workers=2, progress=False)
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=True)


class Stop(Exception):
    """Raised by a progress callback to stop a what-if, as a web page's Cancel button does."""


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_is_reported_after_each_pair_and_raising_from_it_stops_the_rest(scenario, workers):
    seen: list[tuple[int, int]] = []
    whatif(scenario, Changes(), replicates=3, workers=workers, progress=False, on_pair=lambda *p: seen.append(p))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    def stop_after_first(done: int, total: int) -> None:
        seen.append((done, total))
        raise Stop

    seen.clear()
    with pytest.raises(Stop):
        whatif(scenario, Changes(), replicates=6, workers=workers, progress=False, on_pair=stop_after_first)
    assert seen == [(1, 6)]


def test_pairing_makes_the_interval_on_a_small_change_much_narrower():
    """The same small change, judged by paired differences and by two independent samples."""
    result = whatif(
        small("baseline", "months=18"),
        Changes(price_cuts=["huawei=20%@2024-10"]),
        replicates=8,
        workers=2,
        progress=False,
    )
    shares = result.table[
        result.table["metric"].isin(["token_share", "revenue_share"]) & (result.table.date >= "2024-10")
    ]
    paired = (shares["high"] - shares["low"]).mean()
    unpaired = (shares["unpaired_high"] - shares["unpaired_low"]).mean()
    assert paired < unpaired / 3


def test_changes_become_dated_events_on_the_whatif_side_only(scenario):
    changes = Changes(
        price_cuts=["all=99%@2025-01", "alibaba=20%@2024-06"],
        capacity_caps=["volcano=2%@2025-02"],
        switching_costs=["-50%@2024-08"],
        sets=["developers.review_probability=0.3"],
        both=["months=24"],
    )
    baseline, variant = parse_changes(scenario, changes)
    assert baseline.months == variant.months == 24
    assert len(baseline.events) == len(scenario.events)
    added = variant.events[len(scenario.events) :]
    assert [(e.type, e.date) for e in added] == [
        ("price", "2025-01"),
        ("price", "2024-06"),
        ("supply", "2025-02"),
        ("switching", "2024-08"),
    ]
    assert added[0].vendor == "all" and added[0].change == pytest.approx(-0.99)
    assert added[2].capacity_growth_cap == pytest.approx(0.02)
    assert added[3].switching_cost_change == pytest.approx(-0.5) == added[3].lock_in_weight_change
    assert variant.developers.review_probability == 0.3 != baseline.developers.review_probability


def test_against_another_scenario_file_compares_with_it(scenario):
    baseline, variant = parse_changes(
        scenario,
        Changes(
            against=SCENARIOS / "low_switching_cost.yaml",
            both=["months=20", "agents.developers=3000", "agents.enterprises=600"],
        ),
    )
    assert variant.developers.switching_cost == 0.1
    assert variant.seed == baseline.seed


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--price-cut", "bytedance=50%@2025-01"], "unknown vendor 'bytedance'"),
        (["--price-cut", "all=99%@2030-01"], "outside the scenario"),
        (["--price-cut", "all=150%@2025-01"], "less than 100 %"),
        (["--price-cut", "all-99%-2025-01"], "expected WHO=PERCENT%@YYYY-MM"),
        (["--price-cut", "all=99@2025-01"], "expected WHO=PERCENT%@YYYY-MM"),
        (["--price-cut", "all=50%@2025-13"], "YYYY-MM"),
        (["--capacity-cap", "volcano=2%"], "expected WHO=PERCENT%@YYYY-MM"),
        (["--switching-cost=-150%@2025-01"], "above -100 %"),
        (["--set", "developers.review_probability=2"], "--set"),
        (["--at", "2031-01"], "--at"),
        (["--replicates", "1"], "--replicates"),
        (["--against", "no_such_file.yaml"], "no_such_file.yaml"),
    ],
)
def test_bad_changes_exit_2_with_a_clear_message(flags, named, capsys, tmp_path):
    code = main(["whatif", str(SCENARIOS / "baseline.yaml"), *flags, "--out", str(tmp_path / "w"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert named in err
    assert "Traceback" not in err
    assert not (tmp_path / "w").exists()


def test_the_whatif_command_writes_its_report_table_and_chart(tmp_path):
    out = tmp_path / "w"
    command = [
        sys.executable,
        "-m",
        "sim",
        "whatif",
        str(SCENARIOS / "baseline.yaml"),
        "--both",
        "agents.developers=3000",
        "--both",
        "agents.enterprises=600",
        "--both",
        "months=16",
        "--price-cut",
        "volcano=50%@2024-09",
        "--replicates",
        "3",
        "--at",
        "2024-12",
        "--out",
        str(out),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "By Dec 2024" in completed.stdout
    report = (out / "whatif.md").read_text()
    assert "--price-cut volcano=50%@2024-09" in report and "## 2024-12" in report and "seeds" in report
    headlines = report.split("## Changes applied")[0]
    assert "By Dec 2024" in headlines and "Apr 2025" not in headlines, "the report's headlines are at --at, as printed"
    # written for a reader: the question in the title, vendors by name, no exponents, one unit per measure
    title = report.splitlines()[0]
    assert title.startswith("# What if: Volcano Engine cuts its token price 50 % from Sep 2024"), title
    assert "--" not in title, "the title in words, the flags under Changes applied"
    assert "| Volcano Engine | token share |" in report and "| volcano |" not in report
    assert not re.search(r"\d[eE][+-]\d", report.split("## Provenance")[0])
    # one parameter set: every headline, in the terminal and the report, says its interval is noise only
    for text in (completed.stdout, report):
        flowing = " ".join(text.split())  # the terminal may wrap a headline
        headlines = len(re.findall(r"By [A-Z][a-z]{2} \d{4} ", flowing))
        assert headlines and flowing.count("Monte Carlo noise of one parameter set only") == headlines
    table = pd.read_csv(out / "whatif.csv")
    assert set(table.metric) == set(METRICS)
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_question_gets_its_own_folder_and_another_question_is_not_written_over_its_answer(
    tmp_path, monkeypatch, capsys
):
    """A strategist asks one question after another: each lands in runs/<scenario>-whatif-<question>/,
    the same question again rewrites its own folder, and a different one pointed at that folder
    is refused with both questions named."""
    monkeypatch.chdir(tmp_path)
    small_both = ["--both", "agents.developers=2000", "--both", "agents.enterprises=400", "--both", "months=14"]

    def ask(*flags: str) -> int:
        return main(["whatif", str(SCENARIOS / "baseline.yaml"), *small_both, "--replicates", "2", "--quiet", *flags])

    assert ask("--price-cut", "all=99%@2025-01") == 0
    assert ask("--price-cut", "all=50%@2025-01") == 0
    assert ask("--price-cut", "all=50%@2025-01") == 0
    folders = sorted(path.name for path in (tmp_path / "runs").iterdir())
    assert len(folders) == 2
    assert folders[0].startswith("baseline-whatif-price-cut-all-50-2025-01")
    assert folders[1].startswith("baseline-whatif-price-cut-all-99-2025-01")
    capsys.readouterr()
    assert ask("--price-cut", "all=10%@2025-01", "--out", str(tmp_path / "runs" / folders[0])) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--price-cut all=10%@2025-01" in err and "--price-cut all=50%@2025-01" in err
    assert "edited" not in err


def test_the_summary_across_sets_loads_without_the_paired_runner():
    """analysis.py runs the pairs and passes their arrays to ensemble.py: no import loop between them."""
    program = "import sys, sim.whatif.ensemble\nassert 'sim.whatif.analysis' not in sys.modules, 'loop'\n"
    subprocess.run([sys.executable, "-c", program], check=True)
