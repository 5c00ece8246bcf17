// Shared by every page: the Socket.IO connection (served locally from /vendor), the offline banner
// and formatting helpers. The Socket.IO client reconnects by itself after a hub restart or Wi-Fi drop.

export function connect(handlers) {
  // eslint-disable-next-line no-undef
  const socket = io({ transports: ["websocket"], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  const banner = document.getElementById("offline");
  socket.on("connect", () => { if (banner) banner.classList.remove("show"); document.body.dataset.online = "1"; });
  socket.on("disconnect", (reason) => {
    if (banner) banner.classList.add("show");
    document.body.dataset.online = "0";
    // The hub closes a socket only when the session it was made with ended: come back as a display.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.io.on("reconnect_attempt", () => { if (banner) banner.classList.add("show"); });
  for (const [event, fn] of Object.entries(handlers)) {
    socket.on(event, fn);
  }
  return socket;
}

export function fmtTime(s) {
  if (s === null || s === undefined) return "—";
  return `${s.toFixed(2)} s`;
}

export function fmtClock(s) {
  if (s === null || s === undefined || s < 0) return "--:--";
  const m = Math.floor(s / 60), r = Math.floor(s % 60);
  return `${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}

export function statusText(r) {
  switch (r.status) {
    case "OK": return fmtTime(r.time_s);
    case "FALSE_START": return "FALSE START";
    case "DNF": return "DNF";
    case "DQ": return "DQ";
    case "ABORTED": return "ABORTED";
    default: return r.status;
  }
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("data")) e.setAttribute(k.replace(/[A-Z]/g, c => "-" + c.toLowerCase()), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// Live values of one tile, from the hub's `frames` (docs/display.md, "Live data"). A frame shows the
// newest samples; a value can later be revised (a reordered sample, the rest position the engine
// confirmed). Within an attempt the distance never goes back on the wall: a lower value holds the
// shown one until the real one passes it, and a jump further than the sled could have moved since the
// last frame eases in over `easeMs` instead of snapping. Normal progress is shown at once (no lag); the
// running clock never goes back either. Force, speed and power are shown as measured.
// `redraw(values)` is called on every animation frame while a correction eases in.
export class LiveSmoother {
  constructor(redraw = () => {}, { easeMs = 250, now = () => performance.now(), raf = (fn) => requestAnimationFrame(fn) } = {}) {
    this.redraw = redraw;
    this.easeMs = easeMs;
    this.now = now;
    this.raf = raf;
    this.reset();
  }

  reset() {
    this.attempt = undefined;
    this.raw = null;          // the last frame as received
    this.at = 0;              // when it came (ms)
    this.offset = 0;          // shown distance − raw distance at `at`; decays to 0 over easeMs
    this.held = null;         // the largest distance shown in this attempt
    this.elapsed = null;      // the largest running clock shown in this attempt
    this.animating = false;
  }

  // the frame `f` as it should be drawn now
  frame(f) {
    const t = this.now();
    if (f.attempt_id !== this.attempt) {
      this.reset();
      this.attempt = f.attempt_id;
    }
    const d = typeof f.distance_m === "number" ? f.distance_m : null;
    if (d !== null && this.held !== null) {
      const shown = this.distanceAt(t);
      const dt = this.raw ? Math.max(0, t - this.at) / 1000 : 0;
      const speed = Math.abs(typeof f.velocity_m_s === "number" ? f.velocity_m_s : 0);
      const reach = shown + 2 * Math.max(speed, 1) * Math.max(dt, 0.05) + 0.02;  // how far it could have got
      this.offset = d < shown || d > reach ? shown - d : 0;
    } else {
      this.offset = 0;
    }
    this.raw = f;
    this.at = t;
    if (typeof f.elapsed_s === "number") this.elapsed = Math.max(this.elapsed ?? f.elapsed_s, f.elapsed_s);
    const v = this.values(t);
    if (this.offset !== 0 && !this.animating) this.animate();
    return v;
  }

  // the distance to show at time t (ms): the raw one plus what is left of the correction, never less
  // than what was shown before
  distanceAt(t) {
    const f = this.raw;
    if (!f || typeof f.distance_m !== "number") return this.held;
    const left = this.offset * Math.max(0, 1 - (t - this.at) / this.easeMs);
    return Math.max(this.held ?? -Infinity, f.distance_m + left);
  }

  values(t = this.now()) {
    const f = this.raw || {};
    const d = this.distanceAt(t);
    if (typeof d === "number") this.held = d;
    return { ...f, distance_m: d ?? f.distance_m, elapsed_s: this.elapsed ?? f.elapsed_s };
  }

  get easing() {
    return this.offset !== 0 && this.now() - this.at < this.easeMs;
  }

  animate() {
    this.animating = true;
    this.raf(() => {
      const attempt = this.attempt;
      this.animating = false;
      if (attempt !== this.attempt || !this.raw) return;
      const easing = this.easing;
      this.redraw(this.values());
      if (easing) this.animate();
    });
  }
}
