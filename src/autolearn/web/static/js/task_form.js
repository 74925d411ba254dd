// New task: the form is generated from the TaskSpec JSON schema, so it can never ask for a
// field the API does not have or miss one it has. Nothing here names a field: widgets come
// from each field's type/enum/range, labels from its title (or a translated string
// `tasks.field.<path>` when there is one), help from its description, values from its
// default. What the schema cannot say (which list offers the choices of a field) comes
// from the page's `pickers` table (task_pages.py), keyed by field path.
//
// Contract for browser tests: every input has id `f-<path with "." → "-">`, a
// `data-field-path` with the dotted path, and a <label for>; a union's choice is radios at
// `<union path>.<tag>`; the form gets data-ready="true" once built; submit is #create-task.
import { ApiError, get, post } from "./api.js";
import { el, flash, fmtSeconds, showError, t } from "./ui.js";

const form = document.getElementById("task-form");
const fieldsBox = document.getElementById("task-form-fields");
const statusLine = document.getElementById("task-form-status");
const submit = document.getElementById("create-task");
const config = JSON.parse(form.dataset.config || "{}");
let defs = {};
const unions = new Map(); // union path → {tag, values}

export const idOf = (path) => `f-${path.replaceAll(".", "-")}`;

function resolve(node) {
  if (!node?.$ref) return node ?? {};
  const { $ref, ...rest } = node;
  return { ...defs[$ref.split("/").pop()], ...rest };
}

// The inputs the form renders, as dotted paths (mirrored by task_pages.form_field_paths).
export function fieldPaths(schema) {
  defs = schema.$defs ?? {};
  const walk = (raw, path) => {
    const node = resolve(raw);
    if (node.oneOf && node.discriminator) {
      const tag = node.discriminator.propertyName;
      const out = [`${path}.${tag}`];
      for (const variant of node.oneOf) {
        for (const [key, sub] of Object.entries(resolve(variant).properties ?? {})) {
          if (key !== tag) out.push(...walk(sub, `${path}.${key}`));
        }
      }
      return [...new Set(out)];
    }
    if (node.type === "object" && node.properties) {
      return Object.entries(node.properties).flatMap(([key, sub]) => walk(sub, path ? `${path}.${key}` : key));
    }
    return [path];
  };
  return walk(schema, "");
}

