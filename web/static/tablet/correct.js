// Correcting a result with one hand and no keyboard: Edit time (steppers of 0.01 / 0.1 / 1 s), DQ,
// Re-run or Delete, each with a preset reason to tap. The hub keeps every correction in the audit
// trail (shown at the bottom) and pushes the corrected result to every screen.

import { h, toast } from "./dom.js";
import { resultText } from "./results.js";

export const ACTIONS = {
  edit: { label: "Edit time", verb: "Save time",
    reasons: ["timing error", "missed gate", "hand time", "sensor glitch", "wrong distance"] },
  dq: { label: "DQ", verb: "Disqualify",
    reasons: ["false start not seen", "pulled forwards", "left the lane", "turned around", "unsafe technique"] },
  rerun: { label: "Re-run", verb: "Void for re-run",
    reasons: ["re-run requested", "equipment fault", "false start not seen", "obstructed", "timing error"] },
  delete: { label: "Delete", verb: "Delete result",
    reasons: ["wrong athlete", "test run", "duplicate", "timing error"] },
};
const STEPS = [1, 0.1, 0.01];
const TIME_MAX_S = 3600;

export class Correction {
  constructor(api, sheet, stationName) {
    this.api = api;
    this.sheet = sheet;
    this.stationName = stationName;
  }

  open(result) {
    this.result = result;
    this.action = "edit";
    this.reason = null;
    this.time = result.time_s ?? 0;
    this.busy = false;
    this.tabs = h("div", { class: "seg", role: "tablist" }, Object.entries(ACTIONS).map(([key, a]) =>
      h("button", { type: "button", role: "tab", testid: `fix-${key}`, dataset: { action: key },
        onclick: () => { this.action = key; this.reason = null; this.update(); } }, a.label)));
    this.timeOut = h("output", { class: "time-edit", testid: "fix-time" });
    this.editor = h("div", { class: "time-editor" },
      h("div", { class: "steps minus" }, STEPS.map((s) => h("button", { type: "button", testid: `time-minus-${s}`,
        onclick: () => this.step(-s) }, `−${s}`))),
      this.timeOut,
      h("div", { class: "steps plus" }, STEPS.slice().reverse().map((s) => h("button", { type: "button", testid: `time-plus-${s}`,
        onclick: () => this.step(s) }, `+${s}`))));
    this.reasons = h("div", { class: "reasons", testid: "fix-reasons" });
    this.error = h("p", { class: "error", role: "alert", testid: "fix-error" });
    this.save = h("button", { type: "button", class: "primary big", testid: "fix-save", onclick: () => this.submit() });
    this.audit = h("ol", { class: "audit", testid: "fix-audit" });
    const body = h("div", { class: "correct" },
      h("p", { class: "subject" }, h("strong", {}, result.athlete || "—"), ` · ${this.stationName(result.station_id)} · `,
        h("span", { testid: "fix-current" }, resultText(result))),
      this.tabs, this.editor, h("h3", {}, "Why?"), this.reasons, this.error, this.save,
      h("h3", {}, "History"), this.audit);
    this.sheet.open("Correct result", body, "correction-sheet");
    this.update();
    this.loadAudit();
  }

  /** Is the correction sheet open on result ``id``? (The sheet also serves the pickers.) */
  showing(id) {
    return this.sheet.isOpen && this.sheet.root.dataset.testid === "correction-sheet" && this.result && this.result.id === id;
  }

  /** A newer version of the open result arrived (someone else corrected it): show it. */
  refreshed(r) {
    if (!this.showing(r.id)) return;
    this.result = r;
    this.sheet.body.querySelector("[data-testid=fix-current]").textContent = resultText(r);
  }

  /** An audit entry for a result (from any tablet): the open sheet's history follows. */
  audited(entry) {
    if (this.showing(entry.result_id)) this.loadAudit();
  }

  /** The open result was deleted (here or on another tablet). */
  deleted(id) {
    if (this.showing(id)) this.sheet.close();
  }

  step(delta) {
    const t = Math.round((this.time + delta) * 100) / 100;
    this.time = Math.min(TIME_MAX_S, Math.max(0.01, t));
    this.update();
  }

  update() {
    const a = ACTIONS[this.action];
    for (const b of this.tabs.children) b.setAttribute("aria-selected", String(b.dataset.action === this.action));
    this.editor.hidden = this.action !== "edit";
    this.timeOut.textContent = `${this.time.toFixed(2)} s`;
    this.reasons.replaceChildren(...a.reasons.map((r) => h("button", { type: "button", class: r === this.reason ? "chip on" : "chip",
      testid: "fix-reason", dataset: { reason: r }, "aria-pressed": String(r === this.reason),
      onclick: () => { this.reason = r; this.update(); } }, r)));
    const unchanged = this.action === "edit" && this.result.time_s !== null && Math.abs(this.time - this.result.time_s) < 0.005;
    this.save.disabled = this.busy || !this.reason || unchanged;
    this.save.textContent = this.action === "edit" ? `${a.verb}: ${this.time.toFixed(2)} s` : a.verb;
    this.save.classList.toggle("danger", this.action !== "edit");
    this.save.classList.toggle("primary", this.action === "edit");
  }

  async submit() {
    const id = encodeURIComponent(this.result.id);
    const reason = this.reason;
    const calls = {
      edit: () => this.api.send("PATCH", `/api/results/${id}`, { time_s: this.time, reason }),
      dq: () => this.api.send("POST", `/api/results/${id}/dq`, { reason }),
      rerun: () => this.api.send("POST", `/api/results/${id}/rerun`, { reason }),
      delete: () => this.api.send("DELETE", `/api/results/${id}`, { reason }),
    };
    this.busy = true;
    this.update();
    try {
      const r = await calls[this.action]();
      const who = this.result.athlete || "result";
      toast(this.action === "rerun" && r.rerun_scheduled ? `${who}: re-run added after this heat` : `${who}: ${ACTIONS[this.action].label.toLowerCase()} saved`);
      this.sheet.close();
    } catch (e) {
      this.error.textContent = e.message;
      this.busy = false;
      this.update();
    }
  }

  async loadAudit() {
    const id = this.result.id;
    try {
      const entries = await this.api.get(`/api/results/${encodeURIComponent(id)}/corrections`);
      if (!this.result || this.result.id !== id) return;
      this.audit.replaceChildren(...(entries.length ? entries.map((e) => h("li", { testid: "fix-audit-entry" }, auditLine(e)))
        : [h("li", { class: "muted" }, "No corrections yet.")]));
    } catch (e) {
      this.audit.replaceChildren(h("li", { class: "muted" }, e.message));
    }
  }
}

const KIND_WORDS = { edit_time: "time", dq: "DQ", rerun: "re-run", delete: "deleted" };

function auditLine(e) {
  const at = new Date(e.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const change = e.kind === "edit_time" && e.after
    ? `${resultText(e.before)} → ${resultText(e.after)}` : KIND_WORDS[e.kind] || e.kind;
  return `${at} · ${e.user_name || "?"} · ${change} · “${e.reason}”`;
}
