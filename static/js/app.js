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
// Main menu: each group opens with a click or Enter (not only on hover), and closes with Escape
// or a click elsewhere, so keyboard and touch users reach every page.
const closeMenus = (except) => {
  document.querySelectorAll(".navgroup.is-open").forEach((group) => {
    if (group === except) return;
    group.classList.remove("is-open");
    group.querySelector(".navgroup-title").setAttribute("aria-expanded", "false");
  });
};
document.addEventListener("click", (event) => {
  const title = event.target.closest(".navgroup-title");
  const group = event.target.closest(".navgroup");
  closeMenus(group);
  if (title) {
    const open = group.classList.toggle("is-open");
    title.setAttribute("aria-expanded", String(open));
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const group = document.activeElement?.closest(".navgroup");
  closeMenus(null);
  group?.querySelector(".navgroup-title").focus();
});
document.addEventListener("focusout", (event) => {
  const group = event.target.closest(".navgroup");
  if (group && !group.contains(event.relatedTarget)) closeMenus(null);
});