function humanize(name) {
  const words = String(name).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replaceAll("_", " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function translated(key) {
  const text = t(key);
  return text === key ? null : text;
}

function labelOf(path, node, key) {
  return translated(`tasks.field.${path}`) ?? humanize(node.title ?? key);
}

function helpOf(path, node) {
  return translated(`tasks.help.${path}`) ?? node.description ?? "";
}

// What kind of input a leaf needs: its base type, whether it may be null, and the constant
// values (like "auto") it also accepts.
function leafKind(node) {
  const members = (node.anyOf ?? [node]).map(resolve);
  const nullable = members.some((m) => m.type === "null");
  const consts = members.filter((m) => "const" in m && m.type !== "null").map((m) => m.const);
  const base = members.find((m) => m.type !== "null" && !("const" in m)) ?? members.find((m) => "const" in m) ?? {};
  let kind = "string";
  if (base.enum) kind = "enum";
  else if (base.type === "boolean") kind = "bool";
  else if (base.type === "integer") kind = "int";
  else if (base.type === "number") kind = "number";
  return { kind, nullable, consts, base };
}

function rangeText(base) {
  const parts = [];
  if (base.minimum !== undefined) parts.push(`≥ ${base.minimum}`);
  if (base.exclusiveMinimum !== undefined) parts.push(`> ${base.exclusiveMinimum}`);
  if (base.maximum !== undefined) parts.push(`≤ ${base.maximum}`);
  if (base.exclusiveMaximum !== undefined) parts.push(`< ${base.exclusiveMaximum}`);
  return parts.join(", ");
}

function helpBlock(path, node, extra = "") {
  const text = [helpOf(path, node), extra].filter(Boolean).join(" ");
  return text ? el("small", { class: "help", id: `h-${idOf(path)}` }, text) : null;
}

function addOption(select, value, label) {
  const key = value === null || value === undefined ? "" : String(value);
  if ([...select.options].some((o) => o.value === key)) return;
  select.append(el("option", { value: key }, label ?? key));
}

function buildLeaf(raw, path, key) {
  const node = resolve(raw);
  const { kind, nullable, consts, base } = leafKind(node);
  const picker = config.pickers?.[path];
  const id = idOf(path);
  const common = {
    id,
    name: path,
    "data-field-path": path,
    "data-kind": kind,
    "data-nullable": nullable ? "1" : "0",
    "data-consts": JSON.stringify(consts),
  };
  const label = labelOf(path, node, key);
  let input, extra = "";
  const datalist = [];
  if (kind === "bool") {
    input = el("input", { ...common, type: "checkbox" });
  } else if (kind === "enum" || picker?.mode === "select") {
    input = el("select", { ...common, "data-source": picker?.source });
    if (nullable) addOption(input, "", t("tasks.form.none"));
    for (const value of base.enum ?? []) addOption(input, value);
    for (const value of consts) addOption(input, value);
  } else if ((kind === "int" || kind === "number") && consts.length === 0) {
    input = el("input", {
      ...common,
      type: "number",
      step: kind === "int" ? "1" : "any",
      min: base.minimum ?? base.exclusiveMinimum,
      max: base.maximum ?? base.exclusiveMaximum,
    });
    extra = rangeText(base);
    if (nullable) extra = [extra, t("tasks.form.empty_is_none")].filter(Boolean).join("; ");
  } else if (kind === "string" && (base.maxLength ?? 0) > 1000) {
    input = el("textarea", { ...common, rows: "3", maxlength: base.maxLength });
  } else {
    // Text: plain strings, and numbers that also accept constants such as "auto".
    const listId = `${id}-choices`;
    const numeric = kind === "int" || kind === "number";
    input = el("input", {
      ...common,
      type: "text",
      inputmode: numeric ? "decimal" : undefined,
      maxlength: base.maxLength,
      list: consts.length || picker ? listId : undefined,
      autocomplete: "off",
    });
    if (consts.length || picker) {
      datalist.push(el("datalist", { id: listId, "data-source": picker?.source }, ...consts.map((c) => el("option", { value: c }))));
    }
    if (numeric) extra = rangeText(base);
    if (nullable) extra = [extra, t("tasks.form.empty_is_none")].filter(Boolean).join("; ");
  }
  const help = helpBlock(path, node, extra);
  if (help) input.setAttribute("aria-describedby", help.id);
  if (node.default !== undefined) setValue(input, node.default);
  const labelNode = el("label", { for: id }, label);
  const wrap = el("div", { class: `field field-${kind}`, "data-field": path },
    kind === "bool" ? el("div", { class: "check" }, input, labelNode) : [labelNode, input],
    datalist, help);
  return wrap;
}

function buildUnion(node, path, key, depth) {
  const tag = node.discriminator.propertyName;
  const variants = node.oneOf.map(resolve);
  const values = variants.map((v) => v.properties[tag].const ?? v.properties[tag].default);
  unions.set(path, { tag, values });
  const tagPath = `${path}.${tag}`;
  const chosen = node.default?.[tag] ?? values[0];
  const legend = el("legend", {}, labelOf(path, node, key));
  const help = helpBlock(path, node);
  const radios = el("div", { class: "choices", role: "radiogroup", "aria-labelledby": `${idOf(path)}-legend` });
  legend.id = `${idOf(path)}-legend`;
  const panels = [];
  variants.forEach((variant, i) => {
    const value = values[i];
    const radioId = `${idOf(tagPath)}-${value}`;
    radios.append(el("div", { class: "check" },
      el("input", { type: "radio", id: radioId, name: tagPath, value, "data-field-path": tagPath, "data-kind": "string", "data-nullable": "0", "data-consts": "[]", checked: value === chosen, onchange: () => showVariant(path) }),
      el("label", { for: radioId }, translated(`tasks.variant.${path}.${value}`) ?? humanize(variant.title ?? value)),
      variant.description ? el("small", { class: "help" }, variant.description) : null,
    ));
    const fields = Object.entries(variant.properties).filter(([k]) => k !== tag)
      .map(([k, sub]) => build(sub, `${path}.${k}`, k, depth + 1));
    panels.push(el("div", { class: "variant", "data-variant": value }, fields));
  });
  const box = el("fieldset", { class: "group union", "data-field-path": path }, legend, help, radios, panels);
  return box;
}

function showVariant(path) {
  const { tag } = unions.get(path);
  const chosen = form.querySelector(`input[type=radio][data-field-path="${path}.${tag}"]:checked`)?.value;
  const box = form.querySelector(`fieldset[data-field-path="${path}"]`);
  for (const panel of box.querySelectorAll(":scope > .variant")) {
    const on = panel.dataset.variant === chosen;
    panel.hidden = !on;
    for (const input of panel.querySelectorAll("input, select, textarea")) input.disabled = !on;
  }
}

function build(raw, path, key, depth) {
  const node = resolve(raw);
  if (node.oneOf && node.discriminator) return buildUnion(node, path, key, depth);
  if (node.type === "object" && node.properties) {
    const children = Object.entries(node.properties).map(([k, sub]) => build(sub, path ? `${path}.${k}` : k, k, depth + 1));
    if (!path) return children;
    const legendText = labelOf(path, node, key);
    const help = helpBlock(path, node);
    return el("fieldset", { class: depth === 1 ? "section" : "group", "data-field-path": path, "aria-describedby": help?.id },
      el("legend", {}, legendText), help, children);
  }
  return buildLeaf(raw, path, key);
}

function setValue(input, value) {
  if (input.type === "checkbox") input.checked = Boolean(value);
  else if (input.type === "radio") input.checked = input.value === value;
  else {
    const text = value === null || value === undefined ? "" : String(value);
    if (input.tagName === "SELECT") addOption(input, text, text || t("tasks.form.none"));
    input.value = text;
  }
}

function readValue(input) {
  const { kind } = input.dataset;
  const nullable = input.dataset.nullable === "1";
  const consts = JSON.parse(input.dataset.consts || "[]");
  if (kind === "bool") return input.checked;
  const raw = input.value.trim();
  if (raw === "" && nullable) return null;
  if (consts.includes(raw)) return raw;
  if (kind === "int" || kind === "number") {
    if (raw === "") return undefined; // missing: the API names the field
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return input.value;
}

const inputs = () => [...form.querySelectorAll("input[data-field-path], select[data-field-path], textarea[data-field-path]")];

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] ??= {};
  node[keys.at(-1)] = value;
}

