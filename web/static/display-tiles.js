// Station tiles on the wall: who is up (wall name), the attempt's state, a live progress bar (sled
// distance with split marks, or the lane's gates passed), a live force gauge for sleds, and the result
// the moment it is stored — time, or FALSE START / DNF / DQ in words — with a PB or RECORD chip and, after a
// sled pull, the force–time and velocity curve.

import { el, fmtTime, LiveSmoother } from "./live.js";
import { curveChart, newChart } from "./chart.js";
import { outcomeText } from "./display-outcome.js";

const LIVE = {
  ARMED: { chip: "READY", tone: "info", big: "READY" },
  COUNTDOWN: { chip: "SET", tone: "accent", big: "SET" },
  HOLDING: { chip: "HOLD", tone: "accent", big: "HOLD" },
  READY: { chip: "GO", tone: "ok", big: "GO!" },
  RUNNING: { chip: "RUNNING", tone: "info", big: null },
};
const FINAL = {
  OK: { chip: "FINISHED", tone: "ok" },
  FALSE_START: { chip: "FALSE START", tone: "bad", big: "FALSE START" },
  DNF: { chip: "DNF", tone: "warn", big: "DNF" },
  DQ: { chip: "DQ", tone: "bad", big: "DQ" },
  ABORTED: { chip: "ABORTED", tone: "muted", big: "ABORTED" },
  RERUN: { chip: "RE-RUN", tone: "muted", big: "RE-RUN" },
};
const TERMINAL_STATES = new Set(["FINISHED", "FALSE_START", "DNF", "DQ", "ABORTED"]);
const FORCE_STEP_N = 250;
const NAME_MIN_EM = 1.4;  // a long name steps down to this (in the tile's em) before it may wrap

// a name shown whole: step the font down while it is wider than its line, and wrap it if it is still
// too wide at ``minEm`` (layout, never "…")
function fitText(e, minEm) {
  e.style.fontSize = "";
  e.style.whiteSpace = "";
  if (!e.isConnected || e.scrollWidth <= e.clientWidth) return;
  let em = parseFloat(getComputedStyle(e).fontSize) / parseFloat(getComputedStyle(e.parentElement).fontSize);
  while (e.scrollWidth > e.clientWidth && em > minEm) {
    em = Math.max(minEm, em - 0.15);
    e.style.fontSize = `${em}em`;
  }
  if (e.scrollWidth > e.clientWidth) { e.style.whiteSpace = "normal"; e.style.overflowWrap = "anywhere"; }
}

function gateName(role) {
  if (role === "start") return "Start";
  if (role === "finish") return "Finish";
  if (role === "turn") return "Turn";
  const m = /^split(\d+)$/.exec(role);
  return m ? `Split ${m[1]}` : role;
}

class Tile {
  constructor(station, parent) {
    const id = station.id;
    this.station = {};
    this.attempt = null;      // {attempt_id, athlete, hidden, state, rearmed_from}
    this.live = null;         // latest frame
    this.result = null;       // masked result shown
    this.badgeData = null;
    this.goAt = null;         // performance seconds of a coming GO (countdown numbers)
    this.forceMax = 1000;
    const t = (name) => `tile-${name}-${id}`;
    this.e = {
      station: el("span", { class: "station" }),
      chip: el("span", { class: "chip", dataTestid: t("chip") }),
      athlete: el("span", { class: "athlete", dataTestid: t("athlete") }),
      big: el("div", { class: "big", dataTestid: t("big") }, "—"),
      fill: el("div", { class: "fill" }),
      marks: el("div", { class: "marks" }),
      trackLabel: el("div", { class: "track-label", dataTestid: t("track") }),
      detail: el("div", { class: "detail", dataTestid: t("detail") }),
    };
    this.e.track = el("div", { class: "track", dataTestid: t("progress") }, this.e.fill, this.e.marks);
    this.root = el("article", { class: "tile", dataTestid: `tile-${id}`, dataStation: id },
      el("div", { class: "head" }, this.e.station, this.e.chip),
      el("div", { class: "who" }, this.e.athlete),
      this.e.big,
      el("div", { class: "track-row" }, this.e.track, this.e.trackLabel), this.e.detail);
    parent.append(this.root);
    this.setStation(station);
    this.render();
  }

