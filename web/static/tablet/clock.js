// The class's one interval clock, counted down locally from the last class view (the hub sends a
// view on every change; between them the tablet counts on its own), and the GO countdown overlay.

import { h } from "./dom.js";

const PHASE = { SETUP: "Check-in", READY: "Ready — waiting for GO", WORK: "Work", TRANSITION: "Rest — next up",
  PAUSED: "Paused", DONE: "Done" };

export function fmtInterval(s) {
  if (s === null || s === undefined || !isFinite(s)) return "--:--";
  const whole = Math.ceil(Math.max(0, s) - 1e-6);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

export class IntervalClock {
  constructor() {
    this.phase = h("div", { class: "phase", testid: "phase" }, "—");
    this.where = h("div", { class: "where", testid: "round" }, "");
    this.time = h("div", { class: "time", testid: "class-clock" }, "--:--");
    this.bar = h("div", { class: "bar-fill" });
    this.overlay = h("div", { class: "countdown", testid: "countdown", hidden: true });
    this.root = h("section", { class: "clock", testid: "interval-clock" },
      h("div", { class: "labels" }, this.phase, this.where), this.time, h("div", { class: "bar" }, this.bar), this.overlay);
    this.base = null;
    this.goAt = null;      // performance.now() ms of the GO signal
    this.timer = setInterval(() => this.tick(), 100);
  }

  classView(view) {
    const c = view.clock;
    this.base = { ...c, at: performance.now(), state: view.state };
    const label = view.state === "PAUSED" ? `Paused (${PHASE[view.resume_to] || view.resume_to || ""})` : PHASE[view.state];
    this.phase.textContent = label || view.state;
    this.root.dataset.state = view.state;
    this.where.textContent = view.round_no
      ? `Round ${view.round_no} of ${view.rounds_total}\nHeat ${view.heat_no} of ${view.heats_in_round}` : "";
    if (view.state === "WORK" && c.countdown_remaining_s > 0 && this.goAt === null) {
      this.goAt = performance.now() + c.countdown_remaining_s * 1000;
    }
    if (view.state !== "WORK") this.goAt = null;
    this.tick();
  }

  /** The hub's ``go`` event: the GO-signal time of each station (hub µs) and the hub's now. */
  go(signalUs, nowUs) {
    this.goAt = performance.now() + (signalUs - nowUs) / 1000;
    this.tick();
  }

  remaining() {
    const b = this.base;
    if (!b) return null;
    if (!b.running) return b.duration_s ? b.remaining_s : null;
    return Math.max(0, b.remaining_s - (performance.now() - b.at) / 1000);
  }

  tick() {
    const left = this.remaining();
    this.time.textContent = fmtInterval(left);
    const b = this.base;
    const frac = b && b.duration_s ? Math.max(0, Math.min(1, (left ?? 0) / b.duration_s)) : 0;
    this.bar.style.width = `${(frac * 100).toFixed(1)}%`;
    const toGo = this.goAt === null ? null : (this.goAt - performance.now()) / 1000;
    if (toGo !== null && toGo > -0.9 && b && b.state === "WORK") {
      this.overlay.hidden = false;
      this.overlay.textContent = toGo > 0 ? String(Math.ceil(toGo)) : "GO!";
      this.overlay.dataset.go = String(toGo <= 0);
    } else {
      this.overlay.hidden = true;
    }
  }
}
