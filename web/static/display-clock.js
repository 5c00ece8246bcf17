// The class clock in the wall's header: phase (work, rest, ...), round, and a countdown of the current
// interval. A running class (``class`` events, from the instructor's tablet) wins over the demo class
// (``demo`` events). Both send the remaining time when something changes; the wall counts down locally.
// After a class the header says it ended (until the next class, or the demo class running again);
// a demo class that stepped aside leaves nothing behind.

import { fmtClock } from "./live.js";

const ACTIVE = new Set(["READY", "WORK", "TRANSITION", "PAUSED"]);

function classPhase(c) {
  const clock = c.clock || {};
  const phase = c.state === "PAUSED" ? "PAUSED" : (clock.phase || c.state);
  if (phase === "PAUSED") return { label: "Paused", tone: "paused" };
  if (phase === "READY") return { label: "Get ready", tone: "ready" };
  if (phase === "TRANSITION") return { label: "Rest · change stations", tone: "rest" };
  if (phase === "WORK") return { label: "Work", tone: "work" };
  return { label: phase || "", tone: "idle" };
}

const DEMO_TONES = { idle: "idle", ready: "ready", work: "work", rest: "rest" };

export class ClassClock {
  constructor({ phase, round, clock }) {
    this.el = { phase, round, clock };
    this.cls = null;   // {view, at}
    this.demoState = null;  // {state, at}
    this.ended = null;      // {name} of the class that ended
    setInterval(() => this.render(), 200);
  }

  load(state) {
    this.ended = state.ended_class || null;
    this.classView(state.class);
    this.demo(state.demo || null);
  }

  classView(view) {
    this.cls = view && ACTIVE.has(view.state) ? { view, at: performance.now() } : null;
    if (this.cls) this.ended = null;
    else if (view && view.state === "DONE") this.ended = { name: view.name || "" };
    this.render();
  }

  demoRunning() {
    const d = this.demoState && this.demoState.state;
    return Boolean(d && d.running && d.phase !== "idle");
  }

  demo(d) {
    this.demoState = d ? { state: d, at: performance.now() } : null;
    this.render();
  }

  render() {
    let label = "Waiting for class", tone = "idle", round = "", left = null;
    const since = (at) => (performance.now() - at) / 1000;
    if (this.cls) {
      const v = this.cls.view, clock = v.clock || {};
      ({ label, tone } = classPhase(v));
      const running = v.state !== "PAUSED" && clock.running !== false;
      left = typeof clock.remaining_s === "number" ? clock.remaining_s - (running ? since(this.cls.at) : 0) : null;
      const countdown = (clock.countdown_remaining_s || 0) - (running ? since(this.cls.at) : 0);
      if (tone === "work" && countdown > 0) { label = "Get set"; tone = "ready"; }
      round = v.round_no ? `Round ${v.round_no}/${v.rounds_total || "?"}` : "";
      if (v.heats_in_round > 1) round += ` · heat ${v.heat_no}/${v.heats_in_round}`;
    } else if (this.demoRunning()) {
      const d = this.demoState.state;
      this.ended = null;
      label = d.phase_label || d.phase || label;
      tone = DEMO_TONES[d.phase] || "idle";
      left = typeof d.remaining_s === "number" ? d.remaining_s - since(this.demoState.at) : null;
      round = "Demo class";
    } else if (this.ended) {
      label = "Class ended";
      round = this.ended.name;
    }
    this.el.phase.textContent = label;
    this.el.round.textContent = round;
    this.el.clock.textContent = left === null ? "--:--" : fmtClock(Math.max(0, Math.ceil(left - 1e-6)));
    this.el.clock.dataset.tone = tone;
    this.el.phase.dataset.tone = tone;
  }
}
