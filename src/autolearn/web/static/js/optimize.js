// The evaluation page's "Optimise and export" section: start an optimisation (the server
// runs it in the background), follow it to its report, compare before and after, publish
// a ready profile, and download the model as ONNX / TorchScript / its model card.

import { get, post } from "./api.js";
import { el, fmtNumber, flash, showError, t } from "./ui.js";

const root = document.getElementById("evaluation");
const taskId = root?.dataset.taskId;
const base = `/api/v1/models/${taskId}`;
const POLL_MS = 1500;

function side(report, key) {
  const s = report[key];
  return s ? [fmtNumber(s.latency_p50_ms, 2), fmtNumber(s.latency_p99_ms, 2), fmtNumber(s.throughput_bs32, 1), fmtNumber(s.size_bytes / 1e6, 2)] : ["", "", "", ""];
}

function publishButton(report) {
  if (report.status !== "ready") return "";
  const name = el("input", { type: "text", "aria-label": t("opt.publish_name"), value: `task${taskId}-${report.profile}`, size: 18 });
  const button = el("button", { type: "button", onclick: async () => {
    try {
      const made = await post("/api/v1/model-versions", { task_id: Number(taskId), name: name.value, profile: report.profile });
      flash(t("opt.published", { ref: made.ref }), "ok");
    } catch (error) { showError(error); }
  } }, t("opt.publish"));
  return el("span", {}, name, " ", button);
}

function rows(reports) {
  const head = el("tr", {}, ...["opt.profile", "opt.status", "opt.engine", "opt.metric", "opt.p50", "opt.p99", "opt.throughput", "opt.size", "opt.publish"].map((k) => el("th", { scope: "col" }, t(k))));
  const body = [];
  for (const r of reports) {
    const gate = r.gate || {};
    const metric = gate.metric ? `${gate.metric} ${fmtNumber(gate.before)} → ${fmtNumber(gate.after)}` : "";
    const before = side(r, "before"), after = side(r, "after");
    body.push(el("tr", {}, el("th", { scope: "row" }, r.profile), el("td", { title: r.message || "" }, r.status),
      el("td", { title: r.engine?.why || "" }, r.engine?.name || ""), el("td", {}, metric),
      ...before.map((b, i) => el("td", {}, b && after[i] ? `${b} → ${after[i]}` : "")), el("td", {}, publishButton(r))));
  }
  return [el("thead", {}, head), el("tbody", {}, ...body)];
}

async function refresh() {
  const table = document.getElementById("opt-table");
  const status = document.getElementById("opt-status");
  try {
    const { optimizations } = await get(`${base}/optimizations`);
    table.replaceChildren(...(optimizations.length ? rows(optimizations) : []));
    const running = optimizations.find((r) => r.status === "running");
    status.textContent = running ? t("opt.running", { profile: running.profile }) : optimizations.length ? "" : t("opt.none");
    if (running) setTimeout(refresh, POLL_MS);
  } catch (error) {
    if (error.code !== "model_not_found") showError(error);
    document.getElementById("optimize-section").hidden = true;
  }
}

async function start(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await post(`${base}/optimizations`, { target: form.get("target"), level: form.get("level"), max_metric_drop: Number(form.get("max_metric_drop")) });
    refresh();
  } catch (error) { showError(error); }
}

if (taskId) {
  for (const fmt of ["onnx", "torchscript", "card"]) document.getElementById(`export-${fmt}`).href = `${base}/export/${fmt}`;
  document.getElementById("optimize-form").addEventListener("submit", start);
  refresh();
}
