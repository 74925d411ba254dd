// Account: balance, ledger (paged), prepaid resource groups, the spec catalogue, and the
// recharge form for admins. Everything from /api/v1/billing; money stays the API's
// decimal strings (never parsed into floats here).
import { ApiError, get, post } from "./api.js";
import { el, flash, fmtDate, showError, t } from "./ui.js";

const PAGE = 50;
let offset = 0;

function showAccount(account) {
  document.getElementById("billing-mode").textContent = account.billing ? t("billing.on") : t("billing.off");
  const rows = [
    [t("billing.balance"), `${account.balance} ${account.currency}`],
    [t("billing.frozen"), account.frozen],
    [t("billing.available"), account.available],
  ];
  document.getElementById("account-balance").replaceChildren(
    ...rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", { dataset: { field: name } }, value)]),
  );
}

function ledgerRow(e) {
  const task = e.task_id ? el("a", { href: `/console/tasks/${e.task_id}` }, `#${e.task_id}`) : "";
  return el("tr", {},
    el("td", {}, fmtDate(e.ts)), el("td", {}, t(`billing.kind.${e.kind}`)),
    el("td", {}, e.amount), el("td", {}, e.frozen), el("td", {}, e.balance_after),
    el("td", {}, task), el("td", {}, e.note));
}

async function loadLedger(more = false) {
  offset = more ? offset + PAGE : 0;
  const page = await get("/api/v1/billing/ledger", { limit: PAGE, offset });
  const body = document.querySelector("#ledger tbody");
  const rows = page.items.map(ledgerRow);
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, t("billing.no_entries")))]));
  document.getElementById("ledger-more").hidden = offset + PAGE >= page.total;
}

function showGroups(groups) {
  const rows = groups.map((g) => el("tr", {},
    el("th", { scope: "row" }, g.name), el("td", {}, g.owner ?? t("billing.shared")),
    el("td", {}, g.spec), el("td", {}, `${g.nodes_in_use} / ${g.nodes}`), el("td", {}, g.queued),
    el("td", {}, fmtDate(g.expires_at)), el("td", {}, g.status)));
  document.querySelector("#groups tbody").replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, t("billing.no_groups")))]));
}

function showSpecs(catalogue) {
  const regionsOf = (name) => catalogue.regions.filter((r) => r.specs.includes(name)).map((r) => r.name).join(", ");
  document.querySelector("#specs tbody").replaceChildren(...catalogue.specs.map((s) => el("tr", {},
    el("th", { scope: "row" }, s.name), el("td", {}, s.cpus), el("td", {}, s.memory_gb),
    el("td", {}, s.gpus ? `${s.gpus} × ${s.gpu_model}` : "-"),
    el("td", {}, `${s.price_per_hour} ${catalogue.currency}`), el("td", {}, regionsOf(s.name) || t("billing.unlisted")))));
}

async function load() {
  try {
    const [account, groups, catalogue] = await Promise.all([
      get("/api/v1/billing/account"), get("/api/v1/billing/resource-groups"), get("/api/v1/billing/specs"),
    ]);
    showAccount(account);
    showGroups(groups);
    showSpecs(catalogue);
    await loadLedger();
  } catch (error) {
    showError(error);
  }
}

document.getElementById("ledger-more").addEventListener("click", () => loadLedger(true).catch(showError));

const recharge = document.getElementById("recharge-form");
recharge?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(recharge));
  const status = document.getElementById("recharge-status");
  try {
    const done = await post("/api/v1/billing/recharge", data);
    status.textContent = t("billing.recharged", { amount: done.entry.amount, user: data.user, balance: done.account.balance });
    recharge.reset();
    await load();
  } catch (error) {
    status.textContent = "";
    if (error instanceof ApiError) flash(error.message);
    else showError(error);
  }
});

load();