const getPath = (source, path) => path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), source);

export function collect() {
  const spec = {};
  for (const input of inputs()) {
    if (input.disabled || (input.type === "radio" && !input.checked)) continue;
    const value = readValue(input);
    if (value !== undefined) setPath(spec, input.dataset.fieldPath, value);
  }
  return spec;
}

function fill(spec) {
  for (const input of inputs()) {
    const value = getPath(spec, input.dataset.fieldPath);
    if (value !== undefined) setValue(input, value);
  }
  for (const path of unions.keys()) showVariant(path);
}

// ---- errors from the API, next to their inputs ----

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) node.remove();
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    const ids = (node.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.startsWith("e-"));
    if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
    else node.removeAttribute("aria-describedby");
  }
  flash("");
}

// The element for an error path: the input itself, else with a union's tag segment taken
// out (pydantic puts the variant's tag in the location), else the nearest fieldset.
function targetFor(field) {
  const find = (path) => form.querySelector(`[data-field-path="${CSS.escape(path)}"]:not([type=radio]), fieldset[data-field-path="${CSS.escape(path)}"]`);
  const parts = field.split(".");
  const candidates = [field];
  for (const [path, { values }] of unions) {
    const depth = path.split(".").length;
    if (parts.slice(0, depth).join(".") === path && values.includes(parts[depth])) {
      candidates.push([...parts.slice(0, depth), ...parts.slice(depth + 1)].join("."));
    }
  }
  for (const path of candidates) {
    const found = find(path);
    if (found && !found.disabled) return found;
  }
  for (let n = parts.length - 1; n > 0; n--) {
    const found = find(parts.slice(0, n).join("."));
    if (found) return found;
  }
  return null;
}

