// One dataset: its versions (lineage and changes), the chosen version's statistics and
// class-count chart, its validation report, and a paged image grid with boxes drawn.
// renderReport() is also used by the upload form (datasets.js), so this module only
// starts its page when the page is there.
import { get } from "./api.js";
import { el, fmtDate, showError, t } from "./ui.js";
import { classColour, describeLabels, imageFrame } from "./boxes.js";

const PAGE = 24;
const enc = encodeURIComponent;

// ---------------------------------------------------------------- validation report

const SUMMARY_FIELDS = ["status", "format", "scenario", "policy", "num_found", "num_images", "num_skipped", "num_boxes", "num_negatives", "num_classes"];

export function renderReport(report) {
  const box = el("div", { class: "ds-report" });
  if (!report || !Object.keys(report).length) {
    box.append(el("p", { class: "muted" }, t("ds.report_none")));
    return box;
  }
  if (report.labelling) {
    const { draft, edits, message } = report.labelling;
    box.append(el("p", {}, t("ds.report_labelling", { edits, draft: String(draft).slice(0, 8) })));
    if (message) box.append(el("p", {}, el("q", {}, message)));
    return box;
  }
  const dl = el("dl", { class: "ds-stats" });
  for (const key of SUMMARY_FIELDS) {
    if (report[key] === undefined || report[key] === "") continue;
    dl.append(el("dt", {}, t(`ds.r_${key}`)), el("dd", {}, String(report[key])));
  }
  const severities = report.severity_counts ?? {};
  dl.append(el("dt", {}, t("ds.r_findings")),
    el("dd", {}, t("ds.r_severities", { error: severities.error ?? 0, warning: severities.warning ?? 0, info: severities.info ?? 0 })));
  box.append(dl);
  const health = report.health ?? [];
  if (health.length) {
    box.append(el("h3", {}, t("ds.r_health")),
      el("ul", { class: "ds-problems" }, ...health.map((h) =>
        el("li", { class: `sev-${h.severity}` }, el("strong", {}, t(`ds.sev_${h.severity}`)), " ", h.message,
          h.suggestion ? el("div", { class: "muted" }, t("ds.r_suggestion", { text: h.suggestion })) : null))));
  }
  const problems = report.problems ?? [];
  if (problems.length) {
    const shown = problems.slice(0, 50);
    box.append(el("h3", {}, t("ds.r_problems")),
      el("ul", { class: "ds-problems" }, ...shown.map((p) =>
        el("li", { class: `sev-${p.severity}`, dataset: { code: p.code } }, el("strong", {}, p.file || "-"), " — ", p.message,
          p.action ? el("span", { class: "muted" }, ` (${p.action})`) : null))));
    const more = problems.length - shown.length + (report.problems_not_listed ?? 0);
    if (more > 0) box.append(el("p", { class: "muted" }, t("ds.r_more", { count: more })));
  }
  return box;
}

// ---------------------------------------------------------------- versions

function describeChanges(changes) {
  if (!changes || !Object.keys(changes).length) return "-";
  const parts = [];
  const counts = [
    ["images_added", "ds.c_images_added"], ["images_removed", "ds.c_images_removed"],
    ["images_relabelled", "ds.c_images_relabelled"], ["images_moved_split", "ds.c_images_moved"],
    ["boxes_added", "ds.c_boxes_added"], ["boxes_removed", "ds.c_boxes_removed"],
  ];
  for (const [key, text] of counts) if (changes[key]) parts.push(t(text, { count: changes[key] }));
  if (changes.classes_added?.length) parts.push(t("ds.c_classes_added", { list: changes.classes_added.join(", ") }));
  if (changes.classes_removed?.length) parts.push(t("ds.c_classes_removed", { list: changes.classes_removed.join(", ") }));
  return parts.length ? parts.join("; ") : t("ds.c_none");
}

