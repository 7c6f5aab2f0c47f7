// Charts (uPlot, from npm; see build.rs): a sensor's readings and a node's load. Each chart asks
// the server for no more points than it is pixels wide (the server downsamples long histories
// to min / mean / max per time bucket), then grows with the page's live events, keeping at most
// that many points.
"use strict";

(() => {
  const charts = [];

  // A chart in `el` of `series` ({label, stroke, scale?}) over x in seconds; returns a pusher.
  function chart(el, series, axes) {
    const width = Math.max(el.clientWidth, 200);
    const data = [[], ...series.map(() => [])];
    const plot = new uPlot({
      width, height: 220,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, scale: s.scale ?? "y", fill: s.fill }))],
      axes: axes ?? [{}, { label: el.dataset.unit ?? "" }],
      scales: { x: { time: true } },
      legend: { live: false },
    }, data, el);
    const state = { el, plot, data, max: width };
    charts.push(state);
    return state;
  }

  function setData(state, rows) {
    const { data } = state;
    for (const column of data) column.length = 0;
    for (const row of rows.slice(-state.max)) row.forEach((v, i) => data[i].push(v));
    state.plot.setData(data);
    state.el.dataset.points = String(data[0].length);
  }

  function push(state, row) {
    const { data } = state;
    row.forEach((v, i) => data[i].push(v));
    while (data[0].length > state.max) for (const column of data) column.shift();
    state.plot.setData(data);
    state.el.dataset.points = String(data[0].length);
  }

  // A reading's number: plain JSON, or the tagged form ({"kind": "number", "value": 21.5}).
  const number = (v) =>
    typeof v === "number" ? v
      : typeof v === "boolean" ? Number(v)
        : v && typeof v === "object" && "value" in v ? number(v.value)
          : null;

  async function sensorChart(el) {
    const id = el.dataset.sensor;
    const state = chart(el, [
      { label: "reading", stroke: "#1f6f50" },
      { label: "min", stroke: "#9cc5b1" },
      { label: "max", stroke: "#9cc5b1" },
    ]);
    let ready = false;
    Trellis.on("reading", (event) => {
      if (ready && event.sensor === id) push(state, [Date.parse(event.at) / 1000, number(event.value), null, null]);
    });
    const since = el.dataset.since ?? "24h";
    const history = await Trellis.api("GET", `/api/v1/sensors/${encodeURIComponent(id)}/readings?since=${encodeURIComponent(since)}&points=${state.max}`);
    const rows = history.downsampled
      ? history.buckets.map((b) => [b.at_ms / 1000, b.mean, b.min, b.max])
      : history.readings.map((r) => [r.at_ms / 1000, number(r.value), null, null]);
    setData(state, rows);
    el.dataset.total = String(history.total);
    el.querySelector("[data-chart-placeholder]")?.remove();
    el.dataset.ready = "true";
    ready = true;
  }

  async function nodeChart(el) {
    const id = el.dataset.nodeLoad;
    const state = chart(el, [
      { label: "CPU %", stroke: "#1f6f50", scale: "%" },
      { label: "memory %", stroke: "#2a7de1", scale: "%" },
      { label: "°C", stroke: "#b3261e", scale: "°C" },
    ], [{}, { scale: "%", label: "%" }, { scale: "°C", side: 1, label: "°C", grid: { show: false } }]);
    const row = (p) => [Date.parse(p.at) / 1000, p.cpu, p.memory.total_mb ? (100 * p.memory.used_mb) / p.memory.total_mb : null, p.temperature];
    let ready = false;
    Trellis.on("node", (event) => {
      if (ready && event.node === id) push(state, row(event));
    });
    const load = await Trellis.api("GET", `/api/v1/nodes/${encodeURIComponent(id)}/load`);
    setData(state, load.points.map(row));
    el.dataset.ready = "true";
    ready = true;
  }

  // Registered before the page opens its live stream (portal.js opens it after DOMContentLoaded).
  document.addEventListener("DOMContentLoaded", () => {
    for (const el of document.querySelectorAll(".chart[data-sensor]")) {
      sensorChart(el).catch((e) => (el.textContent = `The chart could not be drawn: ${e.error ?? e}`));
    }
    for (const el of document.querySelectorAll(".chart[data-node-load]")) {
      nodeChart(el).catch((e) => (el.textContent = `The chart could not be drawn: ${e.error ?? e}`));
    }
  });
  window.addEventListener("resize", () => {
    for (const state of charts) state.plot.setSize({ width: Math.max(state.el.clientWidth, 200), height: 220 });
  });
})();
