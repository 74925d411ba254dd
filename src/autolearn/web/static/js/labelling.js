// Labelling: opens (or resumes) a draft on a version, shows its images with the draft's
// edits applied, and sends each change as soon as it is made (one request per change,
// in order, through one queue: a box must exist on the server before it is moved).
// Nothing changes in the dataset until the draft is committed as a new version.
import { api, get, post } from "./api.js";
import { el, flash, showError, t } from "./ui.js";
import { BoxEditor, describeLabels, imageFrame } from "./boxes.js";

const PAGE = 30;
const enc = encodeURIComponent;
const root = document.getElementById("labelling-page");
const name = root.dataset.name;
const $ = (id) => document.getElementById(id);
const stage = $("label-stage");
const classSelect = $("label-class-select");
const tiles = $("label-tiles");

const state = {
  draft: null, scenario: null, classes: [], items: [], offset: 0, total: 0,
  current: null, editor: null, queue: Promise.resolve(), edits: 0,
};
// The image's path in the uploaded archive tells apart two files of the same name.
const shown = (item) => item.source_path || item.file_name || item.sha256.slice(0, 12);
const draftPath = () => `/api/v1/datasets/${enc(name)}/drafts/${state.draft.id}`;

// ---------------------------------------------------------------- sending edits

function send(edits) {
  const run = async () => {
    try {
      const draft = await post(`${draftPath()}/edits`, { edits });
      state.edits = draft.edits.length;
      showInfo();
      return true;
    } catch (error) {
      showError(error);
      await loadTiles(state.current?.sha256); // the server's state is the truth
      return false;
    }
  };
  state.queue = state.queue.then(run);
  return state.queue;
}

async function settle() {
  await state.editor?.flush();
  await state.queue;
}

function showInfo() {
  const d = state.draft;
  $("draft-info").textContent = d.committed
    ? t("lab.info_committed", { id: d.id.slice(0, 8), ref: d.committed })
    : t("lab.info", { id: d.id.slice(0, 8), base: d.base, count: state.edits });
  $("commit-draft").disabled = Boolean(d.committed) || state.edits === 0;
  $("discard-draft").disabled = false;
}

// ---------------------------------------------------------------- tiles

function tile(item) {
  return el("li", {},
    el("button", {
      type: "button", class: "tile", "aria-pressed": String(item === state.current),
      dataset: { sha256: item.sha256, labelled: String(Boolean(item.labelled)) },
      onclick: () => choose(item),
    },
    imageFrame(item, state.classes, { tag: "span", alt: "" }),
    el("span", { class: "file" }, shown(item)),
    el("span", { class: "labels" }, describeLabels(item))));
}

function refreshTile(item) {
  item.labelled = item.boxes === null || item.boxes === undefined ? item.label !== null : true;
  const index = state.items.indexOf(item);
  const old = tiles.children[index];
  if (old) old.replaceWith(tile(item));
}

async function loadTiles(keep) {
  try {
    const page = await get(`${draftPath()}/images`, { limit: PAGE, offset: state.offset, labelled: $("tiles-filter").value });
    state.items = page.items;
    state.total = page.total;
    state.scenario = page.scenario;
    setClasses(page.classes);
    tiles.replaceChildren(...page.items.map(tile));
    const last = Math.min(state.offset + PAGE, page.total);
    $("tiles-page").textContent = page.total
      ? t("ds.page_of", { page: Math.floor(state.offset / PAGE) + 1, pages: Math.ceil(page.total / PAGE) }) : t("ds.grid_empty");
    $("tiles-prev").disabled = state.offset === 0;
    $("tiles-next").disabled = last >= page.total;
    for (const node of document.querySelectorAll(page.scenario === "detection" ? ".lab-detect" : ".lab-classify")) node.hidden = false;
    $("stage-help").textContent = t(page.scenario === "detection" ? "lab.help_detect" : "lab.help_classify");
    $("label-class-label").textContent = t(page.scenario === "detection" ? "lab.class_for_boxes" : "lab.class");
    const again = keep && page.items.find((item) => item.sha256 === keep);
    if (again) choose(again, { focus: false });
    else if (keep) clearStage();
  } catch (error) {
    showError(error);
  }
}

function setClasses(classes) {
  const chosen = classSelect.value;
  state.classes = [...classes];
  classSelect.replaceChildren(...classes.map((c, i) => el("option", { value: c }, i < 9 ? `${c} (${i + 1})` : c)));
  if (classes.includes(chosen)) classSelect.value = chosen;
}

// ---------------------------------------------------------------- the editor

function clearStage() {
  state.editor?.destroy();
  state.editor = null;
  state.current = null;
  stage.replaceChildren(el("p", { class: "muted" }, t("lab.pick_image")));
  $("editor-file").textContent = "";
  $("box-list").replaceChildren();
}

