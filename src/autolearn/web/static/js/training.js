// Training page: the task's status, progress and curves, live from the Server-Sent Events
// stream (GET /api/v1/tasks/{id}/progress), its logs, and stop/resume. The stream replays
// every event from the start, so the curves show the whole run however late the page opens.
import { get, post } from "./api.js";
import { LineChart } from "./chart.js";
import { el, flash, fmtNumber, fmtSeconds, showError, t } from "./ui.js";

const root = document.getElementById("training");
const taskId = root.dataset.taskId;
const STOPPABLE = new Set(["QUEUED", "STARTING", "RUNNING"]);
const RESUMABLE = new Set(["STOPPED", "FAILED"]);
const TERMINAL = new Set(["STOPPED", "FAILED", "SUCCEED", "SUBMIT_FAILED"]);
const $ = (id) => document.getElementById(id);

const lossChart = new LineChart($("loss-chart"), { title: t("tasks.train.loss_chart"), xLabel: t("tasks.train.step_axis"), yLabel: t("tasks.train.loss_axis"), empty: t("tasks.train.no_points") });
const metricChart = new LineChart($("metric-chart"), { title: t("tasks.train.metric_chart"), xLabel: t("tasks.train.epoch_axis"), yLabel: t("tasks.train.metric_axis"), empty: t("tasks.train.no_points") });

let task = null;
let stream = null;
let lastEventId = 0;
let lastLogId = 0;
let logTimer = null;
let lastRefresh = 0;

function ofTotal(value, total) {
  if (value === null || value === undefined) return "-";
  return total ? t("tasks.train.of_total", { value, total }) : String(value);
}

function render() {
  if (!task) return;
  const status = $("task-status");
  status.textContent = task.status;
  status.className = `status-${task.status}`;
  $("task-name").textContent = task.name;
  $("task-stop-reason").textContent = task.stop_reason ?? "-";
  $("task-message").textContent = task.message ?? "";
  $("task-epoch").textContent = ofTotal(task.epoch, task.total_epochs);
  $("task-step").textContent = ofTotal(task.step, task.total_steps);
  $("task-eta").textContent = TERMINAL.has(task.status) ? "-" : fmtSeconds(task.eta_s);
  const best = task.metrics?.[task.metric];
  $("task-best").textContent = best === undefined ? "-" : `${task.metric} ${fmtNumber(best)}`;
  $("stop-task").disabled = !STOPPABLE.has(task.status);
  $("resume-task").disabled = !RESUMABLE.has(task.status) || task.stop_reason === "deleting";
  $("task-evaluation").hidden = !task.report;
  renderPlan();
  renderNotices();
}

function renderPlan() {
  const rows = Object.entries(task.plan ?? {}).filter(([, v]) => v === null || typeof v !== "object");
  $("task-plan").replaceChildren(...rows.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v === null ? "-" : String(v)))));
}

function renderNotices() {
  const created = JSON.parse(sessionStorage.getItem(`autolearn.created.${taskId}`) || "null");
  const warnings = created?.warnings ?? [];
  const advice = task.advice ?? created?.advice ?? [];
  $("task-warnings").replaceChildren(...warnings.map((w) => el("li", { class: "warning" }, el("strong", {}, t("tasks.train.warning")), " ", w)));
  $("task-advice").replaceChildren(...advice.map((a) => el("li", { class: a.level === "warning" ? "warning" : "info" },
    el("strong", {}, a.level === "warning" ? t("tasks.train.warning") : t("tasks.train.info")), " ", a.message,
    a.applied ? el("span", { class: "muted" }, ` (${t("tasks.train.applied")})`) : null)));
  $("task-notices").hidden = warnings.length + advice.length === 0;
}

async function refresh() {
  lastRefresh = Date.now();
  try {
    task = await get(`/api/v1/tasks/${taskId}`);
    render();
  } catch (error) {
    showError(error);
  }
}

function refreshSoon() {
  if (Date.now() - lastRefresh > 3000) refresh();
}

function onStep(event) {
  lastEventId = Math.max(lastEventId, event.id);
  if (typeof event.data?.loss === "number") lossChart.add(t("tasks.train.train_loss"), event.step, event.data.loss);
  if (task) {
    task.step = event.step ?? task.step;
    task.epoch = event.epoch ?? task.epoch;
    $("task-step").textContent = ofTotal(task.step, task.total_steps);
    $("task-epoch").textContent = ofTotal(task.epoch, task.total_epochs);
  }
  refreshSoon();
}

function onEpoch(event) {
  lastEventId = Math.max(lastEventId, event.id);
  const val = event.data?.val ?? {};
  if (typeof val.loss === "number") lossChart.add(t("tasks.train.val_loss"), event.step ?? 0, val.loss);
  for (const [name, value] of Object.entries(val)) {
    if (name !== "loss" && typeof value === "number") metricChart.add(name, event.epoch, value);
  }
  refreshSoon();
}

function connect() {
  stream?.close();
  stream = new EventSource(`/api/v1/tasks/${taskId}/progress${lastEventId ? `?after_id=${lastEventId}` : ""}`);
  const handle = (fn) => (message) => fn(JSON.parse(message.data));
  stream.addEventListener("step", handle(onStep));
  stream.addEventListener("epoch", handle(onEpoch));
  stream.addEventListener("status", handle((event) => {
    lastEventId = Math.max(lastEventId, event.id);
    if (task) {
      task.status = event.data?.status ?? task.status;
      task.stop_reason = event.data?.stop_reason ?? task.stop_reason;
      render();
    }
    refresh();
  }));
  stream.addEventListener("resume", handle((event) => { lastEventId = Math.max(lastEventId, event.id); }));
  stream.addEventListener("end", () => {
    stream.close();
    stream = null;
    refresh();
    pollLogs(false);
  });
  stream.addEventListener("error", () => {
    if (stream?.readyState === EventSource.CLOSED) flash(t("tasks.train.stream_lost"));
  });
}

async function pollLogs(again = true) {
  clearTimeout(logTimer);
  try {
    const lines = await get(`/api/v1/tasks/${taskId}/logs`, { after_id: lastLogId });
    if (lines.length) {
      const box = $("task-logs");
      const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
      box.append(lines.map((l) => `${l.ts} ${l.level} ${l.message}\n`).join(""));
      lastLogId = lines.at(-1).id;
      if (atEnd) box.scrollTop = box.scrollHeight;
    }
  } catch (error) {
    showError(error);
  }
  if (again && !(task && TERMINAL.has(task.status) && !stream)) logTimer = setTimeout(pollLogs, 2000);
}

async function act(action) {
  const button = $(`${action}-task`);
  button.disabled = true;
  try {
    task = { ...task, ...(await post(`/api/v1/tasks/${taskId}/${action}`)) };
    flash(action === "stop" ? t("tasks.train.stopping") : t("tasks.train.resumed"), "ok");
    await refresh();
    if (action === "resume") {
      connect();
      pollLogs();
    }
  } catch (error) {
    showError(error);
    await refresh();
  }
}

$("stop-task").addEventListener("click", () => act("stop"));
$("resume-task").addEventListener("click", () => act("resume"));

if (new URLSearchParams(location.search).has("created")) flash(t("tasks.train.created"), "ok");
await refresh();
if (task) {
  connect();
  pollLogs();
}