function classTotals(classCounts) {
  const totals = {};
  const bySplit = {};
  for (const [split, counts] of Object.entries(classCounts ?? {})) {
    for (const [name, n] of Object.entries(counts)) {
      totals[name] = (totals[name] ?? 0) + n;
      (bySplit[name] ??= []).push(`${t(`ds.split_${split}`)} ${n}`);
    }
  }
  return { totals, bySplit };
}

function renderChart(figure, version) {
  const { totals, bySplit } = classTotals(version.class_counts);
  const names = version.classes.length ? version.classes : Object.keys(totals);
  const max = Math.max(1, ...names.map((n) => totals[n] ?? 0));
  const splits = Object.keys(version.class_counts ?? {}).length > 1;
  figure.querySelector("figcaption").textContent =
    t(version.scenario === "detection" ? "ds.chart_boxes" : "ds.chart_images", { ref: version.ref });
  figure.querySelector("tbody").replaceChildren(
    ...names.map((name) => {
      const n = totals[name] ?? 0;
      return el("tr", { dataset: { class: name } },
        el("th", { scope: "row" }, name),
        el("td", { class: "num" }, splits ? `${n} (${bySplit[name]?.join(", ") ?? ""})` : n),
        el("td", { class: "bar-cell" }, el("div", { class: "bar", "aria-hidden": "true",
          style: `width: ${((100 * n) / max).toFixed(1)}%; background: ${classColour(version.classes, name)}` })));
    }),
  );
}

function renderStats(dl, version) {
  const rows = [
    ["ds.images", version.num_images],
    version.scenario === "detection" ? ["ds.boxes", version.num_boxes] : null,
    ["ds.classes", version.classes.length],
    ["ds.scenario", t(`ds.scenario_${version.scenario}`)],
    ["ds.split", version.has_fixed_val ? t("ds.split_fixed") : t("ds.split_by_task")],
    ["ds.created", fmtDate(version.created_at)],
    ["ds.hash", version.content_hash.slice(0, 12)],
  ].filter(Boolean);
  dl.replaceChildren(...rows.flatMap(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, String(value))]));
}

// ---------------------------------------------------------------- the page

