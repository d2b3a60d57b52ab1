// ControlHost's web page: plain JavaScript over the server's own API (no build step). Every call goes to the same
// routes a script would use: a generation or placement is a job document submitted to /controlhost/v1/jobs and
// followed by its events, as the CLI's and A1111's routes submit theirs; /sdapi/v1 and /controlnet for the lists,
// hints, extras, interrupt and skip.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { modules: [], controlNets: [], checkpoints: [], background: null, backgroundImage: null, mask: null, boxes: [], drag: null, painting: false, last: null };

async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const detail = json && json.detail ? (Array.isArray(json.detail) ? json.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("\n") : json.detail) : text;
    throw new Error(`${response.status}: ${detail}`);
  }
  return json;
}

const fileToBase64 = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result.split(",")[1]);
  reader.onerror = reject;
  reader.readAsDataURL(file);
});

const setStatus = (text) => { $("status").textContent = text; };

// Errors show beside the result, where the user looks, as well as in the header.
const showError = (text) => { $("error").textContent = text; if (text) setStatus("error"); };

// ---------- units ----------

function numericOptions(module) {
  return module.options.filter((o) => o.kind === "integer" || o.kind === "number");
}

function renderOptions(unit) {
  const module = state.modules.find((m) => m.name === unit.querySelector(".condition").value);
  const box = unit.querySelector(".options");
  box.innerHTML = "";
  if (!module) return;
  for (const o of module.options.filter((o) => o.name !== "resolution")) {
    const label = document.createElement("label");
    label.title = o.help;
    label.textContent = o.name;
    const input = document.createElement("input");
    input.dataset.option = o.name;
    if (o.kind === "boolean") { input.type = "checkbox"; input.checked = o.default === "true"; }
    else if (o.kind === "integer" || o.kind === "number") {
      input.type = "number"; input.value = o.default;
      if (o.min !== null) input.min = o.min;
      if (o.max !== null) input.max = o.max;
      input.step = o.kind === "integer" ? 1 : "any";
    } else { input.type = "text"; input.value = o.default; }
    input.addEventListener("change", () => previewHint(unit));
    label.appendChild(input);
    box.appendChild(label);
  }
}

// The extension's detect route takes a module's first two numeric options as threshold_a and threshold_b.
function thresholds(unit) {
  const module = state.modules.find((m) => m.name === unit.querySelector(".condition").value);
  const [a, b] = module ? numericOptions(module) : [];
  const value = (o) => {
    if (!o) return -1;
    const input = unit.querySelector(`[data-option="${o.name}"]`);
    return input ? Number(input.value) : -1;
  };
  return { a: value(a), b: value(b) };
}

async function previewHint(unit) {
  const image = unit.dataset.image;
  if (!image) return;
  const module = unit.querySelector(".condition").value;
  const t = thresholds(unit);
  try {
    const result = await api("POST", "/controlnet/detect", {
      controlnet_module: module, controlnet_input_images: [image], controlnet_threshold_a: t.a, controlnet_threshold_b: t.b,
      controlnet_processor_res: processorRes(unit),
    });
    unit.querySelector(".hint").src = "data:image/png;base64," + result.images[0];
  } catch (e) { setStatus(`hint: ${e.message}`); }
}

function addUnit() {
  const unit = $("unit-template").content.firstElementChild.cloneNode(true);
  const select = unit.querySelector(".condition");
  for (const m of state.modules.filter((m) => m.model_condition)) select.add(new Option(m.name, m.name));
  select.addEventListener("change", () => { renderOptions(unit); renderModels(unit); previewHint(unit); });
  const pixelPerfect = unit.querySelector(".pixel-perfect");
  pixelPerfect.addEventListener("change", () => { unit.querySelector(".processor-res").disabled = pixelPerfect.checked; previewHint(unit); });
  unit.querySelector(".processor-res").addEventListener("change", () => previewHint(unit));
  unit.querySelector(".image").addEventListener("change", async (e) => {
    unit.dataset.image = await fileToBase64(e.target.files[0]);
    unit.querySelector(".unit-note").textContent = "";
    previewHint(unit);
  });
  unit.querySelector(".remove").addEventListener("click", () => unit.remove());
  unit.querySelector(".up").addEventListener("click", () => unit.previousElementSibling && unit.parentNode.insertBefore(unit, unit.previousElementSibling));
  unit.querySelector(".down").addEventListener("click", () => unit.nextElementSibling && unit.parentNode.insertBefore(unit.nextElementSibling, unit));
  $("units").appendChild(unit);
  renderOptions(unit);
  renderModels(unit);
  return unit;
}

