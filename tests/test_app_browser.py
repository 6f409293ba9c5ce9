"""The web app in a real browser: headless Chromium (Debian's) driven by Playwright.

One server (`sim app` on a free port, a small scenario so runs are quick) serves every
test; each test opens its own page, that is its own session.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, SCENARIOS
from dask.distributed import Client, LocalCluster

import sim
from sim.sweep import run_sweep

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

SMALL_GRID = ROOT / "tests" / "fixtures" / "sweeps" / "small_grid.yaml"
CHROMIUM = Path(os.environ.get("SIM_CHROMIUM", "/usr/bin/chromium"))
READY_TIMEOUT_S = 90
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
MONTH_AT_LEAST = """(least) => {
    const label = document.querySelector('.sim-month');
    const month = label ? parseInt(label.textContent.split(' ')[1]) : 0;
    return month >= least;
}"""

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    ),
    pytest.mark.xdist_group("browser"),  # one app server for the module (`make test` distributes by group)
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sim app exited with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"sim app did not answer at {url} within {READY_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    scenario = folder / "small.yaml"
    scenario.write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: small\nmonths: 24\n"
        "agents:\n  developers: 3000\n  enterprises: 600\n",
        encoding="utf-8",
    )
    port = _free_port()
    env = {**os.environ, "SIM_APP_RUNS": str(folder / "runs")}
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", str(scenario), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Watched:
    """A page with every console error and every request it made."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def month(self) -> str:
        return self.page.locator(".sim-month").inner_text()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    watched = Watched(context.new_page())
    watched.page.goto(app_url)
    watched.page.wait_for_selector(".sim-month:has-text('Month 0 of 24')", timeout=60_000)
    yield watched
    context.close()


def _shares_chart(page) -> bytes:
    """What the token share chart shows, as pixels (ECharts draws on a canvas)."""
    chart = page.locator(".sim-shares-chart canvas").first
    chart.wait_for()
    return chart.screenshot()


