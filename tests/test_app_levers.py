"""The web app's levers and uploads, without a browser: the rules the pages rely on."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SCENARIOS, small

import sim
from sim.app.levers import (
    FIELD_LEVERS,
    NO_CUT,
    apply_levers,
    default_levers,
    field_bounds,
    model_params,
    whatif_changes,
)
from sim.app.scenarios import load_upload, upload_name
from sim.cli import main
from sim.scenario.loading import ScenarioError
from sim.whatif import Changes, parse_changes


def test_slider_bounds_come_from_the_schema():
    assert (field_bounds("serving.max_gpu_growth").low, field_bounds("serving.max_gpu_growth").high) == (0.0, 5.0)
    assert field_bounds("enterprises.adoption_rate").high == 1.0
    assert field_bounds("developers.switching_cost").high is None  # open above: the slider caps it
    params = model_params(small(), default_levers(small()))
    for lever in FIELD_LEVERS:
        bounds = field_bounds(lever.path)
        assert bounds.low is None or params[lever.name]["min"] >= bounds.low
        assert bounds.high is None or params[lever.name]["max"] <= bounds.high


def test_every_slider_starts_at_the_scenarios_value_on_its_own_grid():
    scenario = small()
    params = model_params(scenario, default_levers(scenario))
    for lever in FIELD_LEVERS:
        slider = params[lever.name]
        steps = (slider["value"] - slider["min"]) / slider["step"]
        assert math.isclose(steps, round(steps), abs_tol=1e-6), lever.name
        assert slider["step"] >= 1e-6, "the browser writes a smaller step as 1e-7: a slider then rounds to integers"


def test_untouched_levers_leave_the_scenario_as_it_is():
    scenario = small()
    assert apply_levers(scenario, default_levers(scenario)) == scenario


def test_a_price_cut_lever_is_the_same_event_as_sim_whatif_price_cut():
    scenario = small()
    values = {**default_levers(scenario), "price_cut_who": "alibaba", "price_cut_percent": 80}
    values["price_cut_date"] = "2025-03"
    _, expected = parse_changes(scenario, Changes(price_cuts=["alibaba=80%@2025-03"]))
    assert apply_levers(scenario, values).events == expected.events


def test_field_levers_set_their_fields():
    scenario = small()
    values = {**default_levers(scenario), "switching_cost": 2.5, "gpu_supply": 0.1, "months": 24}
    changed = apply_levers(scenario, values)
    assert (changed.developers.switching_cost, changed.serving.max_gpu_growth, changed.months) == (2.5, 0.1, 24)


def test_an_impossible_combination_is_a_message_naming_the_lever():
    scenario = small()
    values = {**default_levers(scenario), "price_cut_who": "all", "price_cut_date": "2026-06", "months": 12}
    with pytest.raises(ScenarioError, match=r"Price cut: all=50%@2026-06: date 2026-06 is outside the scenario"):
        apply_levers(scenario, values)
    assert values["price_cut_who"] != NO_CUT


def test_the_whatif_form_becomes_the_flags_of_sim_whatif():
    changes = whatif_changes(price_cut=" all=99%@2026-01 ", sets="developers.review_probability=0.3\n\n")
    assert changes == Changes(price_cuts=["all=99%@2026-01"], sets=["developers.review_probability=0.3"])
    assert whatif_changes().is_empty()


def test_an_invalid_upload_reads_exactly_as_sim_validate_prints_it(tmp_path, capsys, monkeypatch):
    text = "extends: baseline.yaml\nvendors:\n  volcano:\n    price: -0.1\n    gpus: zero\n"
    with pytest.raises(ScenarioError) as upload:
        load_upload("broken.yaml", text.encode(), SCENARIOS)
    shutil.copyfile(SCENARIOS / "baseline.yaml", tmp_path / "baseline.yaml")
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "broken.yaml"]) == 2
    assert str(upload.value) == capsys.readouterr().err.strip()
    assert "broken.yaml:4: vendors.volcano.price" in str(upload.value)


def test_a_valid_upload_is_the_scenario_the_command_line_would_load(tmp_path):
    text = b"extends: baseline.yaml\nname: shorter\nmonths: 6\n"
    scenario = load_upload("C:\\Users\\me\\shorter.yaml", text, SCENARIOS)
    (tmp_path / "shorter.yaml").write_bytes(text)
    shutil.copyfile(SCENARIOS / "baseline.yaml", tmp_path / "baseline.yaml")
    assert scenario == sim.load_scenario(tmp_path / "shorter.yaml")


def test_upload_names_never_reach_outside_the_temporary_folder():
    assert upload_name("../../etc/passwd") == "passwd"
    assert upload_name("") == "upload.yaml"
    assert upload_name("..") == "upload.yaml"


def test_sim_app_refuses_a_bad_scenario_or_port_before_starting_anything(tmp_path, capsys):
    assert main(["app", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: (top level): file not found" in capsys.readouterr().err
    assert main(["app", "--port", "70000"]) == 2
    assert "--port: expected a port from 1 to 65535" in capsys.readouterr().err


def test_the_command_line_does_not_import_the_web_framework():
    code = "import sys, sim.cli, sim.app; print('solara' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_whatif_page_names_a_folder_that_is_not_a_calibration(tmp_path):
    from sim.app.app import ensemble_problem

    form = {"ensemble": str(tmp_path), "ensemble_sets": "10"}
    assert "is not a finished calibration" in ensemble_problem(form, 2)
    (tmp_path / "ensemble.parquet").write_bytes(b"")
    (tmp_path / "calibration.json").write_text("{}")
    assert ensemble_problem(form, 2) == ""
    assert "Plausible sets" in ensemble_problem({**form, "ensemble_sets": "0"}, 2)
    assert ensemble_problem({**form, "ensemble_sets": ""}, 2) == ""  # empty: the default number of sets
    assert ensemble_problem({"ensemble": ""}, 2) == ""


def test_a_change_written_shortly_means_every_vendor_from_the_form_s_month():
    from sim.app.levers import with_defaults

    assert with_defaults("99%", "2025-07") == "all=99%@2025-07"
    assert with_defaults("volcano=99%", "2025-07") == "volcano=99%@2025-07"
    assert with_defaults("all=99%@2026-01", "2025-07") == "all=99%@2026-01"
    changes = whatif_changes(price_cut="99%", both="months=48\n", default_month="2025-07")
    assert changes.price_cuts == ["all=99%@2025-07"] and changes.both == ["months=48"]


def test_an_ensemble_answer_shows_the_calibrations_posterior_when_it_has_one(tmp_path):
    from sim.app.app import posterior_plot

    shipped = posterior_plot(str(ROOT / "data" / "ensembles" / "baseline"))
    assert shipped is not None and shipped[:8] == b"\x89PNG\r\n\x1a\n"
    assert posterior_plot(str(tmp_path)) is None  # a calibration folder without one
    assert posterior_plot("") is None  # no ensemble: one parameter set