function choose(item, { focus = true } = {}) {
  state.editor?.destroy();
  state.editor = null;
  state.current = item;
  for (const button of tiles.querySelectorAll("button.tile")) {
    button.setAttribute("aria-pressed", String(button.dataset.sha256 === item.sha256));
  }
  $("editor-file").textContent = `— ${shown(item)}`;
  if (state.scenario === "detection") {
    state.editor = new BoxEditor(stage, item, state.classes, {
      imageId: "label-image",
      currentClass: () => classSelect.value,
      onAdd: (bbox) => { refreshTile(item); showBoxes(); return send([{ op: "add_box", item: item.sha256, label: classSelect.value, bbox }]); },
      onMove: (index, bbox) => { refreshTile(item); showBoxes(); return send([{ op: "move_box", item: item.sha256, index, bbox }]); },
      onDelete: (index) => { refreshTile(item); showBoxes(); return send([{ op: "delete_box", item: item.sha256, index }]); },
      onSelect: () => showBoxes(),
    });
    showBoxes();
  } else {
    stage.replaceChildren(imageFrame(item, state.classes, { id: "label-image", lazy: false, alt: shown(item) || t("lab.image"), big: true }));
    if (item.label && state.classes.includes(item.label)) classSelect.value = item.label;
  }
  $("label-image").dataset.sha256 = item.sha256;
  $("current-label").textContent = t("lab.now", { file: shown(item), labels: describeLabels(item) });
  if (focus) stage.focus({ preventScroll: true });
}

function showBoxes() {
  const editor = state.editor;
  if (!editor) return;
  $("box-list").replaceChildren(...editor.boxes.map((box, index) =>
    el("li", {}, el("button", {
      type: "button", class: "secondary box-item", "aria-pressed": String(index === editor.selected),
      dataset: { index }, onclick: () => { editor.select(index); stage.focus(); },
    }, t("lab.box_item", { label: box.label, x1: Math.round(box.bbox[0]), y1: Math.round(box.bbox[1]), x2: Math.round(box.bbox[2]), y2: Math.round(box.bbox[3]) })))));
  $("delete-box").disabled = editor.selected < 0;
  $("current-label").textContent = t("lab.now", { file: shown(state.current), labels: describeLabels(state.current) });
}

async function setLabel(label) {
  const item = state.current;
  if (!item || state.scenario === "detection") return false;
  const edit = label === null ? { op: "clear_label", item: item.sha256 } : { op: "set_label", item: item.sha256, label };
  item.label = label;
  refreshTile(item);
  $("current-label").textContent = t("lab.now", { file: shown(item), labels: describeLabels(item) });
  return send([edit]);
}

// ---------------------------------------------------------------- opening the draft

async function openDraft() {
  if (!name) throw new Error(t("ds.not_found"));
  if (root.dataset.draft) return get(`/api/v1/datasets/${enc(name)}/drafts/${root.dataset.draft}`);
  let number = Number(root.dataset.version);
  if (!number) number = (await get(`/api/v1/datasets/${enc(name)}`)).versions.at(-1).number;
  const [mine, me] = await Promise.all([get(`/api/v1/datasets/${enc(name)}/drafts`), get("/api/v1/account")]);
  const open = mine.filter((d) => !d.committed && d.owner_id === me.id && d.base === `${name}:v${number}`).at(-1);
  if (open) {
    flash(t("lab.resumed"), "ok");
    return get(`/api/v1/datasets/${enc(name)}/drafts/${open.id}`);
  }
  return post(`/api/v1/datasets/${enc(name)}/versions/${number}/drafts`);
}

async function start() {
  try {
    state.draft = await openDraft();
  } catch (error) {
    $("draft-info").textContent = t("lab.cannot_open");
    showError(error);
    return;
  }
  state.edits = state.draft.edits.length;
  const url = new URL(location.href);
  url.searchParams.set("draft", state.draft.id);
  url.searchParams.set("version", state.draft.base.split(":v").at(-1));
  history.replaceState(null, "", url);
  root.dataset.draft = state.draft.id;
  showInfo();
  await loadTiles();
}

// ---------------------------------------------------------------- controls

$("save-label").addEventListener("click", () => setLabel(classSelect.value));
$("clear-label").addEventListener("click", () => setLabel(null));
$("add-box").addEventListener("click", () => { state.editor?.addCentred(); stage.focus(); });
$("delete-box").addEventListener("click", () => { state.editor?.deleteSelected(); stage.focus(); });
$("tiles-filter").addEventListener("change", () => { state.offset = 0; loadTiles(); });
$("tiles-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadTiles(); });
$("tiles-next").addEventListener("click", () => { state.offset += PAGE; loadTiles(); });

// Classification from the keyboard: digits 1–9 on the image give it that class and move on.
stage.addEventListener("keydown", async (event) => {
  if (state.scenario === "detection" || !state.current || event.target !== stage) return;
  const n = Number(event.key);
  if (!Number.isInteger(n) || n < 1 || n > Math.min(9, state.classes.length)) return;
  event.preventDefault();
  classSelect.value = state.classes[n - 1];
  const item = state.current;
  await setLabel(classSelect.value);
  const next = state.items[state.items.indexOf(item) + 1];
  if (next) choose(next);
});

$("add-class").addEventListener("click", async () => {
  const input = $("new-class");
  const label = input.value.trim();
  if (!label || !state.draft) return;
  if (await send([{ op: "add_class", label }])) {
    setClasses([...state.classes, label]);
    classSelect.value = label;
    input.value = "";
    flash(t("lab.class_added", { label }), "ok");
  }
});

$("commit-draft").addEventListener("click", async () => {
  const button = $("commit-draft");
  button.disabled = true;
  try {
    await settle();
    const version = await post(`${draftPath()}/commit`, { message: $("commit-message").value.trim() });
    location.assign(`/console/datasets/${enc(name)}?version=${version.number}`);
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
});

$("discard-draft").addEventListener("click", async () => {
  if (!window.confirm(t("lab.discard_confirm"))) return;
  try {
    await state.queue;
    await api("DELETE", draftPath());
    location.assign(`/console/datasets/${enc(name)}?version=${state.draft.base.split(":v").at(-1)}`);
  } catch (error) {
    showError(error);
  }
});

start();
