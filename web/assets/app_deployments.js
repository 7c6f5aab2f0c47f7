// An app's page: each deployment row follows its `deployment` events (state, node, restarts,
// last error) without a reload.
"use strict";

Trellis.on("deployment", (event) => {
  const row = document.querySelector(`[data-live-deployment="${CSS.escape(event.deployment)}"]`);
  if (!row) return;
  const state = row.querySelector('[data-field="state"]');
  state.textContent = event.state;
  state.dataset.state = event.state;
  row.querySelector('[data-field="node"]').textContent = event.node ?? "—";
  row.querySelector('[data-field="restarts"]').textContent = event.restarts;
  if (event.last_error !== undefined) row.querySelector('[data-field="last_error"]').textContent = event.last_error ?? "";
});
