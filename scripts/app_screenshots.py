"""The web app's screenshots in docs/images, taken from a running app in a real browser.

Start the app on the shipped baseline, then point this at it:

    python -m sim app scenarios/baseline.yaml --port 8791 &
    python scripts/app_screenshots.py --url http://127.0.0.1:8791/ --out docs/images

app-explore.png: a price-cut lever applied (Volcano Engine cuts 99 % in January 2025),
run to the end, the baseline faint behind. app-whatif.png: the What-if page's default
question with a few replicates (pass --replicates). Pictures made this way show what the
app shows, never a mock-up.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1440, 1500  # tall enough for every chart, the event list and the downloads


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the Vuetify select labelled `label`."""
    page.locator(".v-select", has=page.locator(f"label:has-text('{label}')")).first.click()
    page.locator(".v-menu__content .v-list-item", has_text=option).first.click()


def explore(page: Page, url: str, out: Path) -> None:
    """A lever moved and applied, the run to the end, and the baseline overlay drawn."""
    page.goto(url)
    page.wait_for_selector(".sim-month", timeout=120_000)
    choose(page, "Price cut: who", "volcano")
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Run to end").click()
    page.wait_for_selector(".sim-month:has-text('Month 36 of 36')", timeout=120_000)
    page.wait_for_selector(".sim-overlay-note", timeout=120_000)
    time.sleep(1.5)  # ECharts draws on the next animation frames
    page.screenshot(path=str(out / "app-explore.png"), full_page=True)


def whatif(page: Page, url: str, out: Path, replicates: int) -> None:
    """The What-if page's default question, answered."""
    page.goto(url)
    page.wait_for_selector(".sim-month", timeout=120_000)
    page.get_by_role("tab", name="What-if").click()
    field = page.get_by_label("Paired replicates")
    field.fill(str(replicates))
    field.press("Enter")
    page.get_by_role("button", name="Run what-if").click()
    page.locator(".sim-whatif-chart").wait_for(timeout=900_000)
    time.sleep(1.0)
    page.screenshot(path=str(out / "app-whatif.png"), full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8791/")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--pages", nargs="+", default=["explore", "whatif"], choices=["explore", "whatif"])
    args = parser.parse_args()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for name in args.pages:
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            if name == "explore":
                explore(page, args.url, args.out)
            else:
                whatif(page, args.url, args.out, args.replicates)
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
