// Evaluation: one task's report (GET /api/v1/evaluations/{id}) shown as the metrics
// table (the task's metric first), the confusion matrix (classification) or PR curves
// (detection), the per-class table, the training history and the bad cases with their
// images from the task's pinned dataset version (GET /api/v1/tasks/{id} → spec).
import { ApiError, get } from "./api.js";
import { lineChart } from "./plots.js";
import { el, fmtNumber, showError, t } from "./ui.js";

const root = document.getElementById("evaluation");
const taskId = root.dataset.taskId;
const $ = (id) => document.getElementById(id);
const num = (v, digits = 4) => (v === null || v === undefined ? "–" : typeof v === "number" ? fmtNumber(v, digits) : String(v));
const pct = (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "–");

// Column headings of the metrics and per-class tables (keys the report uses).
const LABELS = {
  accuracy: t("eval.col.accuracy"), precision: t("eval.col.precision"), recall: t("eval.col.recall"),
  f1: t("eval.col.f1"), loss: t("eval.col.loss"), support: t("eval.col.support"),
  num_predictions: t("eval.col.num_predictions"), ap: t("eval.col.ap"), ap_50: t("eval.col.ap_50"),
  ap_75: t("eval.col.ap_75"), ar_100: t("eval.col.ar_100"), tp: t("eval.col.tp"), fp: t("eval.col.fp"),
  fn: t("eval.col.fn"), map: t("eval.col.map"), map_50: t("eval.col.map_50"), map_75: t("eval.col.map_75"),
  map_small: t("eval.col.map_small"), map_medium: t("eval.col.map_medium"), map_large: t("eval.col.map_large"),
  mar_1: t("eval.col.mar_1"), mar_10: t("eval.col.mar_10"), mar_100: t("eval.col.mar_100"),
  threshold: t("eval.col.threshold"), train_loss: t("eval.col.train_loss"),
};
const label = (key) => LABELS[key] ?? key;

function metricsTable(evaluation) {
  const metrics = evaluation.report.metrics ?? {};
  const keys = Object.keys(metrics).filter((k) => typeof metrics[k] === "number" || metrics[k] === null);
  keys.sort((a, b) => (b === evaluation.metric) - (a === evaluation.metric));
  $("metrics-table").tBodies[0].replaceChildren(...keys.map((key) => {
    const primary = key === evaluation.metric;
    return el("tr", { class: primary ? "eval-primary" : null },
      el("th", { scope: "row" }, label(key), primary ? el("span", { class: "eval-badge" }, t("eval.task_metric")) : null),
      el("td", {}, num(metrics[key])));
  }));
}

// White or near-black text, whichever contrasts more with the cell's background.
function luminance([r, g, b]) {
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
function heat(fraction) {
  const low = [255, 255, 255], high = [11, 92, 173];
  const rgb = low.map((c, i) => Math.round(c + (high[i] - c) * fraction));
  const l = luminance(rgb);
  const fg = (1.05) / (l + 0.05) > (l + 0.05) / (luminance([28, 30, 33]) + 0.05) ? "#ffffff" : "#1c1e21";
  return `background-color: rgb(${rgb.join(",")}); color: ${fg}`;
}

function confusionMatrix(report) {
  const { classes, confusion_matrix: matrix } = report;
  if (!Array.isArray(matrix)) return;
  $("matrix-section").hidden = false;
  const table = $("confusion-matrix");
  table.replaceChildren(
    el("caption", { class: "sr-only" }, t("eval.confusion_caption")),
    el("thead", {},
      el("tr", {}, el("td", {}), el("th", { scope: "colgroup", colspan: classes.length }, t("eval.predicted"))),
      el("tr", {}, el("th", { scope: "col" }, t("eval.true_class")), classes.map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, matrix.map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      return el("tr", {},
        el("th", { scope: "row" }, classes[i]),
        row.map((count, j) => el("td", {
          class: i === j ? "eval-diag" : null,
          style: heat(total ? count / total : 0),
          title: t("eval.cell", { true: classes[i], predicted: classes[j], count, share: pct(total ? count / total : 0) }),
        }, count)));
    })),
  );
}

