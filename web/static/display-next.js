// The wall's "Next up" panel: the heat that starts next — who goes to which station — from
// ``next_up`` in ``display:state`` (wall names; "Member" for a member who opted out). Hidden when no
// class runs or no heat follows.

import { el } from "./live.js";

export class NextUp {
  constructor({ root, title, list }) {
    this.e = { root, title, list };
    this.shown = null;
  }

  load(next) {
    const { root, title, list } = this.e;
    this.shown = next || null;
    root.hidden = !next || !(next.entries || []).length;
    if (root.hidden) { list.replaceChildren(); return; }
    title.textContent = `Next up · round ${next.round_no} · heat ${next.heat_no}`;
    list.replaceChildren(...next.entries.map((e) => el("li", { dataTestid: "next-entry", dataStation: e.station_id || "" },
      el("span", { class: "where" }, e.station_name || e.station_id || ""),
      el("span", { class: `who${e.hidden ? " hidden-member" : ""}` }, e.athlete || "—"))));
  }
}
