// A small SVG line chart of our own (no third-party JS): a few series of (x, y) points,
// axes with round ticks, a legend, and a text summary for screen readers (the SVG itself is
// one labelled image). Redrawn whole on each update: the series stay small (a point per
// epoch, a point per throttled step).

const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#0b5cad", "#a4161a", "#176d2c", "#7a4d00", "#5b2a86"];
const W = 560, H = 240, PAD = { left: 56, right: 12, top: 12, bottom: 36 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function ticks(lo, hi, count = 5) {
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3));

export class LineChart {
  // `host` is an element (e.g. <figure>) that gets the SVG and a legend/summary.
  constructor(host, { title, xLabel, yLabel, empty = "" }) {
    this.host = host;
    this.empty = empty;
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
    this.series = new Map();
    this.draw();
  }

  add(name, x, y) {
    if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(y)) return;
    if (!this.series.has(name)) this.series.set(name, []);
    const points = this.series.get(name);
    const last = points.at(-1);
    if (last && last[0] === x) points[points.length - 1] = [x, y];
    else points.push([x, y]);
    this.scheduleDraw();
  }

  clear() {
    this.series.clear();
    this.draw();
  }

  scheduleDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const all = [...this.series.values()].flat();
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": this.summary(), class: "chart-svg" });
    const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
    root.append(svg("rect", { x: PAD.left, y: PAD.top, width: plotW, height: plotH, class: "chart-frame" }));
    if (!all.length && this.empty) {
      root.append(svg("text", { x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, "text-anchor": "middle", class: "chart-empty" }, this.empty));
    }
    if (all.length) {
      const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
      let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
      let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
      if (x0 === x1) x1 = x0 + 1;
      if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
      const pad = (y1 - y0) * 0.05;
      y0 -= pad; y1 += pad;
      const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * plotW;
      const sy = (y) => PAD.top + (1 - (y - y0) / (y1 - y0)) * plotH;
      for (const v of ticks(y0, y1)) {
        root.append(svg("line", { x1: PAD.left, x2: PAD.left + plotW, y1: sy(v), y2: sy(v), class: "chart-grid" }));
        root.append(svg("text", { x: PAD.left - 6, y: sy(v) + 4, "text-anchor": "end", class: "chart-tick" }, fmt(v)));
      }
      for (const v of ticks(x0, x1, 6)) {
        root.append(svg("text", { x: sx(v), y: PAD.top + plotH + 16, "text-anchor": "middle", class: "chart-tick" }, fmt(v)));
      }
      [...this.series.entries()].forEach(([, points], i) => {
        const color = COLORS[i % COLORS.length];
        const d = points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
        root.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
        if (points.length < 60) for (const p of points) root.append(svg("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: color }));
      });
    }
    root.append(svg("text", { x: PAD.left + plotW / 2, y: H - 4, "text-anchor": "middle", class: "chart-axis" }, this.xLabel));
    root.append(svg("text", { x: 12, y: PAD.top + plotH / 2, transform: `rotate(-90 12 ${PAD.top + plotH / 2})`, "text-anchor": "middle", class: "chart-axis" }, this.yLabel));
    const legend = document.createElement("ul");
    legend.className = "chart-legend";
    [...this.series.entries()].forEach(([name, points], i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLORS[i % COLORS.length];
      swatch.setAttribute("aria-hidden", "true");
      const last = points.at(-1);
      item.append(swatch, `${name}: ${last ? fmt(last[1]) : "-"}`);
      legend.append(item);
    });
    this.host.replaceChildren(root, legend);
  }

  summary() {
    const parts = [...this.series.entries()].map(([name, points]) => {
      const last = points.at(-1);
      return last ? `${name} ${fmt(last[1])} at ${this.xLabel} ${fmt(last[0])} (${points.length} points)` : name;
    });
    return [this.title, ...parts].join("; ");
  }
}
