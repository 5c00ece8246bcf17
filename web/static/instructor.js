// Instructor tablet (foundation): start and stop the demo class, follow results.
import { connect, el, fmtClock, statusText } from "./live.js";

const tbody = document.getElementById("results");

async function post(url) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  if (!r.ok) alert((await r.json()).error || r.statusText);
}
document.getElementById("start").addEventListener("click", () => post("/api/demo/start"));
document.getElementById("stop").addEventListener("click", () => post("/api/demo/stop"));

function row(r) {
  tbody.prepend(el("tr", { dataTestid: "result-row" }, el("td", {}, r.athlete || "—"), el("td", {}, r.station_id),
    el("td", { class: `status-${r.status}` }, statusText(r)), el("td", {}, r.reason || "")));
  while (tbody.children.length > 50) tbody.lastChild.remove();
}

function onDemo(d) {
  document.getElementById("phase").textContent = d.phase_label || d.phase;
  document.getElementById("clock").textContent = fmtClock(d.remaining_s);
}

connect({
  hello: (h) => { tbody.replaceChildren(); for (const r of h.results.slice().reverse()) row(r); if (h.demo) onDemo(h.demo); },
  result: row,
  demo: onDemo,
});