function start(root) {
  const name = root.dataset.name;
  const select = document.getElementById("version-select");
  const labelLink = document.getElementById("open-labelling");
  const grid = document.getElementById("image-grid");
  const split = document.getElementById("grid-split");
  const cls = document.getElementById("grid-class");
  const prev = document.getElementById("grid-prev");
  const next = document.getElementById("grid-next");
  const state = { dataset: null, version: null, offset: 0, total: 0, canLabel: false };

  async function loadGrid() {
    const v = state.version;
    grid.setAttribute("aria-busy", "true");
    try {
      const page = await get(`/api/v1/datasets/${enc(name)}/versions/${v.number}/images`,
        { limit: PAGE, offset: state.offset, split: split.value, class: cls.value });
      state.total = page.total;
      grid.replaceChildren(...page.items.map((item) =>
        el("li", { class: "tile", dataset: { sha256: item.sha256 } },
          el("figure", {},
            imageFrame(item, page.classes),
            el("figcaption", {}, el("span", { class: "file" }, item.source_path || item.file_name || item.sha256.slice(0, 12)),
              el("span", { class: "labels" }, describeLabels(item)),
              item.split ? el("span", { class: "muted" }, t(`ds.split_${item.split}`)) : null)))));
      const last = Math.min(state.offset + PAGE, page.total);
      document.getElementById("grid-count").textContent = page.total
        ? t("ds.grid_count", { from: state.offset + 1, to: last, total: page.total })
        : t("ds.grid_empty");
      document.getElementById("grid-page").textContent = page.total
        ? t("ds.page_of", { page: Math.floor(state.offset / PAGE) + 1, pages: Math.ceil(page.total / PAGE) }) : "";
      prev.disabled = state.offset === 0;
      next.disabled = last >= page.total;
    } catch (error) {
      showError(error);
    } finally {
      grid.setAttribute("aria-busy", "false");
    }
  }

  function showVersion(v) {
    state.version = v;
    state.offset = 0;
    select.value = String(v.number);
    document.getElementById("dataset-summary").textContent = t("ds.summary", {
      scenario: t(`ds.scenario_${v.scenario}`), versions: state.dataset.versions.length, ref: v.ref,
    }) + (state.dataset.description ? ` — ${state.dataset.description}` : "");
    for (const row of document.querySelectorAll("#version-table tbody tr")) {
      if (row.dataset.number === String(v.number)) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
    renderStats(document.getElementById("version-stats"), v);
    renderChart(document.getElementById("class-chart"), v);
    document.getElementById("version-report").replaceChildren(renderReport(v.report));
    cls.replaceChildren(el("option", { value: "" }, t("ds.class_all")), ...v.classes.map((c) => el("option", { value: c }, c)));
    labelLink.href = `/console/datasets/${enc(name)}/label?version=${v.number}`;
    labelLink.hidden = !state.canLabel;
    labelLink.removeAttribute("aria-disabled");
    loadGrid();
  }

  function versionRow(v, refs) {
    return el("tr", { dataset: { number: v.number } },
      el("th", { scope: "row" }, el("a", { href: `?version=${v.number}`, onclick: (event) => { event.preventDefault(); choose(v.number); } }, v.ref)),
      el("td", {}, fmtDate(v.created_at)),
      el("td", { class: "num" }, v.num_images),
      el("td", { class: "num" }, v.scenario === "detection" ? v.num_boxes : "-"),
      el("td", {}, v.parent_id ? refs[v.parent_id] ?? `#${v.parent_id}` : "-"),
      el("td", {}, describeChanges(v.changes)),
      el("td", {}, v.source || "-"));
  }

  function choose(number) {
    const v = state.dataset.versions.find((x) => x.number === Number(number));
    if (!v) return;
    const url = new URL(location.href);
    url.searchParams.set("version", v.number);
    history.replaceState(null, "", url);
    showVersion(v);
  }

  async function load() {
    if (!name) {
      showError(new Error(t("ds.not_found")));
      return;
    }
    try {
      const [dataset, me] = await Promise.all([get(`/api/v1/datasets/${enc(name)}`), get("/api/v1/account")]);
      state.dataset = dataset;
      state.canLabel = me.role === "admin" || (dataset.owner_id !== null && dataset.owner_id === me.id);
      if (!state.canLabel) document.getElementById("dataset-summary").after(el("p", { class: "muted", id: "label-note" }, t("ds.cannot_label")));
      const refs = Object.fromEntries(dataset.versions.map((x) => [x.id, x.ref]));
      document.querySelector("#version-table tbody").replaceChildren(...[...dataset.versions].reverse().map((v) => versionRow(v, refs)));
      select.replaceChildren(...[...dataset.versions].reverse().map((v) =>
        el("option", { value: v.number }, t("ds.version_option", { ref: v.ref, images: v.num_images, date: fmtDate(v.created_at) }))));
      select.disabled = dataset.versions.length === 0;
      if (!dataset.versions.length) return;
      const wanted = Number(root.dataset.version) || dataset.versions.at(-1).number;
      const chosen = dataset.versions.find((v) => v.number === wanted) ?? dataset.versions.at(-1);
      showVersion(chosen);
    } catch (error) {
      showError(error);
    }
  }

  select.addEventListener("change", () => choose(select.value));
  split.addEventListener("change", () => { state.offset = 0; loadGrid(); });
  cls.addEventListener("change", () => { state.offset = 0; loadGrid(); });
  prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadGrid(); });
  next.addEventListener("click", () => { state.offset += PAGE; loadGrid(); });
  load();
}

const root = document.getElementById("dataset-page");
if (root) start(root);
