// The builder's preview of the class timeline, as the hub lays it out (POST /api/circuits/preview):
// the total time for a class of N members, the pods and how they move, and each round's heats with
// their work and rest on one strip and where each pod stands, so a coach sees how long the class takes
// before saving.

import { h } from "./dom.js";
import { stepper, duration, clockAt } from "./circuit-fields.js";

const DEFAULT_MEMBERS = 12;

export class TimelinePreview {
  /** ``changed()``: the class size changed (ask the hub again). */
  constructor(changed) {
    this.members = DEFAULT_MEMBERS;
    this.total = h("p", { class: "tl-total", testid: "timeline-total" }, "…");
    // the same line under the editor's title, so a coach sees it in portrait without scrolling
    this.headline = h("p", { class: "tl-headline", testid: "timeline-headline" }, "");
    this.pods = h("p", { class: "muted tl-pods", testid: "timeline-pods" });
    this.rounds = h("ol", { class: "tl-rounds", testid: "timeline-rounds" });
    const size = stepper({ field: "preview-members", label: "Class size", value: this.members, step: 1, min: 1, max: 60,
      unit: "members", onChange: (v) => { this.members = v; changed(); } });
    this.element = h("aside", { class: "timeline", testid: "timeline" },
      h("h2", {}, "Class timeline"), size, this.total, this.pods, this.rounds);
  }

  /** A draft the hub refused: keep the last timeline, dimmed, and say so. */
  invalid() {
    this.element.classList.add("stale");
    this.total.textContent = "Fix the marked fields to see the timeline";
    this.headline.textContent = "";
  }

  show(t, draft) {
    this.element.classList.remove("stale");
    const efforts = draft.rounds;
    this.total.textContent = `Up to ${duration(t.total_s)} for ${t.members} member${t.members === 1 ? "" : "s"}`;
    this.headline.textContent = `Class: ${this.total.textContent.toLowerCase()} · ${efforts} × ${duration(draft.work_s)} each`;
    const sizes = [...new Set(t.pods)].sort((a, b) => b - a).join(" or ");
    this.pods.textContent = `${t.pods.length} pod${t.pods.length === 1 ? "" : "s"} of ${sizes} · ${t.heat_count} heats · `
      + `each member runs ${efforts} effort${efforts === 1 ? "" : "s"} (${duration(efforts * draft.work_s)} of work) · `
      + `pods move ${draft.rotation_step} station${draft.rotation_step === 1 ? "" : "s"} ${draft.rotation} each round`;
    const stationName = (i) => {
      const st = draft.stations[i];
      return (st && st.name.trim()) || `station ${i + 1}`;
    };
    this.rounds.replaceChildren(...t.rounds.map((r) => h("li", { class: "tl-round", testid: "timeline-round" },
      h("strong", {}, `Round ${r.round_no}`),
      h("p", { class: "muted tl-where", testid: "timeline-where" },
        (r.pod_stations || []).map((st, p) => `pod ${p + 1} at ${stationName(st)}`).join(" · ")),
      h("div", { class: "tl-strip" }, r.heats.flatMap((heat) => [
        h("span", { class: "tl-work", style: `flex-grow: ${heat.work_s}`, title: `heat ${heat.heat_no}: work ${heat.work_s} s` }),
        heat.rest_s ? h("span", { class: "tl-rest", style: `flex-grow: ${heat.rest_s}`, title: `rest ${heat.rest_s} s` }) : null])),
      h("ul", { class: "tl-heats" }, r.heats.map((heat) => h("li", { testid: "timeline-heat" },
        `${clockAt(heat.start_s)} · heat ${heat.heat_no}: ${heat.runners} run · work ${duration(heat.work_s)}`
        + (heat.rest_s ? ` · rest ${duration(heat.rest_s)}` : " · end")))))));
  }
}
