"""Widgets: a file chooser for scenario uploads, a guarded ECharts chart, a background task's status.

Solara's FileDrop takes only files dragged onto it; a chooser (a click, then the system's
file dialog) is what most users look for and what a browser test can drive. The browser
reads the chosen file as text and hands name and text to Python in one message.
"""

from __future__ import annotations

from pathlib import Path

import ipyvue
import solara.components.echarts as solara_echarts
import traitlets

TEMPLATE = """
<template>
  <div class="sim-file-chooser">
    <input type="file" accept=".yaml,.yml,text/yaml" @change="read" />
  </div>
</template>
<script>
module.exports = {
  methods: {
    async read(event) {
      const file = event.target.files[0];
      if (!file) { return; }
      const text = await file.text();
      this.serial = (this.serial || 0) + 1;
      this.chosen = {name: file.name, text: text, serial: this.serial};
      event.target.value = "";
    }
  }
}
</script>
"""


class FileChooser(ipyvue.VueTemplate):
    """`chosen` becomes {name, text, serial} each time the user picks a file (the same one again too)."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    chosen = traitlets.Dict(default_value={}).tag(sync=True)
    serial = traitlets.Int(0).tag(sync=True)


def _guarded_echarts_template() -> str:
    """Solara's ECharts template, guarded where it races with loading ECharts.

    Its option watcher calls `this.chart.setOption` even before ECharts has loaded and the
    chart exists (a quick Step after the page opens), and its `create` runs even if the
    chart's element has gone meanwhile: both end in a console error and a stale chart.
    """
    text = Path(solara_echarts.__file__).with_name("echarts.vue").read_text(encoding="utf-8")
    fixes = {
        "      this.chart.setOption(this.option, true);\n    },\n  },\n  methods: {": (
            "      if (this.chart) {\n        this.chart.setOption(this.option, true);\n      }\n"
            "    },\n  },\n  methods: {"
        ),
        "      this.chart = this.echarts.init(this.$refs.echarts);": (
            "      if (!this.$refs.echarts) {\n        return;\n      }\n"
            "      this.chart = this.echarts.init(this.$refs.echarts);"
        ),
    }
    for old, new in fixes.items():
        if text.count(old) != 1:
            raise RuntimeError(f"solara's echarts.vue has changed; update sim/app/widgets.py (looking for {old!r})")
        text = text.replace(old, new)
    return text


class Echarts(solara_echarts.EchartsWidget):
    """solara's ECharts widget (ECharts from solara-assets), with the loading races guarded."""

    template_file = None
    template = traitlets.Unicode(_guarded_echarts_template()).tag(sync=True)


def task_status(task, doing: str, failed: str, kind: str) -> None:
    """A background task's state on a page: progress while it runs, then cancelled or failed.

    `doing` names the work counted ("paired runs"), `failed` opens the error ("The what-if
    failed"), `kind` prefixes the CSS classes the browser tests find ("sim-whatif").
    """
    import solara

    if task.pending:
        progress = task.progress
        solara.ProgressLinear(value=progress if progress is not None else True)
        solara.Text(f"{doing}: {progress or 0:.0f} % done", classes=[f"{kind}-progress"])
    elif task.cancelled:
        solara.Warning("Cancelled.")
    elif task.error:
        solara.Error(f"{failed}: {task.exception}")
