// Check-in: every member as a big name button, alphabetical, no search: tap to check in, tap again
// to check out. Taps are answered at once on screen (pending) and confirmed by the hub's class view,
// so 30 members take well under 30 s. The same grid takes late arrivals during class (a sheet).

import { h, $, toast } from "./dom.js";

export class CheckinGrid {
  constructor(api, classId) {
    this.api = api;
    this.classId = classId;
    this.members = [];
    this.checked = new Set();
    this.pending = new Map();   // member id -> true (checking in) / false (checking out)
    this.count = h("strong", { testid: "checkin-count" }, "0");
    this.grid = h("div", { class: "checkin-grid", testid: "checkin-grid" });
    this.onChange = () => {};
  }

  async load() {
    this.members = (await this.api.get("/api/members"))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" }));
    this.render();
  }

  /** The class view changed (ack or broadcast). */
  classView(view) {
    this.checked = new Set(view.checked_in.map((p) => p.member_id));
    this.render();
  }

  isIn(id) { return this.pending.has(id) ? this.pending.get(id) : this.checked.has(id); }

  /** Buttons are built once and updated in place, so a tap never lands on a replaced element. */
  render() {
    if (this.buttons === undefined || this.buttons.size !== this.members.length) {
      this.buttons = new Map(this.members.map((m) => [m.id, h("button", { type: "button", class: "member",
        testid: "checkin-member", dataset: { memberId: m.id }, onclick: () => this.tap(m) },
      h("span", { class: "n" }, m.name), m.nickname ? h("span", { class: "nick" }, m.nickname) : null)]));
      this.grid.replaceChildren(...this.buttons.values());
    }
    let n = 0;
    for (const [id, b] of this.buttons) {
      const on = this.isIn(id);
      n += on ? 1 : 0;
      b.classList.toggle("in", on);
      b.classList.toggle("pending", this.pending.has(id));
      b.dataset.checked = String(on);
      b.setAttribute("aria-pressed", String(on));
    }
    this.count.textContent = String(n);
    this.onChange(n);
  }

  async tap(m) {
    const want = !this.isIn(m.id);
    this.pending.set(m.id, want);
    this.render();
    try {
      const view = want
        ? await this.api.control("class:checkin", { class_id: this.classId, member_ids: [m.id] })
        : await this.api.control("class:checkout", { class_id: this.classId, member_id: m.id });
      this.pending.delete(m.id);
      this.classView(view);
    } catch (e) {
      this.pending.delete(m.id);
      this.render();
      toast(`${m.name}: ${e.message}`, "error");
    }
  }
}

export class CheckinScreen {
  constructor(api, app) {
    this.api = api;
    this.app = app;
    this.root = $("screen-checkin");
    this.grid = null;
  }

  async show(view) {
    this.grid = new CheckinGrid(this.api, view.id);
    await this.grid.load();
    const start = h("button", { type: "button", class: "primary big", testid: "start-class", onclick: () => this.start(view.id) }, "Start class ▶");
    this.grid.onChange = (n) => { start.disabled = n === 0 || this.grid.pending.size > 0; };
    this.grid.classView(view);
    this.root.replaceChildren(h("div", { class: "checkin" },
      h("div", { class: "checkin-head" },
        h("button", { type: "button", testid: "checkin-back", onclick: () => this.app.showHome() }, "‹ Classes"),
        h("div", { class: "title" }, h("h1", {}, "Check-in"), h("span", { class: "muted" }, view.circuit.name)),
        h("div", { class: "count" }, this.grid.count, h("span", {}, " checked in")),
        start),
      this.grid.members.length ? this.grid.grid
        : h("p", { class: "note" }, "The roster is empty: add members on the Roster page first.")));
  }

  classView(view) { if (this.grid && view.id === this.grid.classId) this.grid.classView(view); }

  async start(classId) {
    try { this.app.showClass(await this.api.control("class:start", { class_id: classId })); } catch (e) { toast(e.message, "error"); }
  }
}