function prCurves(report) {
  const curves = report.pr_curves;
  if (!curves) return;
  $("curves-section").hidden = false;
  const ap = Object.fromEntries((report.per_class ?? []).map((r) => [r.class, r.ap_50]));
  const best = report.best_f1_thresholds ?? {};
  const series = Object.entries(curves).filter(([, pts]) => pts.length).map(([name, points]) => ({
    name,
    label: `${name} (${t("eval.col.ap_50")} ${num(ap[name], 3)})`,
    points,
    marks: best[name]?.threshold != null ? [[best[name].recall, best[name].precision]] : [],
  }));
  const box = $("pr-curves");
  if (!series.length) {
    box.replaceChildren(el("p", {}, t("eval.no_curves")));
    return;
  }
  const desc = t("eval.pr_desc", {
    iou: report.match_iou ?? 0.5,
    summary: series.map((s) => `${s.name}: ${num(ap[s.name], 3)}`).join("; "),
  });
  box.replaceChildren(lineChart({
    id: "pr-chart", title: t("eval.pr_title"), desc, xLabel: t("eval.col.recall"), yLabel: t("eval.col.precision"),
    series, xDomain: [0, 1], yDomain: [0, 1],
  }));
}

function perClassTable(report, detection) {
  const rows = report.per_class ?? [];
  const keys = detection
    ? ["support", "num_predictions", "ap", "ap_50", "ap_75", "ar_100", "precision", "recall", "f1", "tp", "fp", "fn"]
    : ["support", "accuracy", "precision", "recall", "f1"];
  const present = keys.filter((k) => rows.some((r) => k in r));
  const thresholds = report.score_thresholds;
  const ints = new Set(["support", "num_predictions", "tp", "fp", "fn"]);
  $("per-class-table").replaceChildren(
    el("caption", { class: "sr-only" }, t("eval.per_class")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("eval.class")),
      present.map((k) => el("th", { scope: "col" }, label(k))),
      thresholds ? el("th", { scope: "col" }, label("threshold")) : null)),
    el("tbody", {}, rows.map((r) => el("tr", {},
      el("th", { scope: "row" }, r.class),
      present.map((k) => el("td", { class: "num" }, ints.has(k) ? num(r[k], 0) : num(r[k]))),
      thresholds ? el("td", { class: "num" }, num(thresholds[r.class], 3)) : null))),
  );
}

function historyCurves(report, evaluation) {
  const history = (report.history ?? []).filter((h) => h && typeof h.epoch === "number");
  if (!history.length) return;
  $("history-section").hidden = false;
  const metricKeys = [evaluation.metric, ...(evaluation.scenario === "detection"
    ? ["map", "map_50", "map_75", "recall"] : ["accuracy", "precision", "recall", "f1"])];
  const wanted = [...new Set(metricKeys)].filter((k) => history.some((h) => typeof h.val?.[k] === "number"));
  const lossSeries = [
    { name: label("train_loss"), points: history.map((h) => [h.epoch, h.train_loss]) },
    { name: t("eval.val_loss"), points: history.map((h) => [h.epoch, h.val?.loss]) },
  ].filter((s) => s.points.some((p) => typeof p[1] === "number" && p[1] > 0));
  const charts = [];
  if (lossSeries.length) {
    charts.push(lineChart({
      id: "history-loss", title: t("eval.loss_title"), desc: t("eval.loss_desc", { epochs: history.length }),
      xLabel: t("eval.epoch"), yLabel: t("eval.col.loss"), series: lossSeries,
    }));
  }
  if (wanted.length) {
    const last = history[history.length - 1];
    charts.push(lineChart({
      id: "history-metrics", title: t("eval.metrics_title"),
      desc: t("eval.metrics_desc", {
        epochs: history.length,
        summary: wanted.map((k) => `${label(k)} ${num(last.val?.[k], 3)}`).join(", "),
      }),
      xLabel: t("eval.epoch"), yLabel: t("eval.value"), yDomain: [0, 1],
      series: wanted.map((k) => ({ name: label(k), points: history.map((h) => [h.epoch, h.val?.[k]]) })),
    }));
  }
  $("history-curves").replaceChildren(...charts);
}

// "name:v3" → the data center's URL of one image of that version.
function imageUrl(datasetRef, sha256) {
  const match = /^(.*):v(\d+)$/.exec(datasetRef ?? "");
  if (!match || !sha256) return null;
  return `/api/v1/datasets/${encodeURIComponent(match[1])}/versions/${match[2]}/images/${sha256}`;
}

const boxText = (b) => `${b.label}${b.score !== undefined ? ` ${num(b.score, 2)}` : ""} [${b.box.map((v) => Math.round(v)).join(", ")}]`;

function overlay(img, missed, falses) {
  const w = img.naturalWidth, h = img.naturalHeight;
  const ns = "http://www.w3.org/2000/svg";
  const svgEl = document.createElementNS(ns, "svg");
  svgEl.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svgEl.setAttribute("preserveAspectRatio", "none");
  svgEl.setAttribute("aria-hidden", "true");  // the boxes are listed in the caption
  svgEl.setAttribute("class", "eval-overlay");
  for (const [boxes, kind] of [[missed, "missed"], [falses, "false"]]) {
    for (const b of boxes) {
      const [x1, y1, x2, y2] = b.box;
      // A white halo under the coloured line keeps the box visible on any image.
      for (const cls of ["box-halo", `box-${kind}`]) {
        const rect = document.createElementNS(ns, "rect");
        for (const [k, v] of Object.entries({ x: x1, y: y1, width: x2 - x1, height: y2 - y1, class: cls })) rect.setAttribute(k, v);
        svgEl.append(rect);
      }
    }
  }
  img.after(svgEl);
}

