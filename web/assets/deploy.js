// The end user's pages: the deploy form's pickers (each role's places and instances, asked of
// the API as the person chooses, never the whole fleet), its schedule and cron preview and the
// body it sends; deployments' rows updated live, a confirmation before a delete, and a
// deployment's log followed on request.
"use strict";

(() => {
  const query = (pairs) => new URLSearchParams(Object.entries(pairs).filter(([, v]) => v)).toString();
  const get = (path) => Trellis.api("GET", path);
  const option = (value, text) => Object.assign(document.createElement("option"), { value, textContent: text });
  const debounce = (fn, ms = 250) => { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; };
  const where = (d) => `${d.location.site} / ${d.location.building} / ${d.location.room}`;

  // One role's pickers.
  function role(set) {
    const { kind, type, role: name } = set.dataset;
    const max = Number(set.dataset.max);
    const picker = (level) => set.querySelector(`select[data-level="${level}"]`);
    const [site, building, room] = ["site", "building", "room"].map(picker);
    const ticks = set.querySelector(".ticks");
    const hint = set.querySelector(".hint");
    const error = set.querySelector("[data-error-for]");
    const failed = (failure) => { error.textContent = failure.error ?? String(failure); };

    async function fill(select, level, pairs) {
      select.replaceChildren(option("", level === "building" ? "Any building" : "Any room"));
      select.disabled = true;
      const places = await get(`/api/v1/bindable/places?${query({ kind, type, ...pairs })}`);
      for (const place of places) select.append(option(place.name, `${place.name} (${place.instances})`));
      select.disabled = places.length === 0;
    }

    // The instances at the chosen place, the first `max` ticked.
    async function instances() {
      ticks.replaceChildren();
      if (!site.value) { hint.textContent = "Choose a site to see its instances."; return; }
      const pairs = { type, site: site.value, building: building.value, room: room.value, limit: "200" };
      const response = await fetch(`/api/v1/bindable/${kind}s?${query(pairs)}`, { credentials: "same-origin" });
      if (!response.ok) { failed(await response.json().catch(() => ({ error: response.statusText }))); return; }
      const devices = await response.json();
      const total = Number(response.headers.get("x-total-count") ?? devices.length);
      devices.forEach((d, i) => {
        const label = document.createElement("label");
        const box = Object.assign(document.createElement("input"), { type: "checkbox", value: d.id, checked: i < max });
        box.name = `bindings.${name}`;
        box.dataset.skip = "";
        label.append(box, ` ${d.name} — ${where(d)}`);
        ticks.append(label);
      });
      hint.textContent = devices.length === 0 ? "No instance you may use is there."
        : `${total} here${total > devices.length ? `, the first ${devices.length} shown; narrow by building or room` : ""}; ${max === 1 ? "tick one" : `tick up to ${max}`}.`;
    }

    site.addEventListener("change", async () => {
      error.textContent = "";
      room.replaceChildren(option("", "Any room")); room.disabled = true;
      try {
        if (site.value) await fill(building, "building", { site: site.value });
        else { building.replaceChildren(option("", "Any building")); building.disabled = true; }
        await instances();
      } catch (failure) { failed(failure); }
    });
    building.addEventListener("change", async () => {
      error.textContent = "";
      try {
        if (building.value) await fill(room, "room", { site: site.value, building: building.value });
        else { room.replaceChildren(option("", "Any room")); room.disabled = true; }
        await instances();
      } catch (failure) { failed(failure); }
    });
    room.addEventListener("change", () => instances().catch(failed));

    // By name: the list narrowed by a search the API runs.
    const named = set.querySelector(".by-name select");
    const count = set.querySelector(".by-name .count");
    set.querySelector("[data-search]").addEventListener("input", debounce(async (e) => {
      try {
        const response = await fetch(`/api/v1/bindable/${kind}s?${query({ type, q: e.target.value.trim(), limit: "50" })}`, { credentials: "same-origin" });
        if (!response.ok) throw await response.json();
        const devices = await response.json();
        const chosen = new Set([...named.selectedOptions].map((o) => o.value));
        named.replaceChildren(...devices.map((d) => Object.assign(option(d.id, `${d.name} — ${where(d)}`), { selected: chosen.has(d.id) })));
        count.textContent = `Showing ${devices.length} of ${response.headers.get("x-total-count") ?? devices.length}.`;
      } catch (failure) { failed(failure); }
    }));

    // By location or by name.
    for (const radio of set.querySelectorAll('input[type="radio"]')) {
      radio.addEventListener("change", () => {
        set.querySelector(".by-location").hidden = radio.value !== "location";
        set.querySelector(".by-name").hidden = radio.value !== "name";
      });
    }

    return () => {
      const byName = set.querySelector('input[type="radio"][value="name"]').checked;
      const ids = byName ? [...named.selectedOptions].map((o) => o.value)
        : [...ticks.querySelectorAll("input:checked")].map((box) => box.value);
      return [name, ids];
    };
  }

  // The cron preview: the next five starts, or the API's word on what is wrong.
  function cronPreview(form) {
    const input = form.querySelector('[name="schedule.expression"]');
    const error = form.querySelector("#cron-error");
    const preview = form.querySelector("#cron-preview");
    input.addEventListener("input", debounce(async () => {
      error.textContent = "";
      preview.hidden = true;
      const cron = input.value.trim();
      if (!cron) return;
      try {
        const answer = await get(`/api/v1/schedules/preview?${query({ cron, count: "5" })}`);
        const times = answer?.starts ?? []; // RFC 3339, UTC, soonest first
        preview.querySelector("ol").replaceChildren(...times.map((t) => {
          const li = document.createElement("li");
          li.append(Object.assign(document.createElement("time"), { dateTime: t, textContent: t }));
          return li;
        }));
        Trellis.localTimes(preview);
        preview.hidden = times.length === 0;
      } catch (failure) {
        // Before the preview exists (404) the form goes on without it; a 422 says what is wrong.
        if (failure.status !== 404) error.textContent = failure.error ?? String(failure);
      }
    }, 400));
  }

  function scheduleOf(form) {
    const kind = form.querySelector('[name="schedule.kind"]:checked').value;
    const value = (name) => form.querySelector(`[name="schedule.${name}"]`).value.trim();
    if (kind === "window") {
      const at = (name, what) => {
        const local = value(name);
        const time = new Date(local);
        if (!local || isNaN(time)) throw { field: "schedule", error: `schedule: give the time it ${what}` };
        return time.toISOString(); // the viewer's local time, as RFC 3339 in UTC
      };
      return { kind, start: at("start", "starts"), end: at("end", "ends") };
    }
    if (kind === "cron") {
      const schedule = { kind, expression: value("expression"), "duration-minutes": Number(value("duration-minutes")) };
      if (value("count")) schedule.count = Number(value("count"));
      return schedule;
    }
    return { kind: "now" };
  }

  function deployForm(form) {
    const roles = [...form.querySelectorAll("fieldset.role")].map(role);
    for (const radio of form.querySelectorAll('[name="schedule.kind"]')) {
      radio.addEventListener("change", () => {
        for (const part of form.querySelectorAll("[data-schedule]")) part.hidden = part.dataset.schedule !== radio.value;
      });
    }
    cronPreview(form);
    Trellis.then("deploy", () => {
      const config = {};
      for (const input of form.querySelectorAll("[data-param]")) {
        if (input.value.trim() !== "") config[input.dataset.param] = input.value.trim();
      }
      return {
        app: form.querySelector('[name="app"]').value,
        version: form.querySelector('[name="version"]').value,
        bindings: Object.fromEntries(roles.map((read) => read())),
        config,
        schedule: scheduleOf(form),
      };
    });
  }

  // A delete asks first; the portal's own submit handler runs only if the person agrees.
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (form && !confirm(form.dataset.confirm)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  // A deployment's row (or panel) follows its state.
  Trellis.on("deployment", (event) => {
    for (const row of document.querySelectorAll(`[data-live-deployment="${CSS.escape(event.deployment)}"]`)) {
      const set = (field, text) => { const el = row.querySelector(`[data-field="${field}"]`); if (el) el.textContent = text; };
      set("state", event.state);
      row.querySelector('[data-field="state"]')?.setAttribute("data-state", event.state);
      set("node", event.node ?? "—");
      set("restarts", event.restarts);
      set("detail", event.last_error ?? "");
    }
  });

  // Following a deployment's log, on request: its new lines appended as they come.
  function follow(button) {
    let source = null;
    button.addEventListener("click", () => {
      if (source) { source.close(); source = null; button.textContent = "Follow the log"; return; }
      const body = document.querySelector("#log tbody");
      source = new EventSource(`/api/v1/logs/tail?${query({ deployment: button.dataset.deployment })}`);
      button.textContent = "Stop following";
      source.addEventListener("line", (e) => {
        const line = JSON.parse(e.data);
        if (!body) return;
        const row = document.createElement("tr");
        for (const text of [line.time, line.level, line.source, line.text]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        body.append(row);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("form#deploy");
    if (form) deployForm(form);
    const button = document.querySelector("#follow");
    if (button) follow(button);
  });
})();
