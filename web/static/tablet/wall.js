// The wall-board chooser (docs/instructor.md, "The wall"): a sheet that says what the walls show now
// (GET /api/display/board) and sets it with one tap (POST /api/display/board): one board (class
// overall, a station today, personal bests, records, most improved, or — on a hub in a chain — a chain
// board per drill, this month or all time) or every board in turn, so many seconds each. Every wall
// follows the hub's ``board`` push; so does this sheet when another tablet changes the choice.

import { h, toast } from "./dom.js";

const BOARD_NAMES = { class: "Class overall", pbs: "Personal bests", records: "Records", improved: "Most improved" };
const DRILL_NAMES = { sled: "Reverse sled pull", lane: "Backward shuffle" };
const PERIOD_NAMES = { month: "this month", all: "all time" };
const ROTATE_S = [8, 12, 20, 30];

/** ``"Reverse sled pull · 10 m"`` for ``"sled:10 m"`` (as the wall titles it). */
export function drillLabel(drill) {
  if (!drill) return "first shared drill";
  const i = drill.indexOf(":");
  const kind = i < 0 ? drill : drill.slice(0, i), course = i < 0 ? "" : drill.slice(i + 1);
  const name = DRILL_NAMES[kind] || kind;
  return course ? `${name} · ${course}` : name;
}

/** One board in words: "Records", "Sled 1 today", "Chain · Reverse sled pull · 10 m · this month". */
export function boardLabel(choice, stationName) {
  if (choice.board === "station") return `${stationName(choice.station)} today`;
  if (choice.board === "chain") return `Chain · ${drillLabel(choice.drill)} · ${PERIOD_NAMES[choice.period] || choice.period}`;
  return BOARD_NAMES[choice.board] || choice.board;
}

/** What the walls show, in one line. */
export function selectionLabel(sel, stationName) {
  const boards = sel.boards || [];
  if (sel.mode === "fixed" && boards.length) return boardLabel(boards[0], stationName);
  return `every board in turn, ${sel.rotate_s} s each: ${boards.map((c) => boardLabel(c, stationName)).join(" · ")}`;
}

const same = (a, b) => a.board === b.board && (a.station || null) === (b.station || null)
  && (a.drill || null) === (b.drill || null) && (a.period || null) === (b.period || null);

export class WallChooser {
  /** ``stationName(id)``: the gym's name of a station. */
  constructor(api, sheet, stationName) {
    this.api = api;
    this.sheet = sheet;
    this.stationName = stationName;
    this.sel = null;
    this.stations = [];
    this.drills = null;   // null: this hub is not in a chain (no chain boards to offer)
    this.body = null;     // the sheet's body while it is open
  }

  async open() {
    try {
      const [sel, stations, drills] = await Promise.all([this.api.get("/api/display/board"), this.api.get("/api/stations"),
        this.api.get("/api/chain/drills").then((d) => d.drills, (e) => { if (e.status === 404) return null; throw e; })]);
      Object.assign(this, { sel, stations, drills });
    } catch (e) {
      toast(e.message, "error");
      return;
    }
    this.body = h("div", { class: "wall", testid: "wall-chooser" });
    this.render();
    this.sheet.open("The wall", this.body, "wall-sheet", () => { this.body = null; });
  }

  /** The hub's ``board`` push (this tablet's choice or another's). */
  heard(sel) {
    this.sel = sel;
    if (this.body) this.render();
  }

  async choose(body) {
    try {
      const sel = await this.api.send("POST", "/api/display/board", body);
      this.heard(sel);
      toast(`The walls show ${selectionLabel(sel, this.stationName)}`);
    } catch (e) { toast(e.message, "error"); }
  }

  render() {
    const sel = this.sel;
    const fixed = sel.mode === "fixed" && sel.boards.length ? sel.boards[0] : null;
    const button = (choice) => {
      const on = fixed !== null && same(fixed, choice);
      return h("button", { type: "button", class: on ? "wall-choice in" : "wall-choice", testid: "wall-choice", "aria-pressed": String(on),
        dataset: { board: choice.board, station: choice.station || "", drill: choice.drill || "", period: choice.period || "" },
        onclick: () => this.choose(choice) }, boardLabel(choice, this.stationName));
    };
    const one = [{ board: "class" }, ...this.stations.map((s) => ({ board: "station", station: s.id })),
      { board: "pbs" }, { board: "records" }, { board: "improved" }];
    const rotate = ROTATE_S.map((s) => {
      const on = sel.mode === "rotate" && sel.rotate_s === s;
      return h("button", { type: "button", class: on ? "wall-choice in" : "wall-choice", testid: "wall-rotate", "aria-pressed": String(on),
        dataset: { rotateS: String(s) }, onclick: () => this.choose({ board: "rotate", rotate_s: s }) }, `${s} s each`);
    });
    this.body.replaceChildren(...[
      h("p", { class: "wall-now", testid: "wall-now" }, h("span", { class: "muted" }, "Now on the walls: "), selectionLabel(sel, this.stationName)),
      h("h3", {}, "Every board in turn"),
      h("div", { class: "wall-grid" }, rotate),
      h("h3", {}, "One board"),
      h("div", { class: "wall-grid" }, one.map(button)),
      this.drills === null ? null : this.chainSection(button)].filter(Boolean));
  }

  /** Chain boards (all the chain's clubs): each drill shared so far, this month or all time. */
  chainSection(button) {
    const drills = this.drills.length ? this.drills : [null];
    return h("section", { testid: "wall-chain" },
      h("h3", {}, "Chain — every club"),
      this.drills.length ? null : h("p", { class: "muted" }, "No results shared by the chain yet: the board fills as they come."),
      h("div", { class: "wall-grid" }, drills.flatMap((drill) => ["month", "all"].map((period) =>
        button({ board: "chain", drill: drill || undefined, period })))));
  }
}
