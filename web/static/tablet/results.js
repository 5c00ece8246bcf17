// Live results of the class on the tablet: newest first, corrected ones marked, a result that is not OK
// with its reason in words (``reason_text``); tap one to correct it.

import { h } from "./dom.js";

export function resultText(r) {
  if (!r) return "";
  if (r.status === "OK") return r.time_s === null || r.time_s === undefined ? "OK" : `${r.time_s.toFixed(2)} s`;
  const words = { FALSE_START: "False start", DNF: "DNF", DQ: "DQ", ABORTED: "Aborted", RERUN: "Re-run" };
  const t = r.time_s !== null && r.time_s !== undefined && r.status !== "DNF" ? ` (${r.time_s.toFixed(2)} s)` : "";
  return (words[r.status] || r.status) + t;
}

/** Aborted attempts are not efforts (a tap on a name re-arms the heat, STOP ALL and Finish abort what
 * is armed): the station cards show them, the results list leaves them out. */
function shown(r) { return r.status !== "ABORTED"; }

export class ResultsList {
  /** ``stationName(id)``; ``onTap(result)`` opens the correction sheet. */
  constructor(stationName, onTap) {
    this.stationName = stationName;
    this.onTap = onTap;
    this.byId = new Map();
    this.classId = null;
    this.list = h("ol", { class: "results", testid: "tablet-results" });
    this.empty = h("p", { class: "muted empty", testid: "results-empty" }, "Results appear here as members finish.");
    this.root = h("section", { class: "results-panel" },
      h("h2", {}, "Results ", h("span", { class: "muted" }, "— tap one to correct it")), this.empty, this.list);
  }

  load(classId, results) {
    this.classId = classId;
    this.byId = new Map(results.filter(shown).map((r) => [r.id, r]));
    this.render();
  }

  get(id) { return this.byId.get(id); }

  /** A new or corrected result (every page gets ``result``): keep the ones of this class. */
  upsert(r) {
    if (!this.classId || r.class_id !== this.classId || !shown(r)) return false;
    this.byId.set(r.id, r);
    this.render();
    return true;
  }

  remove(id) {
    if (this.byId.delete(id)) this.render();
  }

  render() {
    const rows = [...this.byId.values()].sort((a, b) => b.finished_at - a.finished_at);
    this.empty.hidden = rows.length > 0;
    this.list.replaceChildren(...rows.map((r) => {
      const fix = r.correction;
      return h("li", {},
        h("button", { type: "button", class: `result status-${r.status}${fix ? " corrected" : ""}`, testid: "tablet-result-row",
          dataset: { resultId: r.id, status: r.status }, onclick: () => this.onTap(r) },
        h("span", { class: "who" }, r.athlete || "—"),
        h("span", { class: "st" }, this.stationName(r.station_id)),
        h("span", { class: "t", testid: "result-time" }, resultText(r)),
        r.reason_text ? h("span", { class: "fix why", testid: "result-reason" }, r.reason_text) : null,
        fix ? h("span", { class: "fix", title: `${fix.kind}: ${fix.reason}` }, `✎ ${fix.reason}`) : null));
    }));
  }
}
