// "Try it" on a model's page: sends JSON or a file to the version's predict endpoint, shows the
// answer (its label, when it has one) and how long it took: measured here, from sending to the
// whole answer, and the pipeline's part on the server when the answer's Server-Timing says it.
// The live figures (requests, mean latency) follow the model's events.
"use strict";

(() => {
  const form = document.getElementById("try-model");
  if (!form) return;
  const model = form.dataset.model;
  const result = document.getElementById("try-result");

  function serverMs(response) {
    const timing = response.headers.get("server-timing") ?? "";
    const match = /(?:^|,)\s*predict;[^,]*dur=([\d.]+)/.exec(timing);
    return match ? Number(match[1]) : null;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    Trellis.clearErrors(form);
    const version = form.elements.version.value;
    const json = form.elements.json.value.trim();
    const file = form.elements.file.files[0];
    const init = { method: "POST", credentials: "same-origin", headers: { "x-trellis-csrf": document.querySelector("main[data-csrf]").dataset.csrf } };
    if (file) {
      init.headers["content-type"] = file.type || "application/octet-stream";
      init.body = file;
    } else if (json) {
      try { JSON.parse(json); } catch (err) {
        Trellis.showError(form, { field: "json", error: `Not valid JSON: ${err.message}` });
        return;
      }
      init.headers["content-type"] = "application/json";
      init.body = json;
    } else {
      Trellis.showError(form, { field: "json", error: "Give an input: JSON here, or choose a file." });
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const started = performance.now();
      const response = await fetch(`/api/v1/models/${encodeURIComponent(model)}/${encodeURIComponent(version)}/predict`, init);
      const text = await response.text();
      const took = performance.now() - started;
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      if (!response.ok) {
        Trellis.showError(form, { field: file ? "file" : "json", error: body?.error ?? `${response.status} ${response.statusText}` });
        return;
      }
      result.hidden = false;
      result.querySelector("[data-answer]").textContent = typeof body === "string" ? body : JSON.stringify(body, null, 2);
      const label = body && typeof body === "object" && "label" in body ? String(body.label) : null;
      result.querySelector("#try-label").hidden = label === null;
      result.querySelector("[data-label]").textContent = label ?? "";
      result.querySelector("[data-took]").textContent = took.toFixed(1);
      const server = serverMs(response);
      result.querySelector("[data-server-part]").hidden = server === null;
      result.querySelector("[data-server]").textContent = server === null ? "" : server.toFixed(1);
    } catch (err) {
      Trellis.showError(form, { error: `The server could not be reached: ${err.message ?? err}` });
    } finally {
      button.disabled = false;
    }
  });

  Trellis.on("model", (event) => {
    if (event.model !== model) return;
    for (const el of document.querySelectorAll(`[data-live-model="${CSS.escape(model)}"]`)) {
      el.querySelector("[data-requests]").textContent = event.requests;
      el.querySelector("[data-latency]").textContent = Number(event.mean_latency_ms).toFixed(1);
    }
  });
})();
