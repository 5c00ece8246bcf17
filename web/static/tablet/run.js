// The run view: the interval clock, the class controls (GO, pause/resume, skip, re-arm, finish,
// late arrivals), a card per station and the live results. Every button is one tap (Finish takes a
// second tap, and so does Skip during the rest: it starts the next heat at once); what is possible now
// comes from the class view's ``allowed`` list.

import { h, $, toast, confirmTap } from "./dom.js";
import { IntervalClock } from "./clock.js";
import { StationCards } from "./stations.js";
import { CheckinGrid } from "./checkin.js";

/** The second tap's question for Skip during the rest (the class view's pointer is the heat next up):
 * "Start heat 3 now — skip 12 s of rest?", "Start round 2 now — …" when a round begins, "Heat 3 up
 * now — …" on a circuit without auto GO (it only brings the heat up); ``leftS``: rest left, s. */
export function skipQuestion(view, leftS) {
  const heat = view.heat_no === 1 ? `round ${view.round_no}` : `heat ${view.heat_no}`;
  const what = view.circuit && view.circuit.auto_go === false ? `${heat[0].toUpperCase()}${heat.slice(1)} up now` : `Start ${heat} now`;
  const left = leftS === null || leftS === undefined ? "" : ` ${Math.max(1, Math.ceil(leftS - 1e-6))} s of`;
  return `${what} — skip${left} rest?`;
}

export class RunScreen {
  constructor(api, app, sheet, results) {
    this.api = api;
    this.app = app;
    this.sheet = sheet;
    this.results = results;
    this.root = $("screen-run");
    this.view = null;
    this.clock = new IntervalClock();
    this.cards = new StationCards({ pick: (sid, slot) => this.pick(sid, slot), stop: (sid) => this.station("stop", sid),
      abort: (sid) => this.station("abort", sid) }, results);
    const btn = (testid, label, onclick, cls = "") => h("button", { type: "button", class: cls, testid, onclick }, label);
    this.buttons = {
      go: btn("go", "GO", () => this.send("class:go"), "primary go"),
      pause: btn("pause", "Pause", () => this.send("class:pause")),
      resume: btn("resume", "Resume", () => this.send("class:resume"), "primary"),
      skip: btn("skip", "Skip", () => {}),
      arm: btn("arm", "Re-arm", () => this.send("class:arm")),
      late: btn("late-arrivals", "Late arrivals", () => this.lateArrivals()),
      finish: btn("finish", "Finish class", () => {}, "finish"),
    };
    confirmTap(this.buttons.finish, "Tap again to finish", () => this.send("class:finish"));
    // Skip during the rest cuts it short and starts the next heat: confirmed, saying what it will do
    this.skipConfirm = confirmTap(this.buttons.skip, () => skipQuestion(this.view, this.clock.remaining()),
      () => this.send("class:skip"), { when: () => this.view && this.view.state === "TRANSITION" });
    this.side = h("div", { class: "run-side" }, results.root);
    this.root.append(h("div", { class: "run" },
      h("div", { class: "run-main" },
        this.clock.root,
        h("nav", { class: "controls", testid: "controls" }, Object.values(this.buttons)),
        this.cards.root),
      this.side));
  }

  /** The results list is shared with the done view: bring it back here. */
  attachResults() { this.side.append(this.results.root); }

  classView(view, stationNames) {
    this.view = view;
    this.clock.classView(view);
    this.cards.classView(view, stationNames);
    const allowed = new Set(view.allowed);
    const b = this.buttons;
    b.go.disabled = !allowed.has("GO");
    b.pause.hidden = allowed.has("RESUME");
    b.pause.disabled = !allowed.has("PAUSE");
    b.resume.hidden = !allowed.has("RESUME");
    if (view.state !== "TRANSITION" || !allowed.has("SKIP")) this.skipConfirm.disarm();  // the rest is over
    b.skip.disabled = !allowed.has("SKIP");
    const redo = (view.heat || []).some((e) => e.status === "aborted" || e.status === "lost");
    b.arm.hidden = !redo;
    b.arm.disabled = !["READY", "TRANSITION"].includes(view.state);
    b.finish.disabled = !allowed.has("FINISH");
  }

  async send(event, extra = {}) {
    if (!this.view) return null;
    try {
      const view = await this.api.control(event, { class_id: this.view.id, ...extra });
      this.app.showClass(view);
      return view;
    } catch (e) {
      toast(e.message, "error");
      return null;
    }
  }

  station(what, sid) {
    return this.send(what === "stop" ? "class:stop_station" : "class:abort_station", { station_id: sid });
  }

  /** The gym's name of a station (its id only if the hub has no name for it). */
  stationName(sid) { return (this.app.stationNames && this.app.stationNames.get(sid)) || sid; }

  /** Tap a name on a station: choose another checked-in member (or nobody) for that slot. */
  pick(sid, slot) {
    const v = this.view;
    const target = slot === "now" ? { round_no: v.round_no, heat_no: v.heat_no } : { round_no: v.next.round_no, heat_no: v.next.heat_no };
    const entries = slot === "now" ? v.heat : v.next.entries;
    const current = (entries.find((e) => e.station_id === sid) || {}).member_id;
    const where = new Map(entries.map((e) => [e.member_id, e.station_id]));
    const people = v.checked_in.slice().sort((a, b) => a.athlete.localeCompare(b.athlete));
    const choose = async (memberId) => {
      this.sheet.close();
      await this.send("class:assign", { station_id: sid, member_id: memberId, ...target });
    };
    const grid = h("div", { class: "pick-grid", testid: "pick-grid" },
      people.map((p) => h("button", { type: "button", class: p.member_id === current ? "member in" : "member", testid: "pick-member",
        dataset: { memberId: p.member_id }, onclick: () => choose(p.member_id) },
      h("span", { class: "n" }, p.athlete), where.has(p.member_id) ? h("span", { class: "nick" }, `now at ${this.stationName(where.get(p.member_id))}`) : null)),
      h("button", { type: "button", class: "member empty", testid: "pick-nobody", onclick: () => choose(null) }, h("span", { class: "n" }, "Nobody")));
    this.sheet.open(`Who runs at ${this.stationName(sid)}, heat ${target.heat_no}?`, grid, "pick-sheet");
  }

  async lateArrivals() {
    const grid = new CheckinGrid(this.api, this.view.id);
    await grid.load();
    grid.classView(this.view);
    this.lateGrid = grid;
    this.sheet.open("Late arrivals join from the next round", h("div", {}, h("p", { class: "count" }, grid.count, " checked in"), grid.grid),
      "late-sheet", () => { this.lateGrid = null; });
  }
}

export class DoneScreen {
  constructor(api, app, results) {
    this.api = api;
    this.app = app;
    this.results = results;
    this.root = $("screen-done");
  }

  show(view) {
    const rows = [...this.results.byId.values()];
    const ok = rows.filter((r) => r.status === "OK");
    this.root.replaceChildren(h("div", { class: "done" },
      h("div", { class: "done-head" },
        h("div", {}, h("h1", { testid: "done-title" }, `${view.name}: done`),
          h("p", { class: "muted" }, `${view.checked_in_count} members · ${rows.length} results · ${ok.length} timed · corrections still possible`)),
        h("button", { type: "button", class: "primary big", testid: "new-class", onclick: () => this.app.showHome() }, "New class")),
      this.results.root));
  }
}
