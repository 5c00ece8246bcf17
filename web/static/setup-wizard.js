// /setup: the calibration wizard dialog. The hub runs the wizard; this shows its steps, what to do now,
// the live reading and progress, and sends the buttons' actions.
import { el } from "./live.js";
import { fmtInt, notice, readingNodes } from "./setup-view.js";

const $ = (id) => document.getElementById(id);
const TITLES = { load_cell: "Calibrate the load cell", encoder: "Calibrate the wheel", beam: "Test the beam gate" };

function buttonLabel(view, action) {
  const s = view.state;
  switch (action) {
    case "measure": return s === "UNLOAD" ? "Zero" : "Measure";
    case "skip": return view.problem ? "Save anyway" : "Skip and save";
    case "start": return "Start";
    case "finish": return "Done";
    case "restart": return "Start over";
    case "fix": return "Fix: flip the beam's reading";
    case "cancel": return "Cancel";
    default: return action;
  }
}

function liveText(view, sensor) {
  const l = view.live || {};
  if (view.kind === "beam") {
    const [pill] = readingNodes({ kind: "beam" }, { beam: l.beam });
    const prompt = view.state !== "WATCH" ? "" : l.beam === "broken" ? "…and step out" : "Break the beam now";
    return [pill, el("span", { class: "prompt", dataTestid: "wizard-prompt" }, prompt),
      el("span", { class: "count", dataTestid: "wizard-passes" }, `${"✓".repeat(l.passes)} ${l.passes} of ${l.passes_needed}`)];
  }
  if (view.kind === "encoder") {
    if (l.counts === null || l.counts === undefined) return [el("span", {}, "Wheel: waiting for it to turn…")];
    const m = l.distance_m_now_calibration;
    return [el("span", { dataTestid: "wizard-counts" }, `${fmtInt(l.counts)} counts`),
      el("small", {}, m === undefined ? "" : `  (${m.toFixed(2)} m with the old setting)`)];
  }
  const parts = [];
  if (["ZEROING", "WEIGHING", "CHECKING"].includes(view.state)) parts.push(`${l.samples} of ${l.samples_needed} readings`);
  if (view.reading && view.reading.raw !== null && view.reading.raw !== undefined) parts.push(`raw ${fmtInt(view.reading.raw)}`);
  if (l.linearity_error_pct !== undefined) parts.push(`linearity ${l.linearity_error_pct > 0 ? "+" : ""}${l.linearity_error_pct} %`);
  return [el("span", {}, parts.join(" · ") || "—")];
}

function resultText(view) {
  const r = view.result;
  if (!r) return "";
  if (view.kind === "load_cell") {
    const check = r.check ? ` · second weight ${r.check.error_pct > 0 ? "+" : ""}${r.check.error_pct} %` : "";
    return `Zero ${fmtInt(r.offset_counts)} counts · ${r.scale_counts_per_n ? r.scale_counts_per_n.toFixed(1) : "—"} counts per N${check}`;
  }
  if (view.kind === "encoder") return `${r.counts_per_m.toFixed(1)} counts per metre${r.invert ? " · direction flipped" : ""}`;
  return `${r.passes} clean breaks${r.polarity_fixed ? " · reading flipped" : ""}`;
}

export class WizardPanel {
  constructor(api) {
    this.api = api;             // ./api.js
    this.view = null;
    this.sensor = null;
    this.actionsKey = "";
  }

  async start(nodeId, sensor, mode = "full") {
    try {
      const view = await this.api.send("POST", "/api/setup/wizards", { node_id: nodeId, sensor_id: sensor.id, mode });
      this.sensor = sensor;
      this.show(view);
    } catch (err) {
      notice(`Could not start: ${err.message}`);
    }
  }

  // Reopen a wizard that is running (e.g. after a page reload).
  resume(view, sensor) {
    if (!this.view) { this.sensor = sensor; this.show(view); }
  }

  show(view) {
    this.view = view;
    this.actionsKey = "";
    $("wz-mass").value = "";
    $("wizard").hidden = false;
    this.render();
  }

  update(view) {
    if (!this.view || view.id !== this.view.id) return;
    this.view = view;
    this.render();
  }

  close() {
    $("wizard").hidden = true;
    this.view = null;
  }

  render() {
    const v = this.view;
    $("wz-title").textContent = `${TITLES[v.kind] || "Calibrate"} — ${v.node_id} · ${v.sensor_id}`;
    $("wizard").dataset.state = v.state;
    $("wz-steps").replaceChildren(...v.steps.map((s) => el("li", { class: s.status, dataStep: s.key }, s.title)));
    $("wz-message").textContent = v.state === "DONE" ? `${v.message} ${resultText(v)}` : v.message;
    $("wz-problem").hidden = !v.problem;
    $("wz-problem").textContent = v.problem || "";
    $("wz-bar").style.width = `${Math.round((v.progress ?? (v.state === "DONE" ? 1 : 0)) * 100)}%`;
    $("wz-live").replaceChildren(...(v.ended ? [] : liveText(v, this.sensor)));
    $("wz-mass-row").hidden = !(v.actions.includes("measure") && v.state !== "UNLOAD");
    $("wz-distance-row").hidden = !v.actions.includes("finish");
    const key = `${v.state}|${v.actions.join(",")}|${v.problem ? 1 : 0}`;
    if (key === this.actionsKey) return;
    this.actionsKey = key;
    const buttons = v.actions.map((a) => {
      const b = el("button", { class: a === "cancel" ? "" : "primary", dataTestid: `wizard-${a}`, type: "button" },
        buttonLabel(v, a));
      b.addEventListener("click", () => this.act(a));
      return b;
    });
    if (v.ended) {
      const close = el("button", { class: "primary", dataTestid: "wizard-close", type: "button" }, "Close");
      close.addEventListener("click", () => this.close());
      buttons.push(close);
    }
    $("wz-actions").replaceChildren(...buttons);
  }

  async act(action) {
    const body = { action };
    if (action === "measure" && this.view.state !== "UNLOAD") body.mass_kg = Number($("wz-mass").value);
    if (action === "finish") body.distance_m = Number($("wz-distance").value);
    try {
      const view = await this.api.send("POST", `/api/setup/wizards/${this.view.id}/actions`, body);
      this.update(view);
      if (action === "measure" && view.state !== "UNLOAD") $("wz-mass").value = "";
    } catch (err) {
      notice(err.message);
    }
  }
}
