// One published model version: its card and metrics, download, delete, and the deploy
// form (POST /api/v1/services, then the new service's page).
import { api, get } from "./api.js";
import { fmtSize } from "./models.js";
import { el, flash, fmtDate, fmtNumber, showError, t } from "./ui.js";

const root = document.getElementById("model-page");
const ref = root.dataset.ref;
const $ = (id) => document.getElementById(id);
let version = null;

function cardRows(v) {
  const card = v.card ?? {};
  const libraries = Object.entries(card.libraries ?? {}).filter(([, x]) => x).map(([k, x]) => `${k} ${x}`).join(", ");
  return [
    ["models.card.task", v.task_id ?? card.task_id ?? "-"],
    ["models.card.dataset", card.dataset?.ref ?? "-"],
    ["models.card.hash", card.dataset?.content_hash ?? "-"],
    ["models.card.classes", (v.classes ?? []).join(", ")],
    ["models.card.input_size", card.input_size ?? v.meta?.input_size ?? "-"],
    ["models.card.libraries", libraries],
    ["models.card.created", fmtDate(v.created_at)],
    ["models.card.description", v.description || "-"],
  ].map(([key, value]) => el("tr", {}, el("th", { scope: "row" }, t(key)), el("td", {}, String(value))));
}

function render(v) {
  version = v;
  $("model-ref").textContent = v.ref;
  $("model-summary").textContent = t("models.one.summary", { scenario: v.scenario, format: v.format, profile: v.profile, size: fmtSize(v.size_bytes), status: v.status });
  document.querySelector("#card-table tbody").replaceChildren(...cardRows(v));
  const metrics = Object.entries(v.metrics ?? {}).filter(([, x]) => typeof x === "number");
  document.querySelector("#metrics-table tbody").replaceChildren(
    ...metrics.map(([k, x]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, fmtNumber(x)))),
  );
  const download = $("model-download");
  download.href = `/api/v1/model-versions/${v.id}/download`;
  download.hidden = v.status !== "ready";
  $("model-delete").hidden = false;
  $("deploy-name").placeholder = `${v.name}-v${v.version}`;
  const used = v.services ?? [];
  $("model-services").replaceChildren(
    ...(used.length
      ? used.map((s) => el("li", {}, el("a", { href: `/console/services/${s.id}` }, `${s.name} (#${s.id}, ${s.status})`)))
      : [el("li", { class: "muted" }, t("models.one.no_services"))]),
  );
  document.title = `${t("models.one.title")} ${v.ref} · ${t("app.name")}`;
}

async function load() {
  try {
    render(await get(`/api/v1/model-versions/${encodeURIComponent(ref)}`));
  } catch (error) {
    $("model-summary").textContent = "";
    showError(error);
  }
}

$("model-delete").addEventListener("click", async () => {
  if (!version || !window.confirm(t("models.one.confirm_delete", { ref: version.ref }))) return;
  try {
    await api("DELETE", `/api/v1/model-versions/${version.id}`);
    flash(t("models.one.deleted", { ref: version.ref }), "info");
    window.location.assign("/console/models");
  } catch (error) {
    showError(error);
  }
});

$("deploy-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!version) return;
  const form = event.target;
  const body = {
    model: String(version.id),
    name: form.name.value.trim() || null,
    max_batch: Number(form.max_batch.value),
    max_wait_ms: Number(form.max_wait_ms.value),
    queue_size: Number(form.queue_size.value),
    micro_batching: form.micro_batching.checked,
  };
  $("deploy-submit").disabled = true;
  try {
    const service = await api("POST", "/api/v1/services", { json: body });
    window.location.assign(`/console/services/${service.id}`);
  } catch (error) {
    showError(error);
    $("deploy-submit").disabled = false;
  }
});

load();