def _wait_for_change(page, before: bytes, timeout_s: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout_s
    while (after := _shares_chart(page)) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    return after


def test_the_page_loads_with_no_console_error_and_no_request_beyond_this_machine(page):
    page.page.wait_for_load_state("networkidle")
    assert page.errors == []
    hosts = {urlparse(url).hostname for url in page.requests if urlparse(url).scheme in ("http", "https", "ws")}
    assert hosts <= LOCAL_HOSTS, f"requests to {hosts - LOCAL_HOSTS}"
    assert page.requests, "the page made no request at all: the check above would be empty"
    levers = page.page.locator(".sim-lever-values").inner_text()  # showing a slider changes nothing
    baseline = sim.load_scenario(SCENARIOS / "baseline.yaml")
    adoption, switching = baseline.enterprises.adoption_rate, baseline.developers.switching_cost
    assert (
        f"enterprises.adoption_rate: {adoption:g}" in levers and f"developers.switching_cost: {switching:g}" in levers
    )


def test_step_advances_the_month_label_and_redraws_the_chart(page):
    before = _shares_chart(page.page)
    page.page.get_by_role("button", name="Step").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 1 of 24: 2024-01')")
    assert _wait_for_change(page.page, before) != before
    page.page.get_by_role("button", name="Step").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 2 of 24: 2024-02')")
    assert page.page.locator(".sim-leaders").inner_text().count("leader:") == 2


def test_play_runs_months_until_paused_and_reset_starts_over(page):
    page.page.get_by_role("button", name="Play").click()
    page.page.wait_for_function(MONTH_AT_LEAST, arg=2, timeout=30_000)
    page.page.get_by_role("button", name="Pause").click()
    page.page.wait_for_selector("button:has-text('Play')")
    paused_at = page.month()
    time.sleep(1.0)
    assert page.month() == paused_at  # paused means no more months
    assert "of 24" in paused_at and not paused_at.startswith("Month 24")
    page.page.get_by_role("button", name="Reset").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 0 of 24')")
    page.page.get_by_role("button", name="Run to end").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 24 of 24: 2025-12')", timeout=30_000)
    assert page.page.get_by_role("button", name="Step").is_disabled()


def test_a_whatif_runs_in_the_background_and_shows_its_headline_and_downloads(page):
    page.page.get_by_role("tab", name="What-if").click()
    page.page.get_by_label("Price cut (e.g. 99%, volcano=99%, all=99%@2026-01)").fill("all=90%@2024-06")
    replicates = page.page.get_by_label("Paired replicates")
    replicates.fill("2")
    replicates.press("Enter")
    page.page.get_by_role("button", name="Run what-if").click()
    headline = page.page.locator(".sim-headline").first
    headline.wait_for(timeout=90_000)
    assert headline.inner_text().startswith("By Dec 2025")
    for name in ("whatif.csv", "whatif.md", "whatif.png"):
        assert page.page.get_by_role("button", name=f"Download {name}").is_visible()
    assert page.errors == []


def test_a_whatif_change_outside_the_scenario_is_a_message_and_nothing_runs(page):
    page.page.get_by_role("tab", name="What-if").click()
    page.page.get_by_label("Price cut (e.g. 99%, volcano=99%, all=99%@2026-01)").fill("all=90%@2030-01")
    page.page.get_by_role("button", name="Run what-if").click()
    error = page.page.locator(".sim-whatif-error")
    error.wait_for()
    assert "outside the scenario" in error.inner_text()
    assert page.page.locator(".sim-whatif-progress").count() == 0


def test_an_invalid_upload_shows_its_errors_by_line_and_field_and_the_app_keeps_working(page, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("extends: baseline.yaml\nvendors:\n  volcano:\n    price: -0.1\n", encoding="utf-8")
    page.page.set_input_files(".sim-file-chooser input[type=file]", str(broken))
    error = page.page.locator(".sim-upload-error")
    error.wait_for()
    assert "broken.yaml:4: vendors.volcano.price: Input should be greater than 0" in error.inner_text()
    assert "Month 0 of 24" in page.month()  # the scenario in use is unchanged
    page.page.get_by_role("button", name="Step").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 1 of 24')")


def test_a_valid_upload_opens_it(page, tmp_path):
    shorter = tmp_path / "shorter.yaml"
    shorter.write_text("extends: baseline.yaml\nname: shorter\nmonths: 6\n", encoding="utf-8")
    page.page.set_input_files(".sim-file-chooser input[type=file]", str(shorter))
    page.page.wait_for_selector(".sim-month:has-text('Month 0 of 6')", timeout=30_000)


def test_a_folder_that_is_not_a_sweep_is_a_message_and_nothing_is_written(page, tmp_path):
    page.page.get_by_role("tab", name="Sweeps").click()
    folder = page.page.get_by_label("Sweep folder")
    folder.fill(str(tmp_path))
    page.page.get_by_role("button", name="Open").click()
    error = page.page.locator(".sim-sweep-error")
    error.wait_for(timeout=30_000)
    assert "not a sweep output folder" in error.inner_text()
    assert list(tmp_path.iterdir()) == []


def test_a_running_whatif_shows_its_progress_and_cancel_stops_it(page):
    page.page.get_by_role("tab", name="What-if").click()
    replicates = page.page.get_by_label("Paired replicates")
    replicates.fill("12")
    replicates.press("Enter")
    page.page.get_by_role("button", name="Run what-if").click()
    page.page.locator(".sim-whatif-progress").wait_for(timeout=60_000)
    page.page.wait_for_selector(".sim-whatif-progress:not(:has-text('paired runs: 0 %'))", timeout=60_000)
    page.page.get_by_role("button", name="Cancel").click()
    page.page.get_by_text("Cancelled.").wait_for(timeout=60_000)
    assert page.page.locator(".sim-headline").count() == 0
    assert page.page.get_by_role("button", name="Run what-if").is_enabled()


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory) -> Path:
    """The small grid's finished folder, run once for the Sweeps page's tests (8 short runs)."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        done = run_sweep(SMALL_GRID, tmp_path_factory.mktemp("sweep") / "small_grid", client=client, progress=False)
    return done.folder


def _files(folder: Path) -> list[Path]:
    return sorted(path.relative_to(folder) for path in folder.rglob("*"))


def _open_sweep(page, folder: Path) -> None:
    page.get_by_role("tab", name="Sweeps").click()
    page.get_by_label("Sweep folder").fill(str(folder))
    page.get_by_role("button", name="Open").click()
    page.locator(".sim-fan-chart").wait_for(timeout=60_000)


def test_a_finished_sweep_shows_its_indices_and_fan_charts_and_is_left_as_it_was(page, small_sweep):
    before = _files(small_sweep)
    _open_sweep(page.page, small_sweep)
    assert page.page.locator(".sim-indices-chart").count() == 1
    assert _files(small_sweep) == before
    assert page.errors == []


def test_discover_on_a_sweep_shows_the_chosen_box_and_the_tradeoff_chart_and_writes_nothing(page, small_sweep):
    before = _files(small_sweep)
    _open_sweep(page.page, small_sweep)
    field = page.page.get_by_label("Condition")
    assert "token_share[volcano]@2024-12 >" in field.get_attribute("placeholder"), "an example from its outcomes"
    field.fill("token_share[volcano]@2024-12 > 0.26")
    page.page.get_by_role("button", name="Run discovery").click()
    page.page.locator(".sim-discover-tradeoff").wait_for(timeout=60_000)
    assert "4 of 8 runs meet" in page.page.locator(".sim-discover-summary").inner_text()
    box = page.page.locator(".sim-discover-box").first.inner_text()
    assert "Box 1 (step 1 of its trajectory, sim discover's pick)" in box
    assert "events.volcano_price_cut.price ≤" in box and "quasi-p" in box
    assert "events.volcano_price_cut.price 1.00" in page.page.locator(".sim-discover-scores").inner_text()
    assert _files(small_sweep) == before
    assert page.errors == []


def test_discover_with_a_bad_condition_shows_the_command_lines_message_and_runs_nothing(page, small_sweep):
    _open_sweep(page.page, small_sweep)
    page.page.get_by_label("Condition").fill("token_share[volcano]@2030-12 > 0.2")
    page.page.get_by_role("button", name="Run discovery").click()
    error = page.page.locator(".sim-discover-error")
    error.wait_for(timeout=30_000)
    assert error.inner_text().startswith("--where: token_share[volcano]@2030-12 > 0.2: unknown month or period")
    assert page.page.locator(".sim-discover-progress").count() == 0
    assert page.page.locator(".sim-discover-tradeoff").count() == 0


# --- Explore: every vendor in the legend, readable events, units, the baseline behind, a download -----

VENDOR_NAMES = [vendor.name for vendor in sim.load_scenario(SCENARIOS / "baseline.yaml").vendors.values()]
OVERLAPPING = """(selector) => {
    const boxes = [...document.querySelectorAll(selector)].map((el) => el.getBoundingClientRect());
    const width = document.documentElement.clientWidth;
    const outside = boxes.filter((b) => b.left < 0 || b.right > width || b.width === 0).length;
    let overlaps = 0;
    for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
                overlaps++;
            }
        }
    }
    return {outside, overlaps, count: boxes.length};
}"""
CUT_OFF = """(selector) => [...document.querySelectorAll(selector)]
    .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > window.innerWidth)
    .map((el) => el.textContent)"""


@pytest.mark.parametrize("width", [1280, 1440])
def test_the_legend_shows_every_vendor_and_the_events_are_listed_readably_at_common_widths(browser, app_url, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.wait_for_selector(".sim-month:has-text('Month 0 of 24')", timeout=60_000)
        items = page.locator(".sim-legend-item")
        assert [items.nth(i).inner_text().strip().split("\n")[-1].strip() for i in range(items.count())] == VENDOR_NAMES
        legend = page.evaluate(OVERLAPPING, ".sim-legend-item")
        assert legend == {"outside": 0, "overlaps": 0, "count": len(VENDOR_NAMES)}, "a vendor hidden or overlapping"
        events = page.locator(".sim-event")
        assert events.count() >= 5 and events.first.inner_text().startswith("1. 2024-05: Volcano Engine: Doubao")
        assert page.evaluate(OVERLAPPING, ".sim-event")["overlaps"] == 0
        assert page.evaluate(CUT_OFF, ".sim-event, .sim-legend-item") == []
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_sliders_show_their_values_and_the_tooltip_gives_shares_in_percent(page):
    text = page.page.get_by_text("Switching cost:").first.inner_text()
    switching = sim.load_scenario(SCENARIOS / "baseline.yaml").developers.switching_cost
    assert text.strip() == f"Switching cost: {switching:.4g}"
    assert page.page.get_by_text("Price cut: 50 %").count() == 1
    for _ in range(3):
        page.page.get_by_role("button", name="Step").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 3 of 24')")
    chart = page.page.locator(".sim-shares-chart").first
    box = chart.bounding_box()
    page.page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2)
    page.page.wait_for_function(
        "() => document.querySelector('.sim-shares-chart').innerText.includes('%')", timeout=10_000
    )
    tooltip = chart.inner_text()
    # one decimal at most: ECharts' templates print 29.0 as "29" (the values are rounded in Python)
    shares = re.findall(r"(Volcano Engine|Alibaba Cloud): (\d+(?:\.\d)?) %", tooltip)
    assert len(shares) == 2, repr(tooltip)
    assert not re.search(r"\d\.\d{2,}", tooltip), f"unrounded numbers in {tooltip!r}"


def test_after_a_lever_changes_the_baseline_is_drawn_behind_and_the_run_downloads_as_a_zip(page, tmp_path):
    assert page.page.locator(".sim-overlay-note").count() == 0  # nothing to compare with yet
    page.page.locator(".v-select", has=page.page.locator("label:has-text('Price cut: who')")).first.click()
    page.page.locator(".v-menu__content .v-list-item", has_text="volcano").first.click()
    page.page.get_by_role("button", name="Reset").click()
    page.page.locator(".sim-overlay-note").wait_for(timeout=90_000)
    page.page.get_by_role("button", name="Step").click()
    page.page.wait_for_selector(".sim-month:has-text('Month 1 of 24')")
    with page.page.expect_download() as started:
        page.page.get_by_role("button", name=re.compile("Download this run")).click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.name == "small-1-months.zip"
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["market.csv", "scenario.resolved.yaml", "trajectories.csv"]
        resolved = archive.read("scenario.resolved.yaml").decode()
        trajectories = archive.read("trajectories.csv").decode().splitlines()
    assert "what-if: volcano cuts 50 %" in resolved  # the run as the levers made it
    assert len(trajectories) == 1 + len(VENDOR_NAMES)  # a header and one month's vendors
    assert page.errors == []
