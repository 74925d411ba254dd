// Small SVG line charts, no library: axes with ticks, one line per series (colour AND
// dash pattern, so the series stay apart without colour), optional marked points, a
// legend, and a text alternative (a table of the data in a <details>) for people who
// cannot see the chart. The <svg> is role="img" with <title> and <desc>.
import { el, t } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// Dark enough for 3:1 against white (non-text contrast), and told apart by dashes too.
export const PALETTE = ["#0b5cad", "#a4161a", "#176d2c", "#7a4d00", "#6a1b9a", "#00695c", "#ad1457", "#37474f"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "12 4", "4 4 1 4"];
let uid = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function ticks(lo, hi, count = 5) {
  if (hi === lo) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

function extent(values, fallback) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return fallback;
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  return [lo, hi];
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/0+$/, "").replace(/\.$/, ""));

/**
 * lineChart({ id, title, desc, xLabel, yLabel, series: [{ name, points: [[x, y]], marks: [[x, y]] }],
 *   xDomain, yDomain, width, height }) → <figure>. Domains default to the data's range.
 */
export function lineChart({ id, title, desc, xLabel, yLabel, series, xDomain, yDomain, width = 520, height = 320 }) {
  const n = ++uid;
  const m = { left: 56, right: 16, top: 16, bottom: 44 };
  const w = width - m.left - m.right, h = height - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = xDomain ?? extent(xs, [0, 1]);
  const [y0, y1] = yDomain ?? extent(ys, [0, 1]);
  const X = (v) => m.left + ((v - x0) / (x1 - x0)) * w;
  const Y = (v) => m.top + h - ((v - y0) / (y1 - y0)) * h;
  const titleId = `chart-${n}-title`, descId = `chart-${n}-desc`;

  const grid = [];
  for (const v of ticks(y0, y1)) {
    grid.push(svg("line", { x1: m.left, x2: m.left + w, y1: Y(v), y2: Y(v), class: "plot-grid" }));
    grid.push(svg("text", { x: m.left - 6, y: Y(v) + 4, "text-anchor": "end", class: "plot-tick" }, fmt(v)));
  }
  for (const v of ticks(x0, x1)) {
    grid.push(svg("line", { x1: X(v), x2: X(v), y1: m.top + h, y2: m.top + h + 4, class: "plot-axis" }));
    grid.push(svg("text", { x: X(v), y: m.top + h + 18, "text-anchor": "middle", class: "plot-tick" }, fmt(v)));
  }
  const lines = series.map((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const finite = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    const d = finite.map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    return svg("g", { class: "plot-series" },
      finite.length > 1 ? svg("path", { d, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": DASHES[i % DASHES.length] || null }) : null,
      finite.length === 1 ? svg("circle", { cx: X(finite[0][0]), cy: Y(finite[0][1]), r: 3, fill: colour }) : null,
      (s.marks ?? []).map((p) => svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: 5, fill: "#ffffff", stroke: colour, "stroke-width": 2 })),
    );
  });
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": `${titleId} ${descId}`, class: "plot",
  },
  svg("title", { id: titleId }, title),
  svg("desc", { id: descId }, desc),
  ...grid,
  svg("line", { x1: m.left, x2: m.left, y1: m.top, y2: m.top + h, class: "plot-axis" }),
  svg("line", { x1: m.left, x2: m.left + w, y1: m.top + h, y2: m.top + h, class: "plot-axis" }),
  svg("text", { x: m.left + w / 2, y: height - 6, "text-anchor": "middle", class: "plot-label" }, xLabel),
  svg("text", { x: 14, y: m.top + h / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${m.top + h / 2})`, class: "plot-label" }, yLabel),
  ...lines);

  const legend = el("ul", { class: "plot-legend" },
    series.map((s, i) => el("li", {},
      el("span", { class: "plot-swatch", "aria-hidden": "true", style: `border-top: 3px ${DASHES[i % DASHES.length] ? "dashed" : "solid"} ${PALETTE[i % PALETTE.length]}` }),
      s.label ?? s.name)));
  return el("figure", { class: "plot-figure", id },
    el("figcaption", {}, title), chart, legend, dataTable(title, xLabel, series));
}

// The text alternative: one row per x, one column per series.
function dataTable(title, xLabel, series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const lookup = series.map((s) => new Map(s.points.map((p) => [p[0], p[1]])));
  return el("details", { class: "plot-data" },
    el("summary", {}, t("plot.data")),
    el("table", {},
      el("caption", { class: "sr-only" }, title),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, xLabel), series.map((s) => el("th", { scope: "col" }, s.name)))),
      el("tbody", {}, xs.map((x, i) => el("tr", {},
        el("th", { scope: "row" }, fmt(x)),
        lookup.map((map) => el("td", {}, map.has(x) && Number.isFinite(map.get(x)) ? fmt(map.get(x)) : "–"))))),
    ));
}
