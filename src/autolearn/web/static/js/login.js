import { post } from "./api.js";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  try {
    await post("/api/v1/account/login", {
      username: form.username.value,
      password: form.password.value,
    });
  } catch {
    error.hidden = false;
    form.password.focus();
    return;
  }
  window.location.assign(form.dataset.next || "/console");
});
