// The portal's thin layer of script: forms that speak to the JSON API and show its errors beside
// what caused them, uploads with progress, times in the viewer's time zone, and one live
// (server-sent events) stream per page for the rows on screen. Pages work without it for
// reading; changes go through it to the API, signed with the page's cross-site-request token.
"use strict";

const Trellis = (() => {
  const csrf = () => document.querySelector("main[data-csrf]")?.dataset.csrf ?? "";

  // The API's error message from a failed answer (its JSON error shape), or the status text.
  async function errorOf(response) {
    try {
      const body = await response.json();
      return body;
    } catch {
      return { error: `${response.status} ${response.statusText}` };
    }
  }

  // Calls the API; resolves to the parsed JSON (or null), rejects with {error, field?, status}.
  async function api(method, path, body) {
    const init = { method, headers: { "x-trellis-csrf": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (!response.ok) throw { status: response.status, ...(await errorOf(response)) };
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  // Sends a multipart form with progress (fetch cannot report upload progress; XHR can).
  function upload(method, path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, path);
      xhr.setRequestHeader("x-trellis-csrf", csrf());
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        let body = null;
        try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = { error: xhr.responseText }; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject({ status: xhr.status, ...(body ?? { error: `${xhr.status} ${xhr.statusText}` }) });
      };
      xhr.onerror = () => reject({ status: 0, error: "the server could not be reached; nothing was sent" });
      xhr.send(formData);
    });
  }

  // A form field's value as the API wants it: data-type says number, json, list, bool or text.
  function valueOf(input) {
    const type = input.dataset.type ?? (input.type === "number" ? "number" : "text");
    if (input.type === "checkbox") return input.checked;
    const raw = input.value.trim();
    if (raw === "" && input.dataset.optional !== undefined) return undefined;
    switch (type) {
      case "number": return raw === "" ? undefined : Number(raw);
      case "json": return raw === "" ? undefined : JSON.parse(raw);
      case "list": return raw.split(",").map((s) => s.trim()).filter(Boolean);
      case "multi": return [...input.selectedOptions].map((o) => o.value);
      default: return raw;
    }
  }

  // Sets body[a][b] for a field named "a.b".
  function put(body, name, value) {
    const path = name.split(".");
    let at = body;
    for (const key of path.slice(0, -1)) at = at[key] ??= {};
    at[path[path.length - 1]] = value;
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach((el) => (el.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  }

  // The field an API message names before a colon ("location.site: must not be empty",
  // "commands[].name: ..."), when the form has a place for it (or for its first part).
  function fieldNamed(form, message) {
    const named = /^([\w.\[\]]+): /.exec(message ?? "")?.[1];
    if (!named) return "";
    const has = (f) => form.querySelector(`[data-error-for="${CSS.escape(f)}"]`);
    return [named, named.split(/[.[]/)[0]].find(has) ?? "";
  }

  // Puts an API error beside the field it concerns (its `field`, else the field its message
  // names), else at the form's own place.
  function showError(form, failure) {
    const field = failure.field ?? fieldNamed(form, failure.error);
    const spot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ?? form.querySelector('[data-error-for=""]');
    if (spot) spot.textContent = failure.error ?? String(failure);
    const input = field && form.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
    for (const extra of failure.errors ?? []) {
      const at = form.querySelector(`[data-error-for="${CSS.escape(extra.field ?? "")}"]`);
      if (at && at !== spot) at.textContent = extra.error;
    }
  }

  // What to do after a form succeeded: data-then="reload", "go:/path", "go:/path/{id}" or a
  // function registered with Trellis.then(name, fn).
  const thens = {};
  function after(form, result) {
    const then = form.dataset.then ?? "reload";
    if (then === "reload") location.reload();
    else if (then.startsWith("go:")) location.assign(then.slice(3).replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(result?.[k] ?? "")));
    else thens[then]?.(form, result);
  }

  async function submit(form) {
    const [method, path] = form.dataset.api.split(" ");
    clearErrors(form);
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (button) button.disabled = true;
    try {
      let result;
      if (form.dataset.upload !== undefined) {
        const progress = form.querySelector("progress");
        if (progress) { progress.hidden = false; progress.value = 0; }
        result = await upload(method, path, new FormData(form), (share) => progress && (progress.value = share));
      } else {
        const body = {};
        for (const input of form.querySelectorAll("[name]")) {
          if (input.disabled || input.dataset.skip !== undefined) continue;
          let value;
          try { value = valueOf(input); } catch (e) {
            throw { field: input.name, error: `${input.name}: not valid JSON (${e.message})` };
          }
          if (value !== undefined) put(body, input.name, value);
        }
        const transform = form.dataset.transform && thens[form.dataset.transform];
        result = await api(method, path, transform ? transform(body, form) : (method === "DELETE" ? undefined : body));
      }
      after(form, result);
    } catch (failure) {
      showError(form, failure);
    } finally {
      if (button) button.disabled = false;
    }
  }

  // Shows every <time datetime> in the viewer's own time zone.
  function localTimes(root = document) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = at.toLocaleString(); el.title = el.getAttribute("datetime"); }
    }
  }

  // Live views: one EventSource for every [data-live-KIND="id"] on the page; handlers by event.
  const handlers = {};
  const listening = new Set();
  function listen(type) {
    if (!live || listening.has(type)) return;
    listening.add(type);
    live.addEventListener(type, (e) => handlers[type].forEach((fn) => fn(JSON.parse(e.data))));
  }
  const KINDS = ["sensor", "controller", "deployment", "node", "model"];
  let live = null;
  function openLive() {
    const params = new URLSearchParams();
    for (const kind of KINDS) {
      const ids = new Set([...document.querySelectorAll(`[data-live-${kind}]`)].map((el) => el.getAttribute(`data-live-${kind}`)));
      if (ids.size) params.set(`${kind}s`, [...ids].join(","));
    }
    if (![...params.keys()].length) return;
    live = new EventSource(`/api/v1/live?${params}`);
    document.documentElement.dataset.liveUrl = live.url;
    for (const type of Object.keys(handlers)) listen(type);
    live.onopen = () => (document.documentElement.dataset.live = "open");
  }

  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-api]");
    if (!form) return;
    e.preventDefault();
    submit(form);
  });
  document.addEventListener("DOMContentLoaded", () => {
    localTimes();
    setTimeout(openLive, 0); // after every page script registered its handlers
  });

  return {
    api, upload, localTimes, showError, clearErrors,
    on(type, fn) { (handlers[type] ??= []).push(fn); listen(type); },
    then(name, fn) { thens[name] = fn; },
  };
})();
