// Instances: labels typed as "key=value, ..." sent as the API's object; a new gateway token
// (at registration or rotation) shown once; rows on screen following their sensors' readings
// and controllers' reported states.
"use strict";

(() => {
  // The registration form's labels as {key: value}; a pair without "=" is said beside the field.
  Trellis.then("device", (body) => {
    const labels = {};
    for (const pair of body.labels ?? []) {
      const at = pair.indexOf("=");
      if (at <= 0) throw { field: "labels", error: `labels: \`${pair}\` should look like key=value` };
      labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return { ...body, labels };
  });

  // Shows the token the API answered with, in the box beside the form, this once.
  function showToken(form, device) {
    const box = form.closest("section").querySelector("[data-token-box]");
    box.querySelector("[data-token-name]").textContent = device.name;
    box.querySelector("[data-token]").textContent = device.token;
    box.querySelector("[data-token-link]").href =
      `/instances/${form.dataset.kind}/${encodeURIComponent(device.id)}`;
    box.hidden = false;
    box.focus();
  }

  // Registered: the token, and the form ready for the room's next device (the place stays).
  Trellis.then("device-registered", (form, device) => {
    showToken(form, device);
    for (const name of ["name", "labels"]) {
      const input = form.querySelector(`[name="${name}"]`);
      if (input) input.value = "";
    }
  });
  Trellis.then("token-shown", showToken);

  const text = (value) => (typeof value === "string" ? value : JSON.stringify(value));

  Trellis.on("reading", (event) => {
    for (const row of document.querySelectorAll(`[data-live-sensor="${CSS.escape(event.sensor)}"]`)) {
      const unit = row.dataset.unit ? `\u00a0${row.dataset.unit}` : "";
      const last = row.querySelector("[data-last-value]");
      if (last) {
        last.textContent = `${text(event.value)}${unit} `;
        const at = document.createElement("time");
        at.setAttribute("datetime", event.at);
        last.append(at);
        Trellis.localTimes(last);
      }
      const count = row.querySelector("[data-reading-count]");
      if (count) count.textContent = String((Number(count.textContent) || 0) + 1);
    }
  });

  Trellis.on("controller-state", (event) => {
    for (const row of document.querySelectorAll(`[data-live-controller="${CSS.escape(event.controller)}"]`)) {
      const state = row.querySelector("[data-reported-state]");
      if (state) {
        const code = document.createElement("code");
        code.textContent = text(event.state);
        state.replaceChildren(code);
      }
    }
  });

  // A controller's page: each command handed to it joins the top of its last commands.
  Trellis.on("command", (event) => {
    for (const body of document.querySelectorAll(`[data-commands-of="${CSS.escape(event.controller)}"]`)) {
      const row = document.createElement("tr");
      const when = document.createElement("td");
      const at = document.createElement("time");
      at.setAttribute("datetime", event.at);
      when.append(at);
      const command = document.createElement("td");
      const code = document.createElement("code");
      code.textContent = text(event.command);
      command.append(code);
      const from = document.createElement("td");
      from.textContent = event.deployment ?? "";
      row.append(when, command, from);
      body.prepend(row);
      Trellis.localTimes(row);
      while (body.rows.length > 5) body.deleteRow(-1);
      body.closest("section")?.querySelector("[data-no-commands]")?.remove();
      body.closest("table").hidden = false;
    }
  });
})();
