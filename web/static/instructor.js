// Instructor tablet (docs/instructor.md): sign in with a PIN on a keypad, pick a circuit, check
// members in by tapping names, run the class (interval clock, GO, pause, skip, stop/abort per
// station, STOP ALL), override who runs, and correct results with preset reasons — no keyboard
// needed once class has started. The header's *Wall* opens the wall-board chooser (tablet/wall.js).
//
// REST for setup and corrections (cookie + X-CSRF-Token), Socket.IO control events for running the
// class (acknowledged with the class view). The socket keeps the session it connected with, so it is
// (re)connected after every sign-in. Live updates: class, result, result_deleted, correction, armed,
// attempt, go, frames (acknowledged so the hub sends the next), board (what the walls show).

import { connect } from "./live.js";
import { Api } from "./api.js";
import { $, h, Sheet, toast } from "./tablet/dom.js";
import { SignIn } from "./tablet/signin.js";
import { Home } from "./tablet/home.js";
import { Roster } from "./tablet/roster.js";
import { CircuitsScreen } from "./tablet/circuits.js";
import { CheckinScreen } from "./tablet/checkin.js";
import { RunScreen, DoneScreen } from "./tablet/run.js";
import { ResultsList } from "./tablet/results.js";
import { Correction } from "./tablet/correct.js";
import { WallChooser } from "./tablet/wall.js";

const CLASS_KEY = "sledhub.class";
const ACTIVE = new Set(["READY", "WORK", "TRANSITION", "PAUSED"]);

class Tablet {
  constructor() {
    this.api = new Api();
    this.sheet = new Sheet($("sheet"));
    this.stationNames = new Map();
    this.view = null;
    const name = (id) => this.stationNames.get(id) || id;
    this.correction = new Correction(this.api, this.sheet, name);
    this.results = new ResultsList(name, (r) => this.correction.open(r));
    this.signin = new SignIn(this.api, () => this.signedIn());
    this.home = new Home(this.api, this);
    this.roster = new Roster(this.api, this);
    this.circuits = new CircuitsScreen(this.api, this);
    this.checkin = new CheckinScreen(this.api, this);
    this.run = new RunScreen(this.api, this, this.sheet, this.results);
    this.done = new DoneScreen(this.api, this, this.results);
    this.wall = new WallChooser(this.api, this.sheet, name);
    $("stop-all").addEventListener("click", () => this.stopAll());
    $("open-wall").addEventListener("click", () => this.wall.open());
    this.api.onSignedOut = () => {
      this.sheet.close();
      this.showSignIn();
      toast("Your sign-in ended: sign in again to carry on", "error");
    };
    window.sledhub = this;   // for tests and curious instructors
  }

  screen(name) {
    document.body.dataset.screen = name;
    for (const s of document.querySelectorAll("main > .screen")) s.hidden = s.id !== `screen-${name}`;
    // a sheet belongs to its screen; the Wall sheet (top bar) stays open across screens until sign-out
    const wall = this.sheet.root.dataset.testid === "wall-sheet" && name !== "signin";
    if (this.sheet.isOpen && name !== "run" && name !== "done" && !wall) this.sheet.close();
  }

  async boot() {
    try {
      await this.api.refreshSession();
    } catch (e) {
      toast(`Hub not reachable: ${e.message}`, "error");
    }
    if (this.api.signedIn) await this.signedIn();
    else this.showSignIn();
  }

  showSignIn() {
    this.screen("signin");
    $("who").textContent = "";
    this.signin.show();
  }

  async signedIn() {
    $("who").textContent = this.api.session.user ? this.api.session.user.name : "";
    this.connectSocket();
    try {
      this.stationNames = new Map((await this.api.get("/api/stations")).map((s) => [s.id, s.name]));
      const { class: current } = await this.api.get("/api/classes/current");
      const remembered = localStorage.getItem(CLASS_KEY);
      if (current) return this.showClass(current, true);
      if (remembered) {
        const view = await this.api.get(`/api/classes/${encodeURIComponent(remembered)}`).catch(() => null);
        if (view && view.state === "SETUP") return this.showClass(view, true);
      }
      await this.showHome();
    } catch (e) {
      toast(e.message, "error");
      await this.showHome();
    }
  }