  setStation(s) {
    this.station = { ...this.station, ...s };
    this.e.station.textContent = this.station.name || this.station.id;
    this.root.dataset.kind = this.station.kind || "";
    this.drawMarks();
  }

  course() {
    const s = this.station;
    return { target: s.target_m || null, splits: s.split_distances_m || [], route: s.route || [] };
  }

  drawMarks() {
    const { target, splits, route } = this.course();
    const marks = [];
    if (this.station.kind === "sled" && target) {
      for (const d of splits) marks.push(100 * d / target);
    } else if (route.length > 2) {
      for (let i = 1; i < route.length - 1; i++) marks.push(100 * i / (route.length - 1));
    }
    this.e.marks.replaceChildren(...marks.map((p) => el("i", { style: `left:${p.toFixed(2)}%` })));
  }

  // events --------------------------------------------------------------------------------------------
  armed(a) {
    this.attempt = { attempt_id: a.attempt_id, athlete: a.athlete, hidden: a.hidden, state: a.state || "ARMED",
      rearmed_from: a.rearmed_from, false_start: a.false_start };
    this.setStation({ target_m: a.target_m, split_distances_m: a.split_distances_m, route: a.route, kind: a.kind });
    this.live = null; this.result = null; this.badgeData = null; this.goAt = null; this.forceMax = 1000;
    this.render();
  }

  state(a) {
    if (!this.attempt || (a.attempt_id && a.attempt_id !== this.attempt.attempt_id)) return;
    if (TERMINAL_STATES.has(a.state)) return;  // the result (display:result) follows at once and says more
    this.attempt.state = a.state;
    this.render();
  }

  falseStart(f) {
    if (this.attempt && (!f.attempt_id || f.attempt_id === this.attempt.attempt_id)) {
      this.attempt.false_start = f.reason || "yes";
      this.render();
    }
  }

  countdown(goAt, random = false) {
    if (this.result) return;
    this.goAt = goAt;
    this.randomGo = random;
    this.render();
  }

  // a provisional finish (the hub saw the finishing event; the result of record follows)
  finish(f) {
    if (this.result || !this.attempt || (f.attempt_id && f.attempt_id !== this.attempt.attempt_id)) return;
    this.attempt.state = "FINISHING";
    this.root.dataset.state = "FINISHING";
    this.setChip("FINISH", "ok");
    this.setBig(fmtTime(f.time_s));
    this.e.fill.style.width = "100%";
  }

  frame(f) {
    if (this.result && this.result.id === f.attempt_id) return;  // a late frame of a finished attempt
    if (this.attempt && this.attempt.state === "FINISHING") return;
    if (this.attempt && f.attempt_id && f.attempt_id !== this.attempt.attempt_id) {
      if (!String(f.attempt_id).startsWith(String(this.attempt.attempt_id).split("~")[0])) return;
    }
    // live.js smooths corrections (the distance never goes back); it redraws while one eases in
    this.smooth ||= new LiveSmoother((v) => { if (this.live && !this.result && this.attempt?.state === "RUNNING") { this.live = v; this.renderLive(); } });
    this.live = this.smooth.frame(f);
    if (this.attempt) this.attempt.state = "RUNNING"; else this.attempt = { state: "RUNNING", athlete: "" };
    this.result = null;
    this.goAt = null;
    if (typeof f.force_n === "number" && f.force_n > this.forceMax) {
      this.forceMax = Math.ceil(f.force_n / FORCE_STEP_N) * FORCE_STEP_N;
    }
    this.renderLive();
  }

