// Images with their boxes: an <img> with an SVG laid over it whose viewBox is the image's
// own pixel size, so a box's [x1, y1, x2, y2] (pixels, as the API gives them) is drawn
// as it is, at any displayed size. imageFrame() draws (thumbnails, the grid);
// BoxEditor adds drawing (drag on empty space), moving (drag a box) and deleting, each
// with a keyboard alternative, and reports finished changes through callbacks so the
// page decides what to send to the API.
import { el, t } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// Dark enough on white labels and bright enough to see on photos; cycled per class.
const PALETTE = ["#d7263d", "#1b65c4", "#118a3e", "#b35900", "#7b2cbf", "#00798c", "#c2185b", "#5d4037"];

export function classColour(classes, label) {
  const index = Math.max(0, (classes ?? []).indexOf(label));
  return PALETTE[index % PALETTE.length];
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// A one-line account of an image's labels, for captions and alt text.
export function describeLabels(item) {
  if (item.boxes === null || item.boxes === undefined) {
    return item.label ? t("boxes.label", { label: item.label }) : t("boxes.unlabelled");
  }
  if (!item.boxes.length) return t("boxes.none");
  const counts = {};
  for (const box of item.boxes) counts[box.label] = (counts[box.label] ?? 0) + 1;
  const parts = Object.entries(counts).map(([label, n]) => `${label} × ${n}`);
  return t("boxes.some", { count: item.boxes.length, list: parts.join(", ") });
}

function drawInto(layer, item, classes, selected = -1) {
  const stroke = Math.max(1, Math.max(item.width, item.height) / 150);
  const font = Math.max(6, Math.max(item.width, item.height) / 22);
  layer.replaceChildren(
    ...(item.boxes ?? []).map((box, index) => {
      const [x1, y1, x2, y2] = box.bbox;
      const colour = classColour(classes, box.label);
      const group = svg("g", { class: index === selected ? "box selected" : "box", "data-index": index });
      group.append(
        svg("rect", {
          x: x1, y: y1, width: Math.max(0, x2 - x1), height: Math.max(0, y2 - y1),
          fill: index === selected ? "rgba(255,255,255,0.18)" : "transparent",
          stroke: colour, "stroke-width": index === selected ? stroke * 2 : stroke,
          "stroke-dasharray": index === selected ? `${stroke * 4} ${stroke * 2}` : null,
        }),
      );
      const label = svg("text", { x: x1 + stroke, y: Math.max(font, y1 - stroke), "font-size": font, fill: "#fff", stroke: colour, "stroke-width": font / 6, "paint-order": "stroke" });
      label.textContent = box.label;
      group.append(label);
      return group;
    }),
  );
}

// <div class="frame"> with the image and its boxes; `alt` describes it for screen readers.
// `tag: "span"` for a frame inside a button (phrasing content only).
// `big`: the editor's frame, at most twice the image's own width (a tiny image is not
// blown up to a blur), and never under 360 px (room to draw on).
export function imageFrame(item, classes, { alt, lazy = true, id, tag = "div", big = false } = {}) {
  const size = big ? `; max-width: ${Math.max(360, 2 * item.width)}px` : "";
  const frame = el(tag, { class: "ds-frame", style: `aspect-ratio: ${item.width} / ${item.height}${size}` });
  frame.append(el("img", { src: item.url, alt: alt ?? `${item.source_path || item.file_name}: ${describeLabels(item)}`, loading: lazy ? "lazy" : null, id, width: item.width, height: item.height, draggable: "false" }));
  if (item.boxes && item.boxes.length) {
    const layer = svg("svg", { viewBox: `0 0 ${item.width} ${item.height}`, preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    drawInto(layer, item, classes);
    frame.append(layer);
  }
  return frame;
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

// Edits one detection image's boxes in place. Callbacks (each may return a promise):
// onAdd(bbox), onMove(index, bbox), onDelete(index), onSelect(index).
export class BoxEditor {
  constructor(stage, item, classes, { imageId, currentClass, onAdd, onMove, onDelete, onSelect }) {
    this.stage = stage;
    this.item = item;
    this.classes = classes;
    this.currentClass = currentClass;
    this.callbacks = { onAdd, onMove, onDelete, onSelect };
    this.selected = -1;
    this.pending = null; // index moved by the keyboard, not yet reported
    this.timer = null;
    this.frame = imageFrame({ ...item, boxes: [] }, classes, { lazy: false, id: imageId, alt: item.source_path || item.file_name, big: true });
    this.frame.classList.add("editable");
    this.layer = svg("svg", { viewBox: `0 0 ${item.width} ${item.height}`, preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" });
    this.frame.append(this.layer);
    stage.replaceChildren(this.frame);
    this.layer.addEventListener("pointerdown", (event) => this.#down(event));
    this.layer.addEventListener("pointermove", (event) => this.#drag(event));
    this.layer.addEventListener("pointerup", (event) => this.#up(event));
    this.layer.addEventListener("pointercancel", () => { this.gesture = null; this.redraw(); });
    this.keyHandler = (event) => this.#key(event);
    stage.addEventListener("keydown", this.keyHandler);
    this.redraw();
  }

  destroy() {
    this.flush();
    this.stage.removeEventListener("keydown", this.keyHandler);
  }

  get boxes() {
    return this.item.boxes ?? (this.item.boxes = []);
  }

  redraw() {
    const boxes = this.gesture?.preview ? [...this.boxes, { label: this.currentClass(), bbox: this.gesture.preview }] : this.boxes;
    drawInto(this.layer, { ...this.item, boxes }, this.classes, this.selected);
  }

  select(index) {
    if (index !== this.selected) this.flush();
    this.selected = index >= 0 && index < this.boxes.length ? index : -1;
    this.redraw();
    this.callbacks.onSelect?.(this.selected);
  }

  // Report a keyboard move now (before another box is chosen, or the image changes).
  flush() {
    clearTimeout(this.timer);
    if (this.pending !== null && this.pending < this.boxes.length) {
      const index = this.pending;
      this.pending = null;
      return this.callbacks.onMove?.(index, [...this.boxes[index].bbox]);
    }
    this.pending = null;
    return undefined;
  }

  // A new box in the middle, a third of the image: the keyboard's way to draw.
  addCentred() {
    const { width: w, height: h } = this.item;
    this.#add([w / 3, h / 3, (2 * w) / 3, (2 * h) / 3].map((v) => Math.round(v)));
  }

  deleteSelected() {
    if (this.selected < 0) return;
    const index = this.selected;
    clearTimeout(this.timer);
    this.pending = null;
    this.boxes.splice(index, 1);
    this.selected = -1;
    this.redraw();
    this.callbacks.onSelect?.(-1);
    this.callbacks.onDelete?.(index);
  }

  #add(bbox) {
    this.boxes.push({ label: this.currentClass(), bbox });
    this.select(this.boxes.length - 1);
    this.callbacks.onAdd?.(bbox);
  }

  #point(event) {
    const rect = this.layer.getBoundingClientRect();
    return [
      clamp(((event.clientX - rect.left) / rect.width) * this.item.width, 0, this.item.width),
      clamp(((event.clientY - rect.top) / rect.height) * this.item.height, 0, this.item.height),
    ];
  }

  #down(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.stage.focus({ preventScroll: true });
    const start = this.#point(event);
    const hit = event.target.closest?.("g.box");
    this.layer.setPointerCapture(event.pointerId);
    if (hit) {
      const index = Number(hit.dataset.index);
      this.select(index);
      this.gesture = { kind: "move", index, start, from: [...this.boxes[index].bbox], moved: false };
    } else {
      this.gesture = { kind: "draw", start, preview: null };
    }
  }

  #drag(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    const [x, y] = this.#point(event);
    if (gesture.kind === "draw") {
      const [sx, sy] = gesture.start;
      gesture.preview = [Math.min(sx, x), Math.min(sy, y), Math.max(sx, x), Math.max(sy, y)].map((v) => Math.round(v));
    } else {
      const [x1, y1, x2, y2] = gesture.from;
      const dx = clamp(x - gesture.start[0], -x1, this.item.width - x2);
      const dy = clamp(y - gesture.start[1], -y1, this.item.height - y2);
      this.boxes[gesture.index].bbox = [x1 + dx, y1 + dy, x2 + dx, y2 + dy].map((v) => Math.round(v));
      gesture.moved = dx !== 0 || dy !== 0;
    }
    this.redraw();
  }

  #up(event) {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    this.layer.releasePointerCapture?.(event.pointerId);
    if (gesture.kind === "draw") {
      const box = gesture.preview;
      if (box && box[2] - box[0] >= 2 && box[3] - box[1] >= 2) this.#add(box);
      else this.select(-1); // a click on empty space: choose nothing
    } else if (gesture.moved) {
      this.callbacks.onMove?.(gesture.index, [...this.boxes[gesture.index].bbox]);
    }
    this.redraw();
  }

  // Arrows move the chosen box, Shift+arrows resize it, Delete removes it, N adds one,
  // [ and ] choose the previous or next box, Escape chooses none.
  #key(event) {
    if (event.target !== this.stage) return;
    const { key } = event;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (key in arrows && this.selected >= 0) {
      event.preventDefault();
      const step = Math.max(1, Math.round(Math.max(this.item.width, this.item.height) / 100));
      const [dx, dy] = arrows[key].map((v) => v * step);
      const box = this.boxes[this.selected];
      let [x1, y1, x2, y2] = box.bbox;
      if (event.shiftKey) {
        x2 = clamp(x2 + dx, x1 + 1, this.item.width);
        y2 = clamp(y2 + dy, y1 + 1, this.item.height);
      } else {
        const mx = clamp(dx, -x1, this.item.width - x2);
        const my = clamp(dy, -y1, this.item.height - y2);
        [x1, y1, x2, y2] = [x1 + mx, y1 + my, x2 + mx, y2 + my];
      }
      box.bbox = [x1, y1, x2, y2];
      this.pending = this.selected;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), 600);
      this.redraw();
    } else if ((key === "Delete" || key === "Backspace") && this.selected >= 0) {
      event.preventDefault();
      this.deleteSelected();
    } else if (key === "n" || key === "N") {
      event.preventDefault();
      this.addCentred();
    } else if ((key === "]" || key === "[") && this.boxes.length) {
      event.preventDefault();
      const n = this.boxes.length;
      this.select(key === "]" ? (this.selected + 1) % n : (this.selected - 1 + n) % n);
    } else if (key === "Escape") {
      this.select(-1);
    }
  }
}
