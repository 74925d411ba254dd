// Models: GET /api/v1/model-versions, newest first; each row opens the version's page.
import { get } from "./api.js";
import { el, fmtDate, fmtNumber, showError, t } from "./ui.js";

const body = document.querySelector("#model-table tbody");

export function fmtSize(bytes) {
  let value = Number(bytes) || 0;
  for (const unit of ["B", "KiB", "MiB"]) {
    if (value < 1024) return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
    value /= 1024;
  }
  return `${value.toFixed(1)} GiB`;
}

export function fmtMetrics(metrics) {
  return Object.entries(metrics ?? {})
    .filter(([, v]) => typeof v === "number")
    .slice(0, 3)
    .map(([k, v]) => `${k} ${fmtNumber(v)}`)
    .join(", ");
}

function row(version) {
  return el("tr", { "data-ref": version.ref },
    el("th", { scope: "row" }, el("a", { href: `/console/models/${encodeURIComponent(version.ref)}` }, version.ref)),
    el("td", {}, version.status),
    el("td", {}, version.scenario),
    el("td", {}, version.profile),
    el("td", {}, fmtSize(version.size_bytes)),
    el("td", {}, fmtMetrics(version.metrics)),
    el("td", {}, fmtDate(version.created_at)),
  );
}

async function load() {
  const table = document.getElementById("model-table");
  try {
    const page = await get("/api/v1/model-versions", { limit: 200 });
    body.replaceChildren(...page.items.map(row));
    if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, t("models.list.empty"))));
    document.getElementById("model-count").textContent = t("models.list.count", { total: page.total });
  } catch (error) {
    showError(error);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

if (body) load();
