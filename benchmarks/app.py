"""How quick the web app is, measured in a real browser (Debian's Chromium through Playwright).

Starts `sim app` on the shipped baseline at its default agent counts and prints:
  - ready: seconds from starting the server until it answers, and until the Explore page
    shows its first month label in the browser;
  - Step: click to new month label (browser), and the server's share of it (model step
    with its DataCollector, then the charts' ECharts options as JSON) averaged over the months;
  - a whole baseline run: Reset, then "Run to end", click until the last month's charts;
  - a 12-replicate what-if: click until the headline shows, on all cores.
Goals: ready < 5 s, Step < 200 ms, baseline run < 3 s, what-if < 30 s.
Also prints the machine's load, since other work on the same cores slows every figure,
and the CPU time each part cost the server (and the what-if's worker processes), which
other work does not inflate.

    python benchmarks/app.py [--screenshots docs/images] [--replicates 12]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no answer at {url}")


def server_step_ms() -> tuple[float, float]:
    """Mean model step and mean chart options (ms) over the baseline's months, in this process."""
    import sim
    from sim.app import charts

    scenario = sim.load_scenario(BASELINE)
    model = sim.build_model(scenario)
    stepping = drawing = 0.0
    for _ in range(scenario.months):
        began = time.perf_counter()
        model.step()
        stepped = time.perf_counter()
        frame = model.datacollector.get_model_vars_dataframe()
        json.dumps([*charts.shares_options(frame, scenario), charts.streams_option(frame, scenario)])
        drawing += time.perf_counter() - stepped
        stepping += stepped - began
    return 1000 * stepping / scenario.months, 1000 * drawing / scenario.months


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of the server and its finished worker processes: what the work costs on an idle machine."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def month_label(page) -> str:
    return page.locator(".sim-month").inner_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screenshots", type=Path, help="save app-explore.png and app-whatif.png here")
    parser.add_argument("--replicates", type=int, default=12)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    began = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", str(BASELINE), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cpu = psutil.Process(server.pid)
    try:
        wait_for_http(url)
        answering = time.perf_counter() - began
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1050})
            page.goto(url)
            page.wait_for_selector(".sim-month:has-text('Month 0 of 36')", timeout=120_000)
            shown = time.perf_counter() - began
            print(
                f"ready: server answers after {answering:.2f} s, Explore page shown after {shown:.2f} s (goal < 5 s); "
                f"server CPU {cpu_seconds(cpu):.2f} s"
            )

            clicks = []
            used = cpu_seconds(cpu)
            for month in range(1, 6):
                started = time.perf_counter()
                page.get_by_role("button", name="Step").click()
                page.wait_for_selector(f".sim-month:has-text('Month {month} of 36')")
                clicks.append(time.perf_counter() - started)
            step_cpu = (cpu_seconds(cpu) - used) / 5
            stepping, drawing = server_step_ms()
            print(
                f"Step, click to new month label: median {1000 * sorted(clicks)[2]:.0f} ms over 5 clicks "
                f"(goal < 200 ms); server CPU {1000 * step_cpu:.0f} ms a click, of which "
                f"model {stepping:.0f} ms + chart options {drawing:.0f} ms"
            )

            page.get_by_role("button", name="Reset").click()
            page.wait_for_selector(".sim-month:has-text('Month 0 of 36')")
            started, used = time.perf_counter(), cpu_seconds(cpu)
            page.get_by_role("button", name="Run to end").click()
            page.wait_for_selector(".sim-month:has-text('Month 36 of 36')", timeout=120_000)
            page.locator(".sim-shares-chart").first.wait_for()
            print(
                f"whole baseline run, click to chart: {time.perf_counter() - started:.2f} s (goal < 3 s); "
                f"server CPU {cpu_seconds(cpu) - used:.2f} s"
            )
            if args.screenshots:
                page.screenshot(path=str(args.screenshots / "app-explore.png"), full_page=True)

            page.get_by_role("tab", name="What-if").click()
            replicates = page.get_by_label("Paired replicates")
            replicates.fill(str(args.replicates))
            replicates.press("Enter")
            started, used = time.perf_counter(), cpu_seconds(cpu)
            page.get_by_role("button", name="Run what-if").click()
            progress_seen = set()
            while page.locator(".sim-headline").count() == 0:
                if time.perf_counter() - started > 600:
                    raise RuntimeError("the what-if did not finish within 10 minutes")
                progress = page.locator(".sim-whatif-progress")
                if progress.count():
                    progress_seen.add(progress.first.inner_text())
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            print(
                f"{args.replicates}-replicate what-if, click to headline: {seconds:.1f} s (goal < 30 s); "
                f"CPU of server and workers {cpu_seconds(cpu) - used:.1f} s on {os.cpu_count()} cores; "
                f"progress shown: {len(progress_seen)} different values"
            )
            if args.screenshots:
                page.screenshot(path=str(args.screenshots / "app-whatif.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