  showResult(r) {
    this.result = r;
    this.badgeData = null;
    this.goAt = null;
    if (!this.attempt || this.attempt.attempt_id !== r.id) {
      this.attempt = { attempt_id: r.id, athlete: r.athlete, hidden: r.hidden, state: r.status };
    }
    this.render();
  }

  correct(r) {
    if (!this.result || this.result.id !== r.id) return;
    this.result = { ...this.result, status: r.status, time_s: r.time_s, reason: r.reason,
      reason_text: r.reason_text };
    this.render();
  }

  badges(b) {
    if (this.result && this.result.id === b.result_id) {
      this.badgeData = b;
      this.renderBadges();
    }
  }

  // drawing ---------------------------------------------------------------------------------------
  setChip(text, tone) {
    this.e.chip.textContent = text;
    this.e.chip.dataset.tone = tone;
    this.e.chip.hidden = !text;
  }

  // the big line keeps its height; words (READY, FALSE START) are set smaller than times to fit the tile
  setBig(text, word = false) {
    if (!word) {
      this.e.big.textContent = text;
    } else if (this.e.big.textContent !== text || !this.e.big.firstElementChild) {
      this.e.big.replaceChildren(el("span", { class: text.length > 7 ? "w long" : "w" }, text));
    }
  }

  render() {
    const a = this.attempt;
    const name = a ? (a.athlete || "—") : "";
    if (this.e.athlete.textContent !== name || this.e.athlete.style.fontSize || this.e.athlete.style.whiteSpace) {
      this.e.athlete.textContent = name;
      fitText(this.e.athlete, NAME_MIN_EM);
    }
    this.e.athlete.classList.toggle("hidden-member", Boolean(a && a.hidden));
    this.root.dataset.state = this.result ? this.result.status : (a ? a.state : "IDLE");
    if (this.result) return this.renderResult();
    delete this.e.big.dataset.status;  // the last result's colour leaves with it
    if (!a) {
      this.setChip("", "muted");
      this.setBig("—", true);
      this.e.fill.style.width = "0";
      this.e.trackLabel.textContent = "";
      this.e.detail.replaceChildren();
      this.renderBadges();
      return;
    }
    if (a.state === "RUNNING") return this.renderLive();
    const look = LIVE[a.state] || { chip: a.state, tone: "muted", big: a.state };
    this.setChip(look.chip, look.tone);
    this.setBig(this.countdownText() || look.big || "", true);
    this.e.fill.style.width = "0";
    if (this.station.kind === "sled" && this.course().target) this.e.trackLabel.textContent = `0 / ${this.course().target} m`;
    else this.e.trackLabel.replaceChildren(...this.gateLabel([]));
    this.e.detail.replaceChildren();
    if (a.rearmed_from) this.e.detail.append(el("div", { class: "notice bad" }, "False start — run again"));
    else if (a.false_start) this.e.detail.append(el("div", { class: "notice warn" }, "False start (kept)"));
    this.renderBadges();
  }

  countdownText() {
    if (this.goAt === null) return "";
    const left = this.goAt - performance.now() / 1000;
    if (left > 0) return this.randomGo ? "SET" : String(Math.ceil(left));
    return left > -1.5 ? "GO!" : "";
  }

  tick() {
    if (this.goAt !== null && !this.result && this.attempt && !["RUNNING", "FINISHING"].includes(this.attempt.state)) {
      const text = this.countdownText();
      if (text && this.e.big.textContent !== text) this.setBig(text, true);
    }
  }

  renderLive() {
    const f = this.live || {}, a = this.attempt || {};
    this.root.dataset.state = "RUNNING";
    delete this.e.big.dataset.status;
    this.setChip(a.false_start ? "FALSE START?" : "RUNNING", a.false_start ? "warn" : "info");
    this.setBig(typeof f.elapsed_s === "number" ? `${f.elapsed_s.toFixed(1)} s` : "GO!", typeof f.elapsed_s !== "number");
    if (this.station.kind === "sled") this.renderSled(f); else this.renderLane(f.splits || [], false);
  }