// The ControlNets for the unit's condition (the extension's "model" field; "auto" lets the server pick).
function renderModels(unit) {
  const module = state.modules.find((m) => m.name === unit.querySelector(".condition").value);
  const select = unit.querySelector(".model");
  select.length = 1;
  const family = checkpointFamily();
  const fits = (c) => !family || !c.family || c.family === family;
  // A union ControlNet serves every condition (the server picks its control type from the unit's).
  const serves = (c) => module && (c.condition === module.model_condition || c.condition === "union");
  for (const c of state.controlNets.filter((c) => serves(c) && fits(c))) select.add(new Option(c.title, c.title));
}

// The picked checkpoint's family (sd1, sd2, sdxl; null when unknown): ControlNets of other families are not offered.
function checkpointFamily() {
  const m = state.checkpoints.find((c) => c.name === $("checkpoint").value);
  return m ? m.family : null;
}

// Picking a checkpoint sets Size to its native size (SDXL 1024) and narrows each unit's ControlNets to its family.
function checkpointChanged() {
  const m = state.checkpoints.find((c) => c.name === $("checkpoint").value);
  if (m && m.native_size) { $("width").value = m.native_size; $("height").value = m.native_size; }
  for (const unit of document.querySelectorAll("#units .unit")) renderModels(unit);
}

const processorRes = (u) => u.querySelector(".pixel-perfect").checked ? -1 : Number(u.querySelector(".processor-res").value);

// Enabled units without an image: said beside the unit, not dropped (img2img gives them the init image).
function unitsWithoutImage() {
  const missing = [...document.querySelectorAll("#units .unit")].filter((u) => u.querySelector(".enabled").checked && !u.dataset.image);
  for (const u of missing) u.querySelector(".unit-note").textContent = state.background ? "no image: the background is used" : "no image: choose one, or turn the unit off";
  return missing;
}

// The units as the job document's units: the condition, its image (img2img's init image when it has none), the
// extension's fields under the document's names, and the condition's own options by name.
function unitDocs(forBox) {
  return [...document.querySelectorAll("#units .unit")]
    .filter((u) => u.querySelector(".enabled").checked && (u.dataset.image || (state.background && forBox === undefined)))
    .filter((u) => forBox === undefined || Number(u.querySelector(".box").value) === 0 || Number(u.querySelector(".box").value) === forBox + 1)
    .map((u) => {
      const options = {};
      for (const input of u.querySelectorAll(".options [data-option]")) options[input.dataset.option] = input.type === "checkbox" ? String(input.checked) : String(input.value);
      const model = u.querySelector(".model").value;
      return {
        condition: u.querySelector(".condition").value, image: u.dataset.image || state.background,
        model: model && model !== "None" ? model.replace(/ \[[0-9a-f]+\]$/, "") : undefined,
        weight: Number(u.querySelector(".weight").value), start: Number(u.querySelector(".start").value), end: Number(u.querySelector(".end").value),
        mode: u.querySelector(".mode").value, resize: u.querySelector(".resize").value,
        processor_resolution: u.querySelector(".pixel-perfect").checked ? 0 : Number(u.querySelector(".processor-res").value),
        hires_pass: u.querySelector(".hr-option").value, options,
      };
    });
}

// ---------- canvas: background, mask, boxes ----------

function canvasScale() {
  const img = state.backgroundImage;
  return img ? $("canvas").width / Math.max(img.width, img.height) : 1;
}

