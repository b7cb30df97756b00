// Økonomi > Ikke eksporterte fakturaer: while "Eksporter alle" runs, the progress bar, the
// counters and the rows on the page follow the background export without a reload. Each poll
// tells the server which rows the page shows and with which status; the answer carries the
// counts and, rendered by the server, the rows whose status changed.
(() => {
  const box = document.getElementById("export-progress");
  if (!box || box.dataset.finished === "1") return;
  const bar = document.getElementById("export-progress-bar");
  const wrap = document.getElementById("export-progress-bar-wrap");
  const text = document.getElementById("export-progress-text");
  const exported = document.getElementById("export-progress-exported");
  const failed = document.getElementById("export-progress-failed");
  const refresh = document.getElementById("export-progress-refresh");

  const shownRows = () =>
    [...document.querySelectorAll("tr.ne-row[data-invoice]")]
      .map((row) => `${row.dataset.invoice}:${row.dataset.status}`)
      .join(",");

  const showCounts = (counts) => {
    if (!counts) return;
    document.querySelectorAll("[data-count]").forEach((el) => {
      const value = counts[el.dataset.count];
      if (value === undefined) return;
      const shown = value.toLocaleString("nb-NO");
      el.textContent = el.dataset.format ? (value ? el.dataset.format.replace("{}", shown) : "") : shown;
      const stat = el.closest("[data-tone]");
      if (stat) stat.classList.toggle(stat.dataset.tone, value > 0);
    });
  };

  const showRows = (rows) => {
    (rows || []).forEach((row) => {
      const current = document.getElementById(`faktura-${row.id}`);
      if (!current) return;
      const holder = document.createElement("tbody");
      holder.innerHTML = row.html.trim();
      const fresh = holder.querySelector("tr.ne-row");
      if (fresh) current.replaceWith(fresh);
    });
  };

  const poll = async () => {
    let data;
    try {
      const url = new URL(box.dataset.url, window.location.href);
      url.searchParams.set("rader", shownRows());
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error(response.status);
      data = await response.json();
    } catch (error) {
      text.textContent = "Mistet kontakten – prøver igjen …";
      setTimeout(poll, 3000);
      return;
    }
    bar.style.width = data.percent + "%";
    wrap.setAttribute("aria-valuenow", data.percent);
    bar.classList.toggle("has-failures", data.failed > 0);
    text.textContent = data.text;
    const queue = document.getElementById("export-progress-queue");
    if (queue) {
      queue.textContent = data.queue ? data.queue.text : "";
      queue.hidden = !data.queue;
    }
    exported.textContent = data.exported;
    failed.textContent = data.failed;
    showCounts(data.counts);
    showRows(data.rows);
    if (data.finished) {
      box.classList.add("is-finished");
      box.dataset.finished = "1";
      refresh.hidden = false;
      // Show the list as it is now, with this export's result on top.
      setTimeout(() => window.location.replace(box.dataset.done), 1500);
      return;
    }
    setTimeout(poll, 800);
  };
  setTimeout(poll, 300);
})();