  renderSled(f) {
    const { target } = this.course();
    const d = typeof f.distance_m === "number" ? Math.max(0, f.distance_m) : 0;
    this.e.fill.style.width = target ? `${Math.min(100, 100 * d / target).toFixed(1)}%` : "0";
    this.e.trackLabel.textContent = target ? `${d.toFixed(1)} / ${target} m` : `${d.toFixed(1)} m`;
    let gauge = this.e.detail.querySelector(".gauge");
    if (!gauge) {
      gauge = el("div", { class: "gauge", dataTestid: `tile-gauge-${this.station.id}` },
        el("div", { class: "gauge-bar" }, el("div", { class: "gauge-fill" })),
        el("span", { class: "gauge-value" }), el("div", { class: "gauge-sub" }));
      this.e.detail.replaceChildren(gauge);
    }
    const force = typeof f.force_n === "number" ? Math.max(0, f.force_n) : 0;
    gauge.querySelector(".gauge-fill").style.width = `${Math.min(100, 100 * force / this.forceMax).toFixed(1)}%`;
    gauge.querySelector(".gauge-value").textContent = `${Math.round(force)} N`;
    const parts = [];
    if (typeof f.velocity_m_s === "number") parts.push(`${f.velocity_m_s.toFixed(1)} m/s`);
    if (typeof f.power_w === "number") parts.push(`${Math.round(f.power_w)} W`);
    gauge.querySelector(".gauge-sub").textContent = parts.join(" · ");
  }

  // one piece per split gate ("Split 1 ✓ 4.09" once passed, "Split 1" before), wrapping whole
  gateLabel(splits) {
    const route = this.course().route;
    const inner = route.slice(1, -1);
    if (!inner.length) return route.length ? [el("span", {}, `${gateName(route[0])} → ${gateName(route[route.length - 1])}`)] : [];
    return inner.map((g, i) => (typeof splits[i] === "number"
      ? el("span", { class: "passed" }, `${gateName(g)} ✓ ${splits[i].toFixed(2)}`) : el("span", {}, gateName(g))));
  }

  renderLane(splits, finished) {
    const route = this.course().route;
    const legs = Math.max(1, route.length - 1);
    const passed = finished ? legs : splits.filter((s) => typeof s === "number").length;
    this.e.fill.style.width = `${(100 * passed / legs).toFixed(1)}%`;
    this.e.trackLabel.replaceChildren(...this.gateLabel(splits));
    if (!finished) this.e.detail.replaceChildren();
  }

  renderResult() {
    const r = this.result;
    const look = FINAL[r.status] || { chip: r.status, tone: "muted", big: r.status };
    // a false start under WARN_KEEP: the result stands, flagged (stored as a "false_start:..." warning)
    const kept = r.status === "OK" && (r.false_start || (r.warnings || []).some((w) => w.startsWith("false_start")));
    this.setChip(look.chip, look.tone);
    this.setBig(r.status === "OK" ? fmtTime(r.time_s) : look.big, r.status !== "OK");
    this.e.big.dataset.status = r.status;
    const metrics = r.metrics || {};
    if (this.station.kind === "sled") {
      const { target } = this.course();
      const covered = r.status === "OK" ? target : (metrics.distance_m ?? (this.live ? this.live.distance_m : 0));
      this.e.fill.style.width = target ? `${Math.min(100, 100 * (covered || 0) / target).toFixed(1)}%` : "0";
      this.e.trackLabel.textContent = r.status === "OK"
        ? [`${target} m`, metrics.peak_power_w ? `${Math.round(metrics.peak_power_w)} W` : ""].filter(Boolean).join(" · ")
        : `${(covered || 0).toFixed(1)} / ${target} m`;
      this.e.detail.replaceChildren();
      if (r.curve && (r.curve.t_s || []).length > 1) {
        const svg = newChart({ class: "chart", "data-testid": `tile-chart-${this.station.id}` });
        this.e.detail.append(svg);
        curveChart(svg, r.curve, { force_n: metrics.peak_force_n, velocity_m_s: metrics.peak_velocity_m_s });
      }
    } else {
      this.renderLane(r.splits_s || [], r.status === "OK");
      this.e.detail.replaceChildren();
      if (typeof r.reaction_s === "number" && r.status === "OK" && !kept) {
        this.e.detail.append(el("div", { class: "notice" }, `reaction ${r.reaction_s.toFixed(2)} s`));
      }
    }
    const why = outcomeText(r);
    if (why && r.status !== "OK") {
      this.e.detail.replaceChildren(el("div", { class: `notice ${look.tone}`, dataTestid: `tile-reason-${this.station.id}` }, why));
    }
    if (kept) this.e.detail.prepend(el("div", { class: "notice warn" }, "False start (kept)"));
    this.renderBadges();
  }

