"""One colour per vendor, the same in every chart the project draws, and the titles of the
two share panels (token share beside revenue share) that the report and the app both show."""

from __future__ import annotations

import colorsys

from sim.scenario.schema import Scenario

PANELS = (
    ("token_share", "Token share (external model-API tokens)"),
    ("revenue_share", "Revenue share (AI cloud revenue)"),
)

# Fallbacks for vendors without a `color`, keyed by id so a vendor keeps its colour across scenarios.
KNOWN = {
    "volcano": "#1f77b4",
    "alibaba": "#ff7f0e",
    "baidu": "#2ca02c",
    "tencent": "#d62728",
    "huawei": "#9467bd",
    "others": "#7f7f7f",
}
SPARE = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896")


def vendor_colors(scenario: Scenario) -> dict[str, str]:
    """Colour of each vendor: its own `color`, else the house colour for its id, else a spare.

    Past the spares, colours are generated (hues a golden angle apart), so any number of
    vendors gets one each.
    """
    colors: dict[str, str] = {}
    spare = iter(SPARE)
    for count, (vendor_id, vendor) in enumerate(scenario.vendors.items()):
        colors[vendor_id] = vendor.color or KNOWN.get(vendor_id) or next(spare, None) or generated_color(count)
    return colors


def generated_color(index: int) -> str:
    """A distinct, mid-bright colour for the index-th vendor: hues spaced by the golden angle."""
    hue = (index * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.65, 0.8)
    return f"#{round(255 * red):02x}{round(255 * green):02x}{round(255 * blue):02x}"


def vendor_names(scenario: Scenario) -> dict[str, str]:
    return {vendor_id: vendor.name for vendor_id, vendor in scenario.vendors.items()}
