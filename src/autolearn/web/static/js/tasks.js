// Task management: GET /api/v1/tasks with the status filter, name search, sort and page.
// The choices live in the address (?name=&status=&sort=&page=) so that Back, a reload or a
// shared link shows the same page of the same list.
import { get } from "./api.js";
import { el, fmtDate, fmtNumber, showError, t } from "./ui.js";

const PAGE = 20;
const $ = (id) => document.getElementById(id);
const search = $("task-search"), statusFilter = $("task-status-filter"), sort = $("task-sort");
const body = document.querySelector("#task-table tbody");
const params = new URLSearchParams(location.search);
let page = Math.max(0, Number(params.get("page")) || 0);
let total = 0;
let timer = null;
let generation = 0;

search.value = params.get("name") ?? "";
statusFilter.value = params.get("status") ?? "";
sort.value = params.get("sort") ?? "-created";
if (!sort.value) sort.value = "-created";

function remember() {
  const next = new URLSearchParams();
  if (search.value.trim()) next.set("name", search.value.trim());
  if (statusFilter.value) next.set("status", statusFilter.value);
  if (sort.value !== "-created") next.set("sort", sort.value);
  if (page) next.set("page", String(page));
  history.replaceState(null, "", `${location.pathname}${next.size ? `?${next}` : ""}`);
}

function row(task) {
  const value = task.metrics?.[task.metric];
  return el("tr", { "data-task-id": task.id },
    el("td", {}, task.id),
    el("th", { scope: "row" }, el("a", { href: `/console/tasks/${task.id}` }, task.name)),
    el("td", { class: `status-${task.status}` }, task.status, task.stop_reason ? el("span", { class: "muted" }, ` (${task.stop_reason})`) : null),
    el("td", {}, task.scenario),
    el("td", { class: `charge-${task.billing_status}` }, task.billing_status),
    el("td", {}, task.dataset),
    el("td", {}, task.epoch === null || task.epoch === undefined ? "-" : `${task.epoch}${task.total_epochs ? ` / ${task.total_epochs}` : ""}`),
    el("td", {}, value === undefined ? "-" : `${task.metric} ${fmtNumber(value)}`),
    el("td", {}, fmtDate(task.created_at)),
    el("td", { class: "row-actions" },
      el("a", { href: `/console/tasks/${task.id}`, "aria-label": t("tasks.list.open_named", { name: task.name }) }, t("tasks.list.open")),
      " ",
      el("a", { href: `/console/tasks/new?copy=${task.id}`, class: "copy-task", "aria-label": t("tasks.list.copy_named", { name: task.name }) }, t("tasks.list.copy")),
    ),
  );
}

async function load() {
  const mine = ++generation;
  remember();
  try {
    const answer = await get("/api/v1/tasks", {
      name: search.value.trim(),
      status: statusFilter.value,
      sort: sort.value,
      limit: PAGE,
      offset: page * PAGE,
    });
    if (mine !== generation) return; // a newer request is on its way
    total = answer.total;
    if (answer.items.length === 0 && page > 0 && total > 0) {
      page = Math.floor((total - 1) / PAGE);
      return load();
    }
    body.replaceChildren(...answer.items.map(row));
    if (answer.items.length === 0) body.append(el("tr", {}, el("td", { colspan: "10", class: "muted" }, t("tasks.list.empty"))));
    const first = total ? page * PAGE + 1 : 0;
    $("task-count").textContent = t("tasks.list.count", { first, last: page * PAGE + answer.items.length, total });
    $("prev-page").disabled = page === 0;
    $("next-page").disabled = (page + 1) * PAGE >= total;
  } catch (error) {
    showError(error);
  }
}

function restart() {
  page = 0;
  load();
}

search.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(restart, 250);
});
statusFilter.addEventListener("change", restart);
sort.addEventListener("change", restart);
$("task-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  restart();
});
$("prev-page").addEventListener("click", () => {
  page = Math.max(0, page - 1);
  load();
});
$("next-page").addEventListener("click", () => {
  page += 1;
  load();
});
load();