function showFieldErrors(fields) {
  const unplaced = [];
  let first = null;
  for (const { field, message } of fields) {
    const target = targetFor(field);
    if (!target) {
      unplaced.push(`${field}: ${message}`);
      continue;
    }
    const errorId = `e-${idOf(field)}`;
    const note = el("p", { class: "field-error", id: errorId }, message);
    if (target.tagName === "FIELDSET") target.querySelector(":scope > legend").after(note);
    else target.closest(".field").append(note);
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby", [target.getAttribute("aria-describedby"), errorId].filter(Boolean).join(" "));
    first ??= target;
  }
  flash([t("tasks.form.fix_fields"), ...unplaced].join(" "));
  (first?.tagName === "FIELDSET" ? first.querySelector("input, select, textarea") : first)?.focus();
}

// ---- choices from the API and the registries ----

const SOURCES = {
  async datasets() {
    const rows = await get("/api/v1/datasets");
    return rows.filter((d) => d.latest).map((d) => ({
      value: d.name,
      label: t("tasks.form.dataset_option", { name: d.name, latest: d.latest, images: d.num_images, scenario: d.scenario ?? "" }),
    }));
  },
  async tasks() {
    const page = await get("/api/v1/tasks", { status: "SUCCEED,STOPPED", limit: 500 });
    return page.items.map((task) => ({ value: String(task.id), label: `#${task.id} ${task.name} (${task.status}, ${task.scenario})` }));
  },
  async regions() {
    const rows = await get("/api/v1/regions");
    return rows.map((r) => ({ value: r.name, label: t("tasks.form.region_option", { name: r.name, free: r.free_slots, slots: r.slots }) }));
  },
  samples: async () => config.options?.samples ?? [],
  models: async () => config.options?.models ?? [],
};

async function loadChoices() {
  const targets = [...form.querySelectorAll("select[data-source], datalist[data-source]")];
  await Promise.all(targets.map(async (node) => {
    try {
      const options = await SOURCES[node.dataset.source]();
      if (node.tagName === "SELECT") {
        const current = node.value;
        for (const { value, label } of options) addOption(node, value, label);
        if (options.length === 0 && node.dataset.nullable !== "1") addOption(node, "", t("tasks.form.no_choices"));
        node.value = current || (node.dataset.nullable === "1" ? "" : options[0]?.value ?? "");
      } else {
        for (const { value, label } of options) {
          if (![...node.options].some((o) => o.value === value)) node.append(el("option", { value }, label));
        }
      }
    } catch (error) {
      showError(error);
    }
  }));
}

async function start() {
  try {
    const schema = await get(config.schema_url);
    defs = schema.$defs ?? {};
    fieldsBox.replaceChildren(...build(schema, "", "", 0));
    for (const path of unions.keys()) showVariant(path);
    for (const [path, value] of Object.entries(config.prefill ?? {})) {
      const input = form.querySelector(`[data-field-path="${CSS.escape(path)}"]`);
      if (input) setValue(input, value);
    }
    if (config.copy) {
      const task = await get(`/api/v1/tasks/${config.copy}`);
      fill(task.spec ?? {});
      const name = form.querySelector(`[data-field-path="${CSS.escape(config.name_field)}"]`);
      statusLine.textContent = t("tasks.new.copying", { id: task.id, name: task.name });
      if (name) name.value = `${task.name}-copy`.slice(0, Number(name.getAttribute("maxlength")) || 64);
    }
    await loadChoices();
    if (!config.copy) statusLine.textContent = t("tasks.new.ready");
    submit.disabled = false;
    form.dataset.ready = "true";
  } catch (error) {
    statusLine.textContent = "";
    showError(error);
  }
}

