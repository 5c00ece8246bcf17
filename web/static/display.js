// Wall display: station tiles with live progress, and the latest results.
import { connect, el, fmtClock, fmtTime, statusText } from "./live.js";

const tiles = new Map();   // station_id -> {root, athlete, big, sub, bar, target}
const resultsList = document.getElementById("results");
const MAX_RESULTS = 8;

function tileFor(station) {
  if (tiles.has(station.id)) return tiles.get(station.id);
  const athlete = el("div", { class: "athlete", dataTestid: `tile-athlete-${station.id}` });
  const big = el("div", { class: "big", dataTestid: `tile-big-${station.id}` }, "—");
  const bar = el("div");
  const sub = el("div", { class: "sub", dataTestid: `tile-sub-${station.id}` }, "");
  const root = el("article", { class: "tile", dataTestid: `tile-${station.id}` },
    el("div", { class: "name" }, station.name || station.id), athlete, el("div", { class: "progress" }, bar), big, sub);
  document.getElementById("tiles").append(root);
  const t = { root, athlete, big, sub, bar, target: (station.config && station.config.distance_m) || 20 };
  tiles.set(station.id, t);
  return t;
}

function showResult(r, fresh) {
  const li = el("li", { class: fresh ? "fresh" : "", dataTestid: "result-row", dataResultId: r.id },
    el("span", {}, `${r.athlete || "—"} · ${r.station_id}`),
    el("span", { class: `t status-${r.status}` }, statusText(r)));
  resultsList.prepend(li);
  while (resultsList.children.length > MAX_RESULTS) resultsList.lastChild.remove();
  if (fresh) setTimeout(() => li.classList.remove("fresh"), 4000);
  const t = tiles.get(r.station_id);
  if (t) {
    t.root.className = "tile " + (r.status === "OK" ? "finished" : "bad");
    t.big.textContent = statusText(r);
    t.big.className = `big status-${r.status}`;
    t.sub.textContent = r.reason || (r.metrics && r.metrics.peak_power_w ? `peak ${Math.round(r.metrics.peak_power_w)} W` : "");
    t.bar.style.width = r.status === "OK" ? "100%" : t.bar.style.width;
  }
}

function onFrames(payload, ack) {
  for (const [sid, f] of Object.entries(payload.stations || {})) {
    const t = tiles.get(sid);
    if (!t) continue;
    t.root.className = "tile running";
    t.big.className = "big";
    t.big.textContent = fmtTime(f.elapsed_s);
    const parts = [];
    if (f.distance_m !== null && f.distance_m !== undefined) {
      t.bar.style.width = `${Math.min(100, 100 * f.distance_m / t.target)}%`;
      parts.push(`${f.distance_m.toFixed(1)} m`);
    }
    if (f.force_n) parts.push(`${Math.round(f.force_n)} N`);
    if (f.splits && f.splits.length) parts.push(`splits ${f.splits.map(s => s.toFixed(2)).join(" · ")}`);
    t.sub.textContent = parts.join("  ·  ");
  }
  if (typeof ack === "function") ack();
}

connect({
  hello: (h) => {
    resultsList.replaceChildren();
    for (const s of h.stations) tileFor(s);
    for (const r of h.results.slice(0, MAX_RESULTS).reverse()) showResult(r, false);
    if (h.demo) onDemo(h.demo);
  },
  armed: (list) => {
    for (const a of list) {
      const t = tiles.get(a.station_id);
      if (!t) continue;
      t.athlete.textContent = a.athlete || "";
      t.root.className = "tile";
      t.big.className = "big"; t.big.textContent = "READY"; t.sub.textContent = ""; t.bar.style.width = "0";
    }
  },
  attempt: (a) => {
    const t = tiles.get(a.station_id);
    if (t && a.state === "COUNTDOWN") t.big.textContent = "SET";
    if (t && a.state === "RUNNING") { t.root.className = "tile running"; t.big.textContent = "GO"; }
  },
  frames: onFrames,
  result: (r) => showResult(r, true),
  demo: onDemo,
});

function onDemo(d) {
  document.getElementById("phase").textContent = d.phase_label || d.phase || "";
  document.getElementById("clock").textContent = fmtClock(d.remaining_s);
}