function draw() {
  const c = $("canvas"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const s = canvasScale();
  if (state.backgroundImage) g.drawImage(state.backgroundImage, 0, 0, state.backgroundImage.width * s, state.backgroundImage.height * s);
  if (state.mask) { g.globalAlpha = 0.45; g.drawImage(state.mask, 0, 0, state.mask.width * s, state.mask.height * s); g.globalAlpha = 1; }
  g.lineWidth = 2;
  state.boxes.forEach((b, k) => {
    g.strokeStyle = "#ff2"; g.strokeRect(b.x * s, b.y * s, b.w * s, b.h * s);
    g.fillStyle = "#ff2"; g.fillText(String(k + 1), b.x * s + 3, b.y * s + 12);
  });
  if (state.drag) { g.strokeStyle = "#0ff"; const d = state.drag; g.strokeRect(Math.min(d.x0, d.x1) * s, Math.min(d.y0, d.y1) * s, Math.abs(d.x1 - d.x0) * s, Math.abs(d.y1 - d.y0) * s); }
}

function renderBoxes() {
  const list = $("boxes");
  list.innerHTML = "";
  state.boxes.forEach((b, k) => {
    const li = document.createElement("li");
    li.innerHTML = `box ${b.x},${b.y},${b.w},${b.h} <input class="box-prompt" placeholder="prompt (default: the main one)" value="${b.prompt || ""}"> <button type="button">remove</button>`;
    li.querySelector("input").addEventListener("input", (e) => { b.prompt = e.target.value; });
    li.querySelector("button").addEventListener("click", () => { state.boxes.splice(k, 1); renderBoxes(); draw(); });
    list.appendChild(li);
  });
}

function toImagePoint(e) {
  const r = $("canvas").getBoundingClientRect(), s = canvasScale();
  const img = state.backgroundImage;
  const x = Math.round((e.clientX - r.left) / s), y = Math.round((e.clientY - r.top) / s);
  return { x: Math.max(0, Math.min(img.width, x)), y: Math.max(0, Math.min(img.height, y)) };
}

function setupCanvas() {
  const c = $("canvas");
  c.addEventListener("mousedown", (e) => {
    if (!state.backgroundImage) return;
    const p = toImagePoint(e);
    if ($("tool").value === "box") state.drag = { x0: p.x, y0: p.y, x1: p.x, y1: p.y };
    else { state.painting = true; paint(p); }
  });
  c.addEventListener("mousemove", (e) => {
    if (!state.backgroundImage) return;
    const p = toImagePoint(e);
    if (state.drag) { state.drag.x1 = p.x; state.drag.y1 = p.y; draw(); }
    else if (state.painting) paint(p);
  });
  window.addEventListener("mouseup", () => {
    if (state.drag) {
      const d = state.drag;
      const box = { x: Math.min(d.x0, d.x1), y: Math.min(d.y0, d.y1), w: Math.abs(d.x1 - d.x0), h: Math.abs(d.y1 - d.y0) };
      state.drag = null;
      if (box.w >= 4 && box.h >= 4) { state.boxes.push(box); renderBoxes(); }
      draw();
    }
    state.painting = false;
  });
}

function paint(p) {
  if (!state.mask) {
    state.mask = document.createElement("canvas");
    state.mask.width = state.backgroundImage.width; state.mask.height = state.backgroundImage.height;
    const g = state.mask.getContext("2d"); g.fillStyle = "#000"; g.fillRect(0, 0, state.mask.width, state.mask.height);
  }
  const g = state.mask.getContext("2d");
  g.fillStyle = $("tool").value === "erase" ? "#000" : "#fff";
  g.beginPath(); g.arc(p.x, p.y, Math.max(1, Number($("brush").value)), 0, Math.PI * 2); g.fill();
  draw();
}

async function loadBackground(file) {
  state.background = await fileToBase64(file);
  state.backgroundImage = new Image();
  await new Promise((resolve) => { state.backgroundImage.onload = resolve; state.backgroundImage.src = "data:image/png;base64," + state.background; });
  state.mask = null; state.boxes = []; renderBoxes(); draw();
}

// ---------- generate ----------

const maskedContent = () => ["fill", "original", "latent noise", "latent nothing"][Number($("masked-content").value)];

// The form as a job document's generate part (A1111's names).
function generateDoc() {
  const doc = {
    prompt: $("prompt").value, negative_prompt: $("negative").value, steps: Number($("steps").value), cfg_scale: Number($("cfg").value),
    seed: Number($("seed").value), sampler: $("sampler").value, width: Number($("width").value), height: Number($("height").value),
    n_iter: Number($("n-iter").value), batch_size: Number($("batch-size").value), model: $("checkpoint").value, preview_every: 5,
    units: unitDocs(),
  };
  if (state.background) {
    doc.init_image = state.background;
    doc.strength = Number($("denoise").value);
    if (state.mask) {
      doc.inpaint = {
        mask: state.mask.toDataURL("image/png").split(",")[1], mask_blur: Number($("mask-blur").value),
        only_masked: $("inpaint-area").value === "1", content: maskedContent(),
      };
    }
  } else if ($("hires").checked) {
    doc.hires = { scale: Number($("hr-scale").value), upscaler: $("hr-upscaler").value, steps: Number($("hr-steps").value), strength: Number($("denoise").value) };
  }
  return doc;
}

function placeDoc() {
  return {
    background: state.background, prompt: $("prompt").value, negative_prompt: $("negative").value, steps: Number($("steps").value),
    cfg_scale: Number($("cfg").value), seed: Number($("seed").value), sampler: $("sampler").value, model: $("checkpoint").value,
    content: maskedContent(), preview_every: 5,
    boxes: state.boxes.map((x, k) => ({ box: `${x.x},${x.y},${x.w},${x.h}`, prompt: x.prompt || undefined, units: unitDocs(k) })),
  };
}

// Follows a job's server-sent events until it ends: progress, previews, and a word when it waits or starts again.
function follow(id) {
  return new Promise((resolve) => {
    const source = new EventSource(`/controlhost/v1/jobs/${id}/events`);
    const on = (kind, handle) => source.addEventListener(kind, (m) => handle(JSON.parse(m.data)));
    on("queued", () => { setStatus("waiting in the queue"); $("queue").textContent = "queued"; });
    on("started", (e) => { $("queue").textContent = ""; setStatus(e.attempt > 1 ? `started again on another worker (attempt ${e.attempt})` : "generating"); });
    on("progress", (e) => {
      const p = e.progress;
      $("progress").value = p.steps ? ((p.image - 1) * p.steps + p.step) / (p.steps * p.images) : 0;
      if (e.preview) $("preview").src = "data:image/png;base64," + e.preview;
      setStatus(p.images > 1 ? `image ${p.image} of ${p.images}, step ${p.step} of ${p.steps}` : `step ${p.step} of ${p.steps}`);
    });
    for (const end of ["succeeded", "failed", "cancelled"]) on(end, (e) => { source.close(); resolve(e); });
  });
}

function show(imageB64, parameters, seed) {
  $("preview").src = "data:image/png;base64," + imageB64;
  $("parameters").textContent = parameters;
  state.last = { image: imageB64, seed };
  $("to-img2img").disabled = false;
  $("upscale").disabled = false;
  const a = document.createElement("a");
  a.href = "data:image/png;base64," + imageB64;
  a.download = `controlhost-${Date.now()}.png`;
  a.innerHTML = `<img src="${a.href}" alt="generated">`;
  $("gallery").prepend(a);
}

async function generate() {
  showError("");
  if (unitsWithoutImage().length && !state.background) return showError("a unit is on without an image: choose one, or turn the unit off");
  let outcome = "done";
  setStatus("generating");
  $("generate").disabled = true;
  try {
    const doc = state.background && state.boxes.length ? { version: 1, place: placeDoc() } : { version: 1, generate: generateDoc() };
    const job = await api("POST", "/controlhost/v1/jobs", doc);
    await follow(job.id);
    const result = await api("GET", `/controlhost/v1/jobs/${job.id}/result?wait=true`);
    // Every image of the batch goes to the gallery, the first last (on top).
    for (let k = result.images.length - 1; k >= 0; k--) show(result.images[k].png, result.images[k].infotext, result.images[k].seed);
    for (const w of result.warnings || []) if (w.includes("interrupted")) outcome = w;
  } catch (e) {
    outcome = null;
    showError(e.message);
  } finally {
    if (outcome) setStatus(outcome);
    $("progress").value = 0;
    $("queue").textContent = "";
    $("generate").disabled = false;
  }
}

async function loadParameters(file) {
  const info = await api("POST", "/sdapi/v1/png-info", { image: await fileToBase64(file) });
  const p = info.parameters;
  if (p.Prompt !== undefined) $("prompt").value = p.Prompt;
  if (p["Negative prompt"] !== undefined) $("negative").value = p["Negative prompt"];
  if (p.Steps) $("steps").value = p.Steps;
  if (p["CFG scale"]) $("cfg").value = p["CFG scale"];
  if (p.Seed) $("seed").value = p.Seed;
  if (p.Sampler) $("sampler").value = p.Sampler;
  if (p.Size) { const [w, h] = p.Size.split("x"); $("width").value = w; $("height").value = h; }
  if (p.Model) $("checkpoint").value = p.Model;
  if (p["Hires upscaler"]) {
    $("hires").checked = true; $("hires-box").open = true; $("hr-upscaler").value = p["Hires upscaler"];
    if (p["Hires upscale"]) $("hr-scale").value = p["Hires upscale"];
    if (p["Hires steps"]) $("hr-steps").value = p["Hires steps"];
  }
  if (p["Denoising strength"]) { $("denoise").value = p["Denoising strength"]; $("denoise-value").textContent = p["Denoising strength"]; }
  setStatus("parameters loaded");
}

async function suggest() {
  if (!state.backgroundImage) return setStatus("load a background first");
  const w = Math.round(state.backgroundImage.width / 3), h = Math.round(state.backgroundImage.height / 3);
  const result = await api("POST", "/controlhost/v1/suggest-boxes", { background: state.background, width: w, height: h, count: 1 });
  const [x, y, bw, bh] = result.boxes[0].box;
  state.boxes.push({ x, y, w: bw, h: bh });
  renderBoxes(); draw();
}

async function sendToImg2img() {
  if (!state.last) return;
  const blob = await (await fetch("data:image/png;base64," + state.last.image)).blob();
  await loadBackground(new File([blob], "result.png", { type: "image/png" }));
  setStatus("the result is the background: paint a mask, or generate for img2img");
}

// A1111's extras tab: the last result upscaled (the built-in upscalers or the user's ONNX ones).
async function upscaleLast() {
  if (!state.last) return;
  showError("");
  const scale = Number($("extras-scale").value), name = $("extras-upscaler").value;
  const result = await api("POST", "/sdapi/v1/extra-single-image", { image: state.last.image, upscaling_resize: scale, upscaler_1: name });
  show(result.image, `upscaled x${scale} with ${name}\n\n${$("parameters").textContent}`, state.last.seed);
  setStatus("upscaled");
}

function insertIntoPrompt(text) {
  const prompt = $("prompt");
  prompt.value = prompt.value.trim() ? `${prompt.value.trim()} ${text}` : text;
}

async function start() {
  const [samplers, plugins, models, options, models2, upscalers, latent, loras, embeddings] = await Promise.all([
    api("GET", "/sdapi/v1/samplers"), api("GET", "/controlhost/v1/plugins"), api("GET", "/sdapi/v1/sd-models"), api("GET", "/sdapi/v1/options"),
    api("GET", "/controlhost/v1/models"), api("GET", "/sdapi/v1/upscalers"), api("GET", "/sdapi/v1/latent-upscale-modes"),
    api("GET", "/sdapi/v1/loras"), api("GET", "/sdapi/v1/embeddings"),
  ]);
  for (const s of samplers) $("sampler").add(new Option(s.name, s.name));
  $("sampler").value = "Euler a";
  for (const m of models.filter((m) => !m.model_name.endsWith("-inpainting"))) $("checkpoint").add(new Option(m.title, m.model_name));
  $("checkpoint").value = options.sd_model_checkpoint.split(" [")[0];
  for (const u of [...latent, ...upscalers]) $("hr-upscaler").add(new Option(u.name, u.name));
  for (const u of upscalers.filter((u) => u.name !== "None")) $("extras-upscaler").add(new Option(u.name, u.name));
  for (const l of loras) $("lora").add(new Option(l.name, l.name));
  for (const name of Object.keys(embeddings.loaded || {})) $("embedding").add(new Option(name, name));
  $("lora").addEventListener("change", (e) => { if (e.target.value) insertIntoPrompt(`<lora:${e.target.value}:1>`); e.target.value = ""; });
  $("embedding").addEventListener("change", (e) => { if (e.target.value) insertIntoPrompt(e.target.value); e.target.value = ""; });
  state.controlNets = models2.controlnets;
  state.checkpoints = models2.checkpoints || [];
  $("checkpoint").addEventListener("change", checkpointChanged);
  state.modules = plugins.modules;
  $("hires").addEventListener("change", () => { if ($("hires").checked) $("hires-box").open = true; });
  $("denoise").addEventListener("input", () => { $("denoise-value").textContent = $("denoise").value; });
  $("reuse-seed").addEventListener("click", () => { if (state.last && state.last.seed !== undefined) $("seed").value = state.last.seed; });
  $("to-img2img").addEventListener("click", () => sendToImg2img().catch((e) => showError(e.message)));
  $("skip").addEventListener("click", () => api("POST", "/sdapi/v1/skip"));
  $("upscale").addEventListener("click", () => upscaleLast().catch((e) => showError(e.message)));
  $("add-unit").addEventListener("click", addUnit);
  $("generate").addEventListener("click", generate);
  $("interrupt").addEventListener("click", () => api("POST", "/sdapi/v1/interrupt"));
  $("background").addEventListener("change", (e) => loadBackground(e.target.files[0]));
  $("png-info").addEventListener("change", (e) => loadParameters(e.target.files[0]));
  $("suggest").addEventListener("click", () => suggest().catch((e) => showError(e.message)));
  $("clear").addEventListener("click", () => { state.mask = null; state.boxes = []; renderBoxes(); draw(); });
  setupCanvas();
  draw();
  setStatus("ready");
}

start().catch((e) => setStatus(e.message));