// Two steps, as the seed's "Next": the form is checked and planned by the API
// (POST /api/v1/tasks/preview: 422s land next to their fields), the advice and the
// resolved settings are shown, and only "Launch" queues the task.
const review = document.getElementById("task-review");
const launch = document.getElementById("launch-task");
let reviewed = null;

// Every scalar of the resolved plan, as the API gives it (no names written here).
function planRows(preview) {
  const rows = [[t("tasks.review.dataset"), preview.dataset]];
  for (const [key, value] of Object.entries(preview.plan ?? {})) {
    if (value !== null && typeof value !== "object") rows.push([key, value]);
  }
  return rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, String(value))]);
}

// Cost and ETA (POST /api/v1/tasks/preview's "estimate"): money as the API's strings.
function estimateRows(estimate) {
  if (!estimate) return [];
  const money = (value) => `${value} ${estimate.currency}`;
  const rows = [
    [t("tasks.review.eta"), fmtSeconds(estimate.eta_s)],
    [t("tasks.review.price"), `${money(estimate.price_per_hour)} (${estimate.spec} × ${estimate.count})`],
    [t("tasks.review.cost"), money(estimate.cost)],
    [t("tasks.review.max_cost"), money(estimate.max_cost)],
    [t("tasks.review.throughput"), `${estimate.images_per_s ?? "-"} (${estimate.throughput})`],
  ];
  if (estimate.billing) rows.push([t("tasks.review.freeze"), money(estimate.freeze)]);
  return rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", { dataset: { estimate: name } }, value)]);
}

function showReview(preview, warnings) {
  const items = [...warnings, ...(preview.advice ?? []).map((a) => `${a.level}: ${a.message}`)];
  document.getElementById("review-advice").replaceChildren(
    ...(items.length ? items.map((text) => el("li", {}, text)) : [el("li", {}, t("tasks.review.no_advice"))]),
  );
  document.getElementById("review-plan").replaceChildren(...planRows(preview));
  document.getElementById("review-estimate").replaceChildren(...estimateRows(preview.estimate));
  review.hidden = false;
  review.focus();
}

form.addEventListener("input", () => {
  reviewed = null; // a change after the review needs a new one
  review.hidden = true;
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  submit.disabled = true;
  statusLine.textContent = t("tasks.new.reviewing");
  try {
    const body = collect();
    const preview = await post("/api/v1/tasks/preview", body);
    reviewed = body;
    statusLine.textContent = "";
    showReview(preview, preview.warnings ?? []);
  } catch (error) {
    statusLine.textContent = "";
    if (error instanceof ApiError && error.fields.length) showFieldErrors(error.fields);
    else showError(error);
  } finally {
    submit.disabled = false;
  }
});

document.getElementById("edit-task").addEventListener("click", () => {
  review.hidden = true;
  submit.focus();
});

launch.addEventListener("click", async () => {
  if (!reviewed) return;
  launch.disabled = true;
  statusLine.textContent = t("tasks.new.creating");
  try {
    const task = await post("/api/v1/tasks", reviewed);
    sessionStorage.setItem(`autolearn.created.${task.id}`, JSON.stringify({ advice: task.advice ?? [], warnings: task.warnings ?? [] }));
    window.location.assign(`/console/tasks/${task.id}?created=1`);
  } catch (error) {
    statusLine.textContent = "";
    launch.disabled = false;
    review.hidden = true;
    if (error instanceof ApiError && error.fields.length) showFieldErrors(error.fields);
    else showError(error);
  }
});

start();
