// Services: GET /api/v1/services, newest first; each row opens the service's page.
import { get } from "./api.js";
import { el, fmtDate, showError, t } from "./ui.js";

const body = document.querySelector("#service-table tbody");

export function describeConfig(config) {
  return config.micro_batching
    ? t("services.config.batching", config)
    : t("services.config.single", config);
}

function row(service) {
  return el("tr", { "data-service-id": service.id },
    el("td", {}, service.id),
    el("th", { scope: "row" }, el("a", { href: `/console/services/${service.id}` }, service.name)),
    el("td", { class: `status-${service.status}` }, service.status),
    el("td", {}, el("a", { href: `/console/models/${encodeURIComponent(service.model.ref)}` }, service.model.ref)),
    el("td", {}, describeConfig(service.config)),
    el("td", {}, fmtDate(service.created_at)),
  );
}

async function load() {
  const table = document.getElementById("service-table");
  try {
    const page = await get("/api/v1/services", { limit: 200 });
    body.replaceChildren(...page.items.map(row));
    if (!page.items.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, t("services.list.empty"))));
    document.getElementById("service-count").textContent = t("services.list.count", { total: page.total });
  } catch (error) {
    showError(error);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

if (body) load();
