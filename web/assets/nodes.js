// Nodes: each row on screen follows its node's reports (state, load, memory, temperature,
// instances) through the page's live stream.
"use strict";

(() => {
  const fixed = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : null);

  // Memory as the report gives it: used and total megabytes, or one figure in megabytes.
  function memoryText(memory) {
    if (memory && typeof memory === "object") {
      const used = fixed(memory.used_mb ?? memory.memory_used_mb, 0);
      const total = fixed(memory.total_mb ?? memory.memory_total_mb, 0);
      if (used !== null && total !== null) return `${used} of ${total}\u00a0MB`;
    }
    const mb = fixed(memory, 0);
    return mb === null ? null : `${mb}\u00a0MB`;
  }

  Trellis.on("node", (event) => {
    const row = document.querySelector(`[data-live-node="${CSS.escape(event.node)}"]`);
    if (!row) return;
    const set = (selector, text) => {
      const cell = row.querySelector(selector);
      if (cell && text !== null && text !== undefined) cell.textContent = text;
    };
    const cpu = fixed(event.cpu, 1);
    set("[data-cpu]", cpu === null ? null : `${cpu}\u00a0%`);
    set("[data-memory]", memoryText(event.memory));
    const celsius = fixed(event.temperature, 1);
    set("[data-temperature]", celsius === null ? null : `${celsius}\u00a0°C`);
    if (typeof event.instances === "number") set("[data-instances]", String(event.instances));
    if (event.state) {
      const state = row.querySelector("[data-node-state]");
      if (state) { state.textContent = event.state; state.dataset.state = event.state; }
    }
    if (event.at) {
      const seen = row.querySelector("[data-last-seen]");
      if (seen) {
        const at = document.createElement("time");
        at.setAttribute("datetime", event.at);
        seen.replaceChildren(at);
        Trellis.localTimes(seen);
      }
    }
  });
})();
