// Circuits on the tablet (instructors and admins): the saved circuits with Edit, Duplicate and Delete
// (two taps), a new circuit from scratch or from a warm-up template (GET /api/circuits/templates), and
// the editor (circuit-editor.js). Docs: docs/instructor.md, "Building a circuit".

import { h, $, toast, confirmTap } from "./dom.js";
import { CircuitEditor, toDraft } from "./circuit-editor.js";

/** One line saying what a circuit is: rounds, intervals, stations. */
export function circuitLine(c) {
  const parts = c.stations.map((s) => `${s.name} ×${s.station_ids.length}`).join(" · ");
  return `${c.rounds} round${c.rounds === 1 ? "" : "s"} · ${c.work_s}/${c.rest_s} s · ${parts}`;
}

export class CircuitsScreen {
  /** ``app``: showHome() */
  constructor(api, app) {
    this.api = api;
    this.app = app;
    this.root = $("screen-circuits");
    this.stations = [];
  }

  async show() {
    const [circuits, templates, stations] = await Promise.all([this.api.get("/api/circuits"),
      this.api.get("/api/circuits/templates"), this.api.get("/api/stations")]);
    this.stations = stations;
    const blank = { name: "", stations: [] };
    this.root.replaceChildren(h("div", { class: "circuits" },
      h("div", { class: "home-head" },
        h("button", { type: "button", testid: "circuits-back", onclick: () => this.app.showHome() }, "‹ Back"),
        h("h1", {}, "Circuits"),
        h("button", { type: "button", class: "primary", testid: "circuit-new", onclick: () => this.edit(blank, null) }, "+ New circuit")),
      h("section", {},
        h("h2", {}, "Saved"),
        circuits.length ? h("ul", { class: "circuit-list", testid: "circuit-list" }, circuits.map((c) => this.row(c)))
          : h("p", { class: "muted", testid: "no-circuit" }, "No circuit saved yet: start from a template or a new one.")),
      h("section", {},
        h("h2", {}, "Start from a warm-up template"),
        templates.length ? h("div", { class: "choices", testid: "templates" }, templates.map((t) => h("button", {
          type: "button", class: "choice", testid: "template", dataset: { key: t.key },
          onclick: () => this.edit(t.circuit, null) }, h("strong", {}, t.title), h("span", {}, t.why))))
          : h("p", { class: "note" }, "No sleds or lanes yet: add stations on the setup page first."))));
  }

  row(c) {
    const del = h("button", { type: "button", class: "warn", testid: "circuit-delete" }, "Delete");
    confirmTap(del, "Tap again to delete", () => this.remove(c));
    return h("li", { class: "circuit-row", testid: "circuit-row", dataset: { circuitId: c.id } },
      h("div", { class: "what" }, h("strong", { class: "circuit-title" }, c.name), h("span", { class: "muted" }, circuitLine(c))),
      h("div", { class: "row-actions" },
        h("button", { type: "button", testid: "circuit-edit", onclick: () => this.edit(c, c.id) }, "Edit"),
        h("button", { type: "button", testid: "circuit-duplicate", onclick: () => this.duplicate(c) }, "Duplicate"),
        del));
  }

  edit(circuit, id) {
    const editor = new CircuitEditor(this.api, this.stations, toDraft(circuit), id, () => this.reload());
    this.root.replaceChildren(editor.element());
    this.root.scrollIntoView();
  }

  async duplicate(c) {
    try {
      const copy = await this.api.send("POST", `/api/circuits/${encodeURIComponent(c.id)}/duplicate`);
      toast(`Copied as ${copy.name}`);
      await this.show();
    } catch (e) { toast(e.message, "error"); }
  }

  async remove(c) {
    try {
      await this.api.send("DELETE", `/api/circuits/${encodeURIComponent(c.id)}`);
      toast(`Deleted: ${c.name}`);
      await this.show();
    } catch (e) { toast(e.message, "error"); }
  }

  reload() { this.show().catch((e) => toast(e.message, "error")); }
}
