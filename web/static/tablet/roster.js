// The roster (before class; typing is fine here): add walk-ins, change wall nicknames, opt out of
// leaderboards; admins import and export the roster as CSV (columns name,nickname,opt_out).

import { h, $, toast } from "./dom.js";

export class Roster {
  constructor(api, app) {
    this.api = api;
    this.app = app;
    this.root = $("screen-roster");
    this.members = [];
  }

  async show() {
    this.members = await this.api.get("/api/members");
    this.render();
  }

  render() {
    const name = h("input", { type: "text", placeholder: "Name", testid: "member-name", "aria-label": "Name", required: true });
    const nick = h("input", { type: "text", placeholder: "Nickname on the wall", maxlength: "24", testid: "member-nickname",
      "aria-label": "Nickname on the wall" });
    const optOut = h("input", { type: "checkbox", testid: "member-optout" });
    const add = h("form", { class: "add-member", testid: "add-member", onsubmit: (e) => {
      e.preventDefault();
      this.add(name.value, nick.value, optOut.checked).then((ok) => { if (ok) { name.value = ""; nick.value = ""; optOut.checked = false; name.focus(); } });
    } }, name, nick, h("label", { class: "check" }, optOut, "Off leaderboards"), h("button", { class: "primary" }, "Add"));
    const admin = this.api.isAdmin ? h("div", { class: "csv" },
      h("a", { class: "button", href: "/api/members/export", download: "sledhub-roster.csv", testid: "roster-export" }, "Export CSV"),
      h("label", { class: "button" }, "Import CSV",
        h("input", { type: "file", accept: ".csv,text/csv", hidden: true, testid: "roster-import", onchange: (e) => this.importCsv(e.target) })))
      : h("p", { class: "muted" }, "CSV import and export: sign in as an admin.");
    this.root.replaceChildren(h("div", { class: "roster" },
      h("div", { class: "home-head" },
        h("button", { type: "button", testid: "roster-back", onclick: () => this.app.showHome() }, "‹ Back"),
        h("h1", {}, `Roster (${this.members.length})`), admin),
      add,
      h("ul", { class: "members", testid: "roster-list" }, this.members.map((m) => this.row(m)))));
  }

  row(m) {
    const nick = h("input", { type: "text", value: m.nickname, maxlength: "24", placeholder: m.name, "aria-label": `Nickname of ${m.name}` });
    nick.addEventListener("change", () => this.patch(m, { nickname: nick.value.trim() }));
    const opt = h("button", { type: "button", class: m.opt_out ? "toggle on" : "toggle", testid: "optout", "aria-pressed": String(m.opt_out),
      onclick: () => this.patch(m, { opt_out: !m.opt_out }) }, m.opt_out ? "Off boards" : "On boards");
    return h("li", { testid: "roster-member", dataset: { memberId: m.id } }, h("span", { class: "who" }, m.name), nick, opt);
  }

  async add(name, nickname, optOut) {
    try {
      await this.api.send("POST", "/api/members", { name: name.trim(), nickname: nickname.trim(), opt_out: optOut });
      toast(`${name.trim()} added`);
      await this.show();
      return true;
    } catch (e) { toast(e.message, "error"); return false; }
  }

  async patch(member, change) {
    try {
      const m = await this.api.send("PATCH", `/api/members/${member.id}`, change);
      Object.assign(member, m);
      this.render();
    } catch (e) { toast(e.message, "error"); }
  }

  async importCsv(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const r = await this.api.send("POST", "/api/members/import", await file.text(), "text/csv");
      toast(`Imported: ${r.created} new, ${r.updated} updated`);
      await this.show();
    } catch (e) { toast(e.message, "error"); }
    input.value = "";
  }
}
