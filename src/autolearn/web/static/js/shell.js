// On every page: sign out.
import { post } from "./api.js";
import { showError } from "./ui.js";

document.getElementById("signout")?.addEventListener("click", async () => {
  try {
    await post("/api/v1/account/logout");
  } catch (error) {
    showError(error);
    return;
  }
  window.location.assign("/console/login");
});
