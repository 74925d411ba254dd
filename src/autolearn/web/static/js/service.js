// One online service: its model and config, live health (polled), stop / start / delete,
// and "Try it": an uploaded image is sent as a multipart form to the service's endpoint
// and the answer is drawn: classes with score bars, or boxes over the image (boxes.js).
import { api, ApiError, get } from "./api.js";
import { classColour, imageFrame } from "./boxes.js";
import { describeConfig } from "./services.js";
import { el, flash, fmtNumber, showError, t } from "./ui.js";

const root = document.getElementById("service-page");
const id = Number(root.dataset.serviceId);
const $ = (name) => document.getElementById(name);
const HEALTH_MS = 2000;
const RETRY_MS = 500;
const RETRY_FOR_MS = 60000;
let service = null;
let preview = null;

function render(s) {
  service = s;
  $("service-name").textContent = `${s.name} (#${s.id})`;
  $("service-summary").textContent = `${t("services.one.summary", { status: s.status, model: s.model.ref, format: s.model.format, endpoint: s.endpoint })} · ${describeConfig(s.config)}`;
  $("service-stop").hidden = s.status !== "RUNNING";
  $("service-start").hidden = s.status === "RUNNING";
  document.title = `${t("services.one.title")} ${s.name} · ${t("app.name")}`;
}

async function health() {
  try {
    const h = await get(`/api/v1/services/${id}/health`);
    $("service-health").textContent = t("services.one.health", {
      state: h.state, requests: h.requests, batches: h.batches, mean: fmtNumber(h.mean_batch_size, 2),
      queue: h.queue_depth, errors: h.errors, rejected: h.rejected,
    }) + (h.error ? ` · ${h.error}` : "");
    $("service-health").dataset.state = h.state;
  } catch {
    // the summary already says what is wrong; health is refreshed on the next tick
  }
}

async function load() {
  try {
    render(await get(`/api/v1/services/${id}`));
    await health();
    window.setInterval(health, HEALTH_MS);
  } catch (error) {
    $("service-summary").textContent = "";
    showError(error);
  }
}

async function act(action) {
  try {
    render(await api("POST", `/api/v1/services/${id}/${action}`));
    await health();
  } catch (error) {
    showError(error);
  }
}

$("service-stop").addEventListener("click", () => act("stop"));
$("service-start").addEventListener("click", () => act("start"));
$("service-delete").addEventListener("click", async () => {
  if (!service || !window.confirm(t("services.one.confirm_delete", { name: service.name }))) return;
  try {
    await api("DELETE", `/api/v1/services/${id}`);
    window.location.assign("/console/services");
  } catch (error) {
    showError(error);
  }
});

// A 503 while the model loads is worth waiting for; anything else is said at once.
async function predictWithRetry(file) {
  const started = Date.now();
  for (;;) {
    const body = new FormData();
    body.append("image", file, file.name);
    try {
      return await api("POST", `/api/v1/services/${id}/predict`, { body });
    } catch (error) {
      const loading = error instanceof ApiError && error.code === "not_ready" && /loading/.test(error.message);
      if (!loading || Date.now() - started > RETRY_FOR_MS) throw error;
      flash(t("services.try.waiting"), "info");
      await new Promise((resolve) => window.setTimeout(resolve, RETRY_MS));
    }
  }
}

function classBars(result) {
  const classes = service?.model.classes ?? [];
  return el("table", { id: "result-classes", class: "ds-bars" },
    el("caption", {}, t("services.try.classes_caption")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("services.try.label")),
      el("th", { scope: "col" }, t("services.try.score")),
      el("th", { scope: "col" }, el("span", { class: "sr-only" }, t("services.try.score"))))),
    el("tbody", {}, ...result.predictions.map((p) => el("tr", { "data-label": p.label },
      el("th", { scope: "row" }, p.label),
      el("td", { class: "num" }, fmtNumber(p.score)),
      el("td", { class: "bar-cell" }, el("div", { class: "bar", "aria-hidden": "true",
        style: `width: ${(100 * p.score).toFixed(1)}%; background: ${classColour(classes, p.label)}` })),
    ))),
  );
}

function drawnBoxes(result, url) {
  const boxes = result.detections.map((d) => ({ label: d.label, bbox: d.box }));
  const list = boxes.map((b) => b.label).join(", ");
  const item = { url, width: result.width, height: result.height, boxes };
  return el("figure", { id: "result-boxes" },
    imageFrame(item, service?.model.classes ?? [], { alt: t("services.try.alt", { count: boxes.length, list }), lazy: false, big: true }),
    el("figcaption", {}, boxes.length ? t("services.try.boxes", { count: boxes.length }) : t("services.try.none")),
  );
}

$("predict-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("predict-image").files?.[0];
  if (!file) return;
  const out = $("predict-result");
  $("predict-submit").disabled = true;
  flash("");
  try {
    const result = await predictWithRetry(file);
    flash("");
    if (preview) URL.revokeObjectURL(preview);
    preview = URL.createObjectURL(file);
    const heading = el("p", { id: "result-summary" }, t("services.try.result", { width: result.width, height: result.height, latency: fmtNumber(result.latency_ms, 1) }));
    out.replaceChildren(heading, result.detections ? drawnBoxes(result, preview) : classBars(result));
    await health();
  } catch (error) {
    showError(error);
  } finally {
    $("predict-submit").disabled = false;
  }
});

load();