function badCases(report, task) {
  const list = $("bad-cases");
  const cases = report.bad_cases;
  const help = $("bad-help");
  if (!Array.isArray(cases)) {
    help.textContent = t("eval.bad_none_recorded");
    return;
  }
  const detection = "missed" in (cases[0] ?? {}) || task?.scenario === "detection";
  help.replaceChildren(...[
    cases.length ? (detection ? t("eval.bad_help_detection", { n: cases.length }) : t("eval.bad_help_classification", { n: cases.length })) : t("eval.bad_empty"),
    detection && cases.length ? el("span", { class: "eval-key" },
      el("span", { class: "key-missed", "aria-hidden": "true" }), t("eval.missed"),
      el("span", { class: "key-false", "aria-hidden": "true" }), t("eval.false")) : null,
  ].filter(Boolean));
  const ref = task?.spec?.data?.source?.dataset;
  list.replaceChildren(...cases.map((c, i) => {
    const url = imageUrl(ref, c.sha256);
    const short = (c.sha256 || "").slice(0, 12);
    const alt = detection
      ? t("eval.bad_alt_detection", { n: i + 1, missed: c.missed.length, false: c.false.length })
      : t("eval.bad_alt_classification", { n: i + 1, true: c.true, predicted: c.predicted });
    const img = url ? el("img", { src: url, alt, loading: "lazy", decoding: "async" }) : el("div", { class: "eval-noimg" }, t("eval.no_image"));
    if (url && detection) img.addEventListener("load", () => overlay(img, c.missed, c.false), { once: true });
    const caption = detection
      ? el("figcaption", {},
        el("p", {}, t("eval.errors", { n: c.errors })),
        c.missed.length ? el("p", { class: "missed-text" }, `${t("eval.missed")}: ${c.missed.map(boxText).join("; ")}`) : null,
        c.false.length ? el("p", { class: "false-text" }, `${t("eval.false")}: ${c.false.map(boxText).join("; ")}`) : null)
      : el("figcaption", {},
        el("p", {}, el("span", { class: "muted" }, `${t("eval.true_class")}: `), el("strong", {}, c.true)),
        el("p", {}, el("span", { class: "muted" }, `${t("eval.predicted")}: `), el("strong", { class: "false-text" }, c.predicted), ` (${pct(c.confidence)})`),
        el("p", { class: "muted" }, t("eval.true_score", { score: pct(c.true_score) })));
    return el("li", { dataset: { sha256: c.sha256 } },
      el("figure", {}, el("div", { class: "eval-image" }, img), caption, el("p", { class: "muted eval-sha" }, short)));
  }));
}

async function load() {
  let evaluation, task;
  try {
    [evaluation, task] = await Promise.all([
      get(`/api/v1/evaluations/${taskId}`),
      get(`/api/v1/tasks/${taskId}`).catch(() => null),
    ]);
  } catch (error) {
    $("eval-summary").textContent = error instanceof ApiError && error.status === 404 ? error.message : "";
    if (!(error instanceof ApiError && error.status === 404)) showError(error);
    return;
  }
  const report = evaluation.report ?? {};
  $("eval-task-name").textContent = `#${evaluation.task_id} ${evaluation.name}`;
  document.title = `${t("eval.title")} #${evaluation.task_id} ${evaluation.name} · ${t("app.name")}`;
  $("eval-summary").replaceChildren(
    t("eval.summary", {
      scenario: evaluation.scenario, status: evaluation.status, epoch: report.best_epoch ?? "–",
      reason: report.stop_reason ?? "–", dataset: task?.spec?.data?.source?.dataset ?? "–",
    }),
    " ", el("a", { href: `/console/tasks/${evaluation.task_id}` }, t("eval.to_task")),
  );
  metricsTable(evaluation);
  const detection = evaluation.scenario === "detection" || Boolean(report.pr_curves);
  if (detection) prCurves(report);
  else confusionMatrix(report);
  perClassTable(report, detection);
  historyCurves(report, evaluation);
  badCases(report, task ?? { scenario: evaluation.scenario });
  for (const link of root.querySelectorAll(".eval-toc a")) {
    const target = document.querySelector(link.getAttribute("href"));
    const section = target?.closest("section");
    link.hidden = Boolean(section?.hidden);
  }
}
load();
