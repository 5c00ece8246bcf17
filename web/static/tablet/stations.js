// One card per sled or lane of the circuit: who is up (from the rotation; tap to put someone else
// there), the live attempt (armed, countdown, running time and distance, result, and why a result is
// not OK), who is next, and stop / abort for that station (Abort set apart and confirmed by a second tap).
// Live frames are smoothed as on the wall (``LiveSmoother``, web/static/live.js): within an attempt
// the distance never goes back, a correction eases in, the running clock never goes back.

import { h, confirmTap } from "./dom.js";
import { LiveSmoother } from "../live.js";
import { resultText } from "./results.js";

const ATTEMPT_WORDS = { ARMED: "Armed", COUNTDOWN: "Countdown", HOLDING: "Hold still", READY: "Set",
  RUNNING: "Running", FINISHED: "Finished", FALSE_START: "False start", DNF: "DNF", ABORTED: "Aborted", DQ: "DQ" };
const BEFORE_RUNNING = new Set(["ARMED", "COUNTDOWN", "HOLDING", "READY"]);
const ENTRY_WORDS = { waiting: "Waiting", armed: "Armed", finished: "Finished", aborted: "Aborted", lost: "Stopped" };

export class StationCards {
  /** ``actions``: pick(stationId, slot), stop(stationId), abort(stationId); ``results``: ResultsList. */
  constructor(actions, results) {
    this.actions = actions;
    this.results = results;
    this.root = h("section", { class: "stations", testid: "stations" });
    this.cards = new Map();
    this.live = new Map();   // station id -> {attempt_id, state, elapsed_s, distance_m}
    this.smoothers = new Map();  // station id -> LiveSmoother of its frames
    this.view = null;
  }

  layout(view) {
    const ids = view.circuit.stations.flatMap((cs) => cs.station_ids.map((sid) => [sid, cs.name]));
    const key = ids.map(([sid]) => sid).join(",");
    if (this.root.dataset.key === key) return;
    this.root.dataset.key = key;
    this.cards.clear();
    this.root.replaceChildren(...ids.map(([sid, csName]) => {
      const card = {
        name: h("strong", {}, sid), part: h("span", { class: "muted" }, csName),
        now: h("button", { type: "button", class: "slot now", testid: "slot-now", dataset: { station: sid },
          onclick: () => this.actions.pick(sid, "now") }),
        status: h("div", { class: "status", testid: "station-status", dataset: { station: sid } }),
        why: h("div", { class: "muted", testid: "station-reason", dataset: { station: sid }, hidden: true }),
        next: h("button", { type: "button", class: "slot next", testid: "slot-next", dataset: { station: sid },
          onclick: () => this.actions.pick(sid, "next") }),
        stop: h("button", { type: "button", testid: "station-stop", dataset: { station: sid }, onclick: () => this.actions.stop(sid) }, "Stop"),
        abort: h("button", { type: "button", class: "warn abort", testid: "station-abort", dataset: { station: sid } }, "Abort"),
      };
      // Abort is destructive: set apart from Stop (bottom right of the card) and confirmed by a second tap
      confirmTap(card.abort, "Tap again to abort", () => this.actions.abort(sid));
      card.root = h("article", { class: "station", testid: "station", dataset: { station: sid } },
        h("header", {}, h("div", { class: "names" }, card.name, card.part), card.stop),
        h("div", { class: "up" }, card.now, card.status),
        card.why,
        h("div", { class: "next-row" }, h("span", { class: "slot-label" }, "Next"), card.next, card.abort));
      this.cards.set(sid, card);
      return card.root;
    }));
  }

  classView(view, stationNames) {
    this.view = view;
    this.layout(view);
    const nowEntries = new Map((view.heat || []).map((e) => [e.station_id, e]));
    const sameRound = view.next && view.next.round_no === view.round_no;
    const nextEntries = new Map((view.next ? view.next.entries : []).map((e) => [e.station_id, e]));
    const running = view.state === "WORK" || (view.state === "PAUSED" && view.resume_to === "WORK");
    for (const [sid, c] of this.cards) {
      c.name.textContent = stationNames.get(sid) || sid;
      const e = nowEntries.get(sid);
      c.now.textContent = e ? e.athlete : "— empty —";
      c.now.dataset.memberId = e ? e.member_id : "";
      c.now.disabled = running || view.state === "DONE";
      const n = nextEntries.get(sid);
      c.next.textContent = n ? n.athlete : "—";
      c.next.disabled = !sameRound;
      c.entry = e;
      c.root.dataset.entry = e ? e.status : "none";
    }
    this.paint();
  }

