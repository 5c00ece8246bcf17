// Before class: pick a circuit (or continue a class in check-in), build circuits, manage the roster,
// sign out. With no circuit saved, a one-tap "quick warm-up" made from every station.

import { h, $, toast, confirmTap } from "./dom.js";

/** A circuit using every station: sleds side by side, lanes side by side (docs/api.md defaults). */
export function quickWarmUp(stations) {
  const of = (kind) => stations.filter((s) => s.kind === kind).map((s) => s.id);
  const parts = [];
  if (of("sled").length) parts.push({ name: "Reverse sled pull", kind: "sled", station_ids: of("sled") });
  if (of("lane").length) parts.push({ name: "Backward shuffle", kind: "lane", station_ids: of("lane") });
  return { name: "Quick warm-up", stations: parts, rounds: Math.max(parts.length, 1) };
}

function circuitLine(c) {
  const lanes = c.stations.map((s) => `${s.name} ×${s.station_ids.length}`).join(" · ");
  return `${c.rounds} round${c.rounds === 1 ? "" : "s"} · ${c.work_s}/${c.rest_s} s · ${lanes}`;
}

export class Home {
  /** ``app``: openClass(view), showRoster(), showCircuits(), signOut() */
  constructor(api, app) {
    this.api = api;
    this.app = app;
    this.root = $("screen-home");
  }

  async show() {
    const [circuits, classes, demo] = await Promise.all([this.api.get("/api/circuits"), this.api.get("/api/classes?limit=20"),
      this.api.get("/api/demo").catch(() => null)]);
    const open = classes.filter((c) => c.state === "SETUP");
    const signOut = h("button", { type: "button", testid: "sign-out" }, "Sign out");
    confirmTap(signOut, "Tap again to sign out", () => this.app.signOut());
    this.root.replaceChildren(h("div", { class: "home" },
      h("div", { class: "home-head" },
        h("h1", {}, `Hi ${this.api.session.user ? this.api.session.user.name : ""}`),
        h("button", { type: "button", testid: "open-circuits", onclick: () => this.app.showCircuits() }, "Circuits"),
        h("button", { type: "button", testid: "open-roster", onclick: () => this.app.showRoster() }, "Roster"),
        signOut),
      open.length ? h("section", {},
        h("h2", {}, "Continue check-in"),
        h("div", { class: "choices" }, open.map((c) => h("button", { type: "button", class: "choice", testid: "open-class",
          onclick: () => this.openClass(c.id) }, h("strong", {}, c.name), h("span", {}, `${c.checked_in_count} checked in`))))) : null,
      h("section", {},
        h("h2", {}, "New class: pick a circuit"),
        circuits.length ? h("div", { class: "choices", testid: "circuits" }, circuits.map((c) => h("button", {
          type: "button", class: "choice", testid: "circuit", dataset: { circuitId: c.id }, onclick: () => this.create(c) },
          h("strong", {}, c.name), h("span", {}, circuitLine(c)))))
          : this.noCircuit()),
      demo ? this.demoSection(demo) : null));
  }

  /** On a demo hub: the demo's own self-running class (it uses the same stations: stop it before
   * running a class from here). */
  demoSection(demo) {
    const act = (what) => this.api.send("POST", `/api/demo/${what}`).then(() => this.show()).catch((e) => toast(e.message, "error"));
    return h("section", { class: "demo", testid: "demo-class" },
      h("h2", {}, "Demo class ", h("span", { class: "muted" }, demo.running ? `— running: ${demo.phase_label}` : "— stopped")),
      h("p", { class: "muted" }, "The demo runs a class by itself on the simulated stations. Stop it before running a class from this tablet."),
      h("div", { class: "csv" },
        h("button", { type: "button", testid: "demo-start", disabled: demo.running, onclick: () => act("start") }, "Start demo class"),
        h("button", { type: "button", class: "warn", testid: "demo-stop", disabled: !demo.running, onclick: () => act("stop") }, "Stop demo class")));
  }

  noCircuit() {
    return h("div", { class: "choices" }, h("button", { type: "button", class: "choice primary", testid: "quick-warmup",
      onclick: () => this.quick() }, h("strong", {}, "Quick warm-up"), h("span", {}, "every sled and lane, default intervals")),
    h("button", { type: "button", class: "choice", testid: "build-circuit", onclick: () => this.app.showCircuits() },
      h("strong", {}, "Build a circuit"), h("span", {}, "from a warm-up template or from scratch")));
  }

  async quick() {
    try {
      const stations = await this.api.get("/api/stations");
      const c = await this.api.send("POST", "/api/circuits", quickWarmUp(stations));
      await this.create(c);
    } catch (e) { toast(e.message, "error"); }
  }

  async create(circuit) {
    try {
      const view = await this.api.send("POST", "/api/classes", { circuit_id: circuit.id });
      this.app.openClass(view);
    } catch (e) { toast(e.message, "error"); }
  }

  async openClass(classId) {
    try { this.app.openClass(await this.api.get(`/api/classes/${classId}`)); } catch (e) { toast(e.message, "error"); }
  }
}
