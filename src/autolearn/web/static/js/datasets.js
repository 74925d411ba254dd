// Data center: the datasets the user can read, and uploading a .zip as a new version.
// The file goes as the raw request body (Content-Type: application/zip), as the API
// wants; the answer's validation report (or the refusal's) is shown under the form.
import { api, ApiError, get } from "./api.js";
import { el, flash, showError, t } from "./ui.js";
import { renderReport } from "./dataset.js";

const table = document.getElementById("dataset-table");
const form = document.getElementById("upload-form");
const reportBox = document.getElementById("upload-report");
const progress = document.getElementById("upload-progress");
const submit = document.getElementById("upload-submit");

async function loadList() {
  table.setAttribute("aria-busy", "true");
  try {
    const rows = await get("/api/v1/datasets");
    table.querySelector("tbody").replaceChildren(
      ...rows.map((d) =>
        el("tr", { dataset: { name: d.name } },
          el("th", { scope: "row" }, el("a", { href: `/console/datasets/${encodeURIComponent(d.name)}` }, d.name),
            d.description ? el("div", { class: "muted" }, d.description) : null),
          el("td", {}, t(`ds.scenario_${d.scenario}`)),
          el("td", {}, d.versions),
          el("td", {}, d.latest ?? "-"),
          el("td", {}, d.num_images),
          el("td", {}, d.classes.length ? `${d.classes.length}: ${d.classes.slice(0, 8).join(", ")}${d.classes.length > 8 ? ", …" : ""}` : "-"),
          el("td", {}, d.owner_id === null ? t("ds.shared") : t("ds.owned")),
        ),
      ),
    );
    document.getElementById("dataset-empty").hidden = rows.length > 0;
  } catch (error) {
    showError(error);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

// A refused upload: the message, then each problem with its file.
function renderRefusal(error) {
  const problems = error.body?.report?.problems ?? [];
  const listed = problems.length
    ? problems.map((p) => ({ file: p.file, message: p.message, code: p.code, severity: p.severity }))
    : (error.fields ?? []).map((f) => ({ file: f.field, message: f.message, code: f.code, severity: "error" }));
  return el("div", { class: "ds-refused", id: "upload-refused" },
    el("h3", {}, t("ds.upload_refused")),
    // One finding that is the message itself is said once.
    listed.length === 1 && listed[0].message === error.message ? null : el("p", { class: "error" }, error.message),
    listed.length
      ? el("ul", { class: "ds-problems" },
          ...listed.map((p) => el("li", { class: `sev-${p.severity}`, dataset: { code: p.code ?? "" } },
            el("strong", {}, p.file || "-"), " — ", p.message)))
      : null,
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  flash("");
  const name = form.elements.name.value.trim();
  const file = form.elements.file.files[0];
  if (!form.reportValidity() || !file) return;
  submit.disabled = true;
  progress.textContent = t("ds.uploading", { file: file.name });
  reportBox.replaceChildren();
  try {
    const version = await api("POST", `/api/v1/datasets/${encodeURIComponent(name)}/upload`, {
      body: file,
      headers: { "Content-Type": "application/zip" },
      params: {
        filename: file.name,
        format: form.elements.format.value,
        policy: form.elements.policy.value,
        description: form.elements.description.value,
      },
    });
    progress.textContent = "";
    reportBox.replaceChildren(
      el("h3", {}, t("ds.upload_done", { ref: version.ref })),
      el("p", {}, el("a", { href: `/console/datasets/${encodeURIComponent(version.dataset)}?version=${version.number}`, id: "upload-open" }, t("ds.open_version", { ref: version.ref }))),
      renderReport(version.report),
    );
    form.reset();
    loadList();
  } catch (error) {
    progress.textContent = "";
    if (!(error instanceof ApiError)) {
      // A server that refuses a too-large body may close the connection before the
      // browser has sent it all: then there is no answer to read, only a failed fetch.
      reportBox.replaceChildren(el("div", { class: "ds-refused" },
        el("h3", {}, t("ds.upload_refused")), el("p", { class: "error" }, t("ds.upload_failed", { message: error.message }))));
    } else if (error.code === "import_refused") {
      reportBox.replaceChildren(renderRefusal(error));
    } else {
      reportBox.replaceChildren(el("div", { class: "ds-refused" },
        el("h3", {}, t("ds.upload_refused")), el("p", { class: "error" }, error.message)));
    }
  } finally {
    submit.disabled = false;
    reportBox.focus();
  }
});

loadList();