  // a finished result's chip names its badge instead of FINISHED: RECORD (the station's best ever)
  // over PB (the athlete's best ever)
  renderBadges() {
    const b = this.badgeData;
    const badge = this.result && this.result.status === "OK" && b ? (b.record ? "RECORD" : b.pb ? "PB" : "") : "";
    this.root.dataset.badge = badge;
    if (badge) this.setChip(badge, badge === "RECORD" ? "record" : "pb");
  }

  redraw() {
    if (this.result) this.renderResult();
  }
}

export class Tiles {
  constructor(container) {
    this.container = container;
    this.tiles = new Map();
    setInterval(() => { for (const t of this.tiles.values()) t.tick(); }, 100);
    let resizing = null;
    addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => { for (const t of this.tiles.values()) { t.redraw(); fitText(t.e.athlete, NAME_MIN_EM); } }, 200);
    });
  }

  get(id) { return this.tiles.get(id); }

  // the stations and their tiles as the hub has them now (display:state)
  load(state) {
    const ids = new Set(state.stations.map((s) => s.id));
    for (const [id, t] of this.tiles) if (!ids.has(id)) { t.root.remove(); this.tiles.delete(id); }
    for (const s of state.stations) {
      if (this.tiles.has(s.id)) this.tiles.get(s.id).setStation(s);
      else this.tiles.set(s.id, new Tile(s, this.container));
    }
    this.container.dataset.count = String(this.tiles.size);
    for (const [id, tile] of Object.entries(state.tiles || {})) {
      const t = this.tiles.get(id);
      if (!t) continue;
      if (tile.attempt_id && tile.athlete !== undefined) t.armed(tile);
      if (tile.false_start) t.falseStart({ reason: tile.false_start });
      if (tile.result) t.showResult(tile.result);
    }
  }

  armed(a) { const t = this.tiles.get(a.station_id); if (t) t.armed(a); }
  state(a) { const t = this.tiles.get(a.station_id); if (t) t.state(a); }
  falseStart(f) { const t = this.tiles.get(f.station_id); if (t) t.falseStart(f); }
  result(r) { const t = this.tiles.get(r.station_id); if (t) t.showResult(r); }
  correct(r) { const t = this.tiles.get(r.station_id); if (t) t.correct(r); }
  badges(b, stationId) { const t = this.tiles.get(stationId); if (t) t.badges(b); }
  countdown(id, goAt, random) { const t = this.tiles.get(id); if (t) t.countdown(goAt, random); }
  finish(f) { const t = this.tiles.get(f.station_id); if (t) t.finish(f); }
  frames(stations) { for (const [id, f] of Object.entries(stations || {})) { const t = this.tiles.get(id); if (t) t.frame(f); } }
}
