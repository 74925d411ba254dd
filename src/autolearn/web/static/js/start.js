// Start: the regions (named worker pools) with their queue workers and load.
import { get } from "./api.js";
import { el, showError, t } from "./ui.js";

async function load() {
  const body = document.querySelector("#regions tbody");
  try {
    const regions = await get("/api/v1/regions");
    body.replaceChildren(
      ...regions.map((r) =>
        el("tr", {},
          el("th", { scope: "row" }, r.name),
          el("td", {}, `${r.workers} (${r.slots} slots, ${r.free_slots} free)`),
          el("td", {}, r.running),
          el("td", {}, r.queued),
          el("td", {}, el("a", { class: "button", href: `/console/tasks/new?region=${encodeURIComponent(r.name)}` }, t("start.new_task"))),
        ),
      ),
    );
  } catch (error) {
    showError(error);
  }
}
load();
