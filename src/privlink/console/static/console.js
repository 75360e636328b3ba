// Copy buttons, dialogs, and badges that follow the reconciler by polling.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const text = document.getElementById(copy.dataset.copy).textContent.trim();
    navigator.clipboard?.writeText(text).catch(() => {});
    copy.textContent = "Copied";
    setTimeout(() => (copy.textContent = copy.dataset.label || "Copy"), 1500);
  }
  const opener = event.target.closest("[data-open]");
  if (opener) document.getElementById(opener.dataset.open).showModal();
  const closer = event.target.closest("[data-close]");
  if (closer) closer.closest("dialog").close();
});

document.querySelectorAll("dialog[data-open-now]").forEach((d) => d.showModal());

const poll = document.querySelector("[data-poll]");
if (poll) {
  const seen = poll.dataset.state;
  setInterval(async () => {
    if (document.querySelector("dialog[open]")) return; // never lose what is being typed
    try {
      const response = await fetch(poll.dataset.poll, { credentials: "same-origin" });
      if (!response.ok) return;
      if (JSON.stringify(await response.json()) !== seen) location.reload();
    } catch (_) { /* offline for a moment: try again */ }
  }, 1000);
}

// Loading state: a form being sent says so and cannot be sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method.toLowerCase() !== "post") return;
  const button = form.querySelector("button[type=submit]");
  if (button) {
    setTimeout(() => { button.disabled = true; button.textContent = "Working…"; }, 0);
  }
});

// Inline checks: as the user types, the server answers with the API's own message.
document.querySelectorAll("[data-check]").forEach((field) => {
  const note = document.getElementById(field.dataset.note);
  let timer;
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const body = new FormData();
      body.append("value", field.value);
      body.append("csrf", field.form.querySelector("[name=csrf]").value);
      const response = await fetch(`/console/check/${field.dataset.check}`, { method: "POST", body });
      if (!response.ok) return;
      const result = await response.json();
      note.textContent = field.value.trim() ? result.message : "";
      field.setAttribute("aria-invalid", result.ok || !field.value.trim() ? "false" : "true");
    }, 300);
  });
});

// Selects marked data-autosubmit send their form when changed (no inline handlers: the
// Content-Security-Policy allows only this script).
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit") && select.form) {
    select.form.submit();
  }
});
