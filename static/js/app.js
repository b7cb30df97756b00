// Small progressive enhancements shared by every page.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const text = copy.getAttribute("data-copy");
    navigator.clipboard?.writeText(text).then(() => {
      const old = copy.textContent;
      copy.textContent = "Kopiert";
      copy.classList.add("is-done");
      setTimeout(() => { copy.textContent = old; copy.classList.remove("is-done"); }, 1600);
    });
  }
  const confirmEl = event.target.closest("[data-confirm]");
  if (confirmEl && !window.confirm(confirmEl.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
// Forms: disable the submit button after the first click, so a double click sends once.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.noLock !== undefined) return;
  if (event.defaultPrevented) return;
  const buttons = form.querySelectorAll("button[type=submit]");
  // Disable after the browser has built the form data, so the clicked button's value is sent.
  setTimeout(() => buttons.forEach((b) => { b.disabled = true; b.classList.add("is-busy"); }), 0);
});
// Tables wider than the screen scroll sideways: make such a scroll area reachable by keyboard.
const markScrollAreas = () => {
  document.querySelectorAll(".table-wrap").forEach((wrap) => {
    if (wrap.scrollWidth > wrap.clientWidth) {
      wrap.tabIndex = 0;
    } else {
      wrap.removeAttribute("tabindex");
    }
  });
};
markScrollAreas();
window.addEventListener("resize", markScrollAreas);
