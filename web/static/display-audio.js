// Audio cues on the wall: three short countdown beeps and a long GO tone, made with Web Audio (no
// sound files). The hub pushes ``go`` {t_us, now_us, signals: {station: GO time}} the moment the
// instructor (or the class clock) sends GO; the wall schedules the cues for each GO time once. A
// reaction start (random delay) gets no countdown beeps, only the GO tone at its GO.
//
// Browsers only play sound after a user gesture unless started with
// ``--autoplay-policy=no-user-gesture-required`` (the kiosk script passes it; see docs/display.md).
// Without it the display shows a small "sound off" note and unmutes on the first click or key.

const BEEP_HZ = 880, GO_HZ = 1320, BEEP_S = 0.14, GO_S = 0.5;
const LATE_OK_S = 0.35;  // a beep this late still plays (at once); older ones are skipped

export class Cues {
  constructor(hint) {
    this.hint = hint;
    this.ctx = null;
    this.heats = new Map();  // heat key -> go time (performance seconds), to play each heat once
    this.log = [];           // {kind, at_s, heat}: what was scheduled (tests and debugging read it)
    const unlock = () => this.resume();
    addEventListener("pointerdown", unlock);
    addEventListener("keydown", unlock);
  }

  context() {
    if (this.ctx) return this.ctx;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    this.ctx = new Ctx();
    this.ctx.addEventListener("statechange", () => this.showHint());
    this.showHint();
    return this.ctx;
  }

  resume() {
    const ctx = this.context();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  }

  showHint() {
    if (this.hint) this.hint.hidden = !this.ctx || this.ctx.state === "running";
  }

  // Schedule the cues of one GO: {key, go_in_s, beeps: how many countdown beeps (0 for a reaction
  // start)}; ``now_s`` is performance.now() in seconds. The same key is scheduled once.
  countdown(c, now_s = performance.now() / 1000) {
    if (typeof c.go_in_s !== "number" || this.heats.has(c.key)) return [];
    const go = now_s + c.go_in_s;
    this.heats.set(c.key, go);
    if (this.heats.size > 50) this.heats.delete(this.heats.keys().next().value);
    const planned = [];
    for (let k = Math.min(3, c.beeps); k >= 1; k--) {
      if (go - k >= now_s - LATE_OK_S) planned.push({ kind: "beep", at_s: go - k });
    }
    planned.push({ kind: "go", at_s: go });
    for (const p of planned) this.tone(p, now_s, c.key);
    return planned;
  }

  tone(p, now_s, heat) {
    this.log.push({ ...p, heat });
    if (this.log.length > 100) this.log.shift();
    const ctx = this.context();
    if (!ctx) return;
    const when = ctx.currentTime + Math.max(0, p.at_s - now_s);
    const len = p.kind === "go" ? GO_S : BEEP_S;
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = p.kind === "go" ? GO_HZ : BEEP_HZ;
    gain.gain.setValueAtTime(0.0001, when);
    gain.gain.exponentialRampToValueAtTime(0.35, when + 0.01);
    gain.gain.setValueAtTime(0.35, when + len - 0.04);
    gain.gain.exponentialRampToValueAtTime(0.0001, when + len);
    osc.connect(gain).connect(ctx.destination);
    osc.start(when);
    osc.stop(when + len + 0.02);
  }
}
