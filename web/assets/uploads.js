// Upload forms (models, apps): sends only the files chosen as one multipart request with a
// progress bar, then puts each of the API's errors beside the file it concerns (the error
// body's `field`, and every entry of `errors`). A file inside a .zip has no input of its own,
// so its errors go beside the .zip.
"use strict";

(() => {
  function spotFor(form, field, sent) {
    const name = sent.has(field) || !sent.has("package.zip") ? field : "package.zip";
    return form.querySelector(`[data-error-for="${CSS.escape(name ?? "")}"]`) ?? form.querySelector('[data-error-for=""]');
  }

  function show(form, failure, sent) {
    const problems = failure.errors?.length ? failure.errors : [{ field: failure.field ?? "", error: failure.error }];
    const texts = new Map();
    for (const problem of problems) {
      const spot = spotFor(form, problem.field ?? "", sent);
      texts.set(spot, [...(texts.get(spot) ?? []), problem.error]);
      const input = spot && form.querySelector(`input[name="${CSS.escape(spot.dataset.errorFor)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    for (const [spot, lines] of texts) if (spot) spot.textContent = lines.join("\n");
    form.querySelector("[aria-invalid]")?.focus();
  }

  async function send(form) {
    const [method, path] = form.dataset.uploadFiles.split(" ");
    Trellis.clearErrors(form);
    const data = new FormData();
    const sent = new Set();
    for (const input of form.querySelectorAll("input[type=file]")) {
      if (input.files.length) { data.append(input.name, input.files[0], input.name); sent.add(input.name); }
    }
    if (!sent.size) {
      show(form, { error: "Choose the files to upload first." }, sent);
      return;
    }
    const button = form.querySelector("button[type=submit]");
    const progress = form.querySelector("progress");
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      const result = await Trellis.upload(method, path, data, (share) => (progress.value = share));
      progress.value = 1;
      form.dataset.uploaded = result?.name ?? "";
      const then = form.dataset.then ?? "";
      if (then.startsWith("go:")) location.assign(then.slice(3).replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(result?.[k] ?? "")));
      else location.reload();
    } catch (failure) {
      progress.hidden = true;
      show(form, failure, sent);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-upload-files]");
    if (!form) return;
    e.preventDefault();
    send(form);
  });
})();