  armed(list) {
    for (const a of list) this.live.set(a.station_id, { attempt_id: a.attempt_id, state: "ARMED" });
    this.paint();
  }

  /** The hub's attempts on (re)connect (``hello``): the truth, unless an event already told us newer. */
  snapshot(list) {
    for (const a of list || []) {
      const cur = this.live.get(a.station_id);
      if (cur && cur.attempt_id === a.attempt_id && (cur.t_us || 0) > (a.t_us || 0)) continue;
      this.live.set(a.station_id, { attempt_id: a.attempt_id, state: a.state, t_us: a.t_us,
        elapsed_s: a.elapsed_s === null ? undefined : a.elapsed_s, distance_m: a.distance_m });
    }
    this.paint();
  }

  attempt(a) {
    const cur = this.live.get(a.station_id) || {};
    this.live.set(a.station_id, { ...cur, attempt_id: a.attempt_id, state: a.state, t_us: a.t_us,
      ...(a.state === "RUNNING" && cur.state !== "RUNNING" ? { since: performance.now(), elapsed_s: 0, distance_m: null } : {}) });
    this.paint();
  }

  frames(stations) {
    for (const [sid, p] of Object.entries(stations || {})) {
      const cur = this.live.get(sid);
      if (!cur || cur.attempt_id !== p.attempt_id) continue;
      const shown = this.smoother(sid).frame(p);
      Object.assign(cur, { elapsed_s: shown.elapsed_s, distance_m: shown.distance_m });
      // live values exist only while it runs: a frame newer than the state we know means RUNNING (a
      // change missed while the page was connecting)
      if (BEFORE_RUNNING.has(cur.state) && p.t_us > (cur.t_us || 0)) Object.assign(cur, { state: "RUNNING", t_us: p.t_us });
    }
    this.paint();
  }

  /** The station's smoother; while a correction eases in it redraws the card on every animation frame. */
  smoother(sid) {
    let s = this.smoothers.get(sid);
    if (!s) {
      s = new LiveSmoother((v) => {
        const cur = this.live.get(sid);
        if (!cur || cur.attempt_id !== v.attempt_id) return;
        Object.assign(cur, { elapsed_s: v.elapsed_s, distance_m: v.distance_m });
        this.paint();
      });
      this.smoothers.set(sid, s);
    }
    return s;
  }

  paint() {
    for (const [sid, c] of this.cards) {
      const e = c.entry;
      const live = this.live.get(sid);
      let text = "";
      let tone = "idle";
      // a result's id is its attempt's id: it may arrive before the class view that names it
      const result = e ? this.results.get(e.result_id) || this.results.get(e.attempt_id)
        || (live && live.attempt_id ? this.results.get(live.attempt_id) : null) : null;
      if (e && (e.status === "finished" || result)) {
        text = result ? resultText(result) : "Finished";
        tone = !result || result.status === "OK" ? "ok" : "bad";
      } else if (e && e.status === "armed" && live && live.attempt_id && live.attempt_id.split("~")[0] === e.attempt_id) {
        text = ATTEMPT_WORDS[live.state] || live.state;
        if (live.state === "RUNNING" && live.elapsed_s !== undefined) {
          text = `${live.elapsed_s.toFixed(1)} s` + (live.distance_m !== null && live.distance_m !== undefined ? ` · ${live.distance_m.toFixed(1)} m` : "");
        }
        tone = live.state === "RUNNING" ? "run" : live.state === "FALSE_START" ? "bad" : "armed";
      } else if (e) {
        text = ENTRY_WORDS[e.status] || e.status;
        tone = e.status === "aborted" || e.status === "lost" ? "warn" : e.status === "armed" ? "armed" : "idle";
      } else {
        text = "";
      }
      c.status.textContent = text;
      c.status.dataset.tone = tone;
      const why = result && result.reason_text ? result.reason_text : "";
      c.status.title = why;
      c.why.textContent = why;  // why it is not OK, in words: "time cap 25 s — stopped at 7.3 m"
      c.why.hidden = !why;
      const inFlight = e && e.status === "armed";
      c.stop.disabled = !(inFlight && live && live.state === "RUNNING");
      c.abort.disabled = !inFlight || !this.view || !["READY", "WORK", "TRANSITION", "PAUSED"].includes(this.view.state);
    }
  }
}
