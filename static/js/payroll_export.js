// Lønn > Lønnseksport > Lag ny: "Velg alle", and each logbook's trips fetched when asked for
// ("Søk" renders one row per logbook, whatever the number of trips).
(() => {
  const all = document.querySelector("[data-check-all]");
  if (all) {
    const boxes = () => document.querySelectorAll("input[name=logs][type=checkbox]");
    const sync = () => {
      const b = [...boxes()];
      all.checked = b.length > 0 && b.every((x) => x.checked);
      all.indeterminate = !all.checked && b.some((x) => x.checked);
    };
    all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
    document.addEventListener("change", (e) => { if (e.target.name === "logs") sync(); });
    sync();
  }

  document.addEventListener("click", async (event) => {
    const toggle = event.target.closest("a[data-trips]");
    if (!toggle) return;
    event.preventDefault();
    const row = toggle.closest("tr");
    const open = row.nextElementSibling?.classList.contains("payroll-trips-row")
      ? row.nextElementSibling
      : null;
    if (open) {
      open.remove();
      toggle.setAttribute("aria-expanded", "false");
      return;
    }
    const holder = document.createElement("tr");
    holder.className = "payroll-trips-row";
    holder.innerHTML = `<td></td><td colspan="${row.children.length - 1}"><span class="muted">Henter turer …</span></td>`;
    row.after(holder);
    toggle.setAttribute("aria-expanded", "true");
    try {
      const response = await fetch(toggle.dataset.trips, { headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(response.status);
      holder.lastElementChild.innerHTML = await response.text();
    } catch (error) {
      holder.lastElementChild.innerHTML = `<span class="payroll-error">Kunne ikke hente turene. <a href="${toggle.href}">Åpne kjøreboken</a>.</span>`;
    }
  });
})();