  /** The socket carries the session it connected with: connect it (again) after signing in. */
  connectSocket() {
    if (this.api.socket) {
      this.api.socket.disconnect();
      this.api.socket.connect();
      return;
    }
    this.api.socket = connect({
      connect: () => this.resync(),
      signed_out: () => this.api.sessionEnded(),  // the hub ended this session (and closes the socket)
      hello: (h) => this.run.cards.snapshot(h.attempts),  // a tablet opened mid-heat sees who runs
      class: (v) => this.onClass(v),
      result: (r) => { if (this.results.upsert(r)) { this.correction.refreshed(r); this.run.cards.paint(); } },
      result_deleted: (d) => { this.results.remove(d.id); this.correction.deleted(d.id); },
      correction: (c) => { if (this.view && c.class_id === this.view.id) this.correction.audited(c); },
      armed: (list) => this.run.cards.armed(list),
      attempt: (a) => this.run.cards.attempt(a),
      go: (g) => this.onGo(g),
      board: (sel) => this.wall.heard(sel),
      frames: (payload, ack) => {
        if (typeof ack === "function") ack();  // ready for the next frame
        this.run.cards.frames(payload.stations);
      },
    });
  }

  /** After a (re)connect: fetch the class again (events may have been missed while offline). */
  async resync() {
    if (!this.view) return;
    try {
      const view = await this.api.get(`/api/classes/${encodeURIComponent(this.view.id)}`);
      await this.loadResults(view.id);
      this.showClass(view);
    } catch { /* the banner says we are offline */ }
  }

  onClass(view) {
    if (this.view && view.id === this.view.id) {
      if (view.updated_at < this.view.updated_at) return;  // an older change arriving late
      this.showClass(view);
    } else if (ACTIVE.has(view.state) && document.body.dataset.screen === "home") {
      this.showClass(view, true);  // a class was started elsewhere: follow it
    }
  }

  onGo(g) {
    if (!this.view || !ACTIVE.has(this.view.state)) return;
    const mine = new Set(this.view.circuit.stations.flatMap((cs) => cs.station_ids));
    const signals = Object.entries(g.signals || {}).filter(([sid]) => mine.has(sid)).map(([, t]) => t);
    if (signals.length) this.run.clock.go(Math.min(...signals), g.now_us);
  }

  async loadResults(classId) {
    const list = await this.api.get(`/api/results?class=${encodeURIComponent(classId)}&limit=1000`);
    this.results.load(classId, list);
  }

  /** Show a class on the screen its state calls for. */
  async showClass(view, fresh = false) {
    const changed = !this.view || this.view.id !== view.id;
    if (changed || fresh) {
      localStorage.setItem(CLASS_KEY, view.id);
      await this.loadResults(view.id).catch((e) => toast(e.message, "error"));
    }
    const was = this.view;
    this.view = view;
    $("class-title").textContent = view.name;
    if (view.state === "SETUP") {
      if (changed || fresh || document.body.dataset.screen !== "checkin") {
        this.screen("checkin");
        await this.checkin.show(view);
      } else this.checkin.classView(view);
    } else if (view.state === "DONE") {
      this.run.classView(view, this.stationNames);
      if (!was || was.state !== "DONE" || document.body.dataset.screen !== "done" || changed) {
        this.screen("done");
        this.done.show(view);
        this.addResultsExport(view);
      }
    } else {
      if (document.body.dataset.screen !== "run") {
        this.run.attachResults();
        this.screen("run");
      }
      this.run.classView(view, this.stationNames);
      if (this.run.lateGrid) this.run.lateGrid.classView(view);
    }
  }

  /** After class: the results as CSV (GET /api/classes/{id}/results.csv), next to *New class*. */
  addResultsExport(view) {
    const head = $("screen-done").querySelector(".done-head");
    if (!head || head.querySelector("[data-testid=export-results]")) return;
    head.append(h("a", { class: "button", testid: "export-results", download: "",
      href: `/api/classes/${encodeURIComponent(view.id)}/results.csv` }, "Export results (CSV)"));
  }

  async showHome() {
    this.view = null;
    localStorage.removeItem(CLASS_KEY);
    $("class-title").textContent = "";
    this.screen("home");
    await this.home.show().catch((e) => toast(e.message, "error"));
  }

  async showRoster() {
    this.screen("roster");
    await this.roster.show().catch((e) => toast(e.message, "error"));
  }

  async showCircuits() {
    this.screen("circuits");
    await this.circuits.show().catch((e) => toast(e.message, "error"));
  }

  async openClass(view) { await this.showClass(view, true); }

  async signOut() {
    await this.api.signOut().catch(() => {});
    if (this.api.socket) this.api.socket.disconnect();
    this.view = null;
    this.showSignIn();
  }

  async stopAll() {
    try {
      const r = await this.api.send("POST", "/api/stop-all");
      toast("STOPPED: every station aborted. Resume when ready.", "error");
      if (r.class) this.showClass(r.class);
    } catch (e) { toast(e.message, "error"); }
  }
}

new Tablet().boot();
