// Small shared pieces of the console: the string table, safe element building, the
// alert area, and numbers/dates as people read them.

const STRINGS = JSON.parse(document.getElementById("strings")?.textContent || "{}");

export function t(key, vars = {}) {
  let text = STRINGS[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

// el("a", {href: "/x", class: "btn"}, "text", child...) — text is never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function flash(message, kind = "error") {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = message;
  box.className = kind;
  box.hidden = !message;
}

export function showError(error) {
  flash(`${t("error.generic")} ${error.message || error}`);
}

export function fmtNumber(value, digits = 4) {
  return typeof value === "number" ? value.toFixed(digits) : value ?? "";
}

export function fmtDate(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function fmtSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}
