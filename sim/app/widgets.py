"""A file chooser for scenario uploads.

Solara's FileDrop takes only files dragged onto it; a chooser (a click, then the system's
file dialog) is what most users look for and what a browser test can drive. The browser
reads the chosen file as text and hands name and text to Python in one message.
"""

from __future__ import annotations

import ipyvue
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
