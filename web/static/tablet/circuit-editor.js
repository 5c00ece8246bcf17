// The circuit editor (docs/instructor.md, "Building a circuit"): name, work/rest/countdown seconds,
// rounds and auto-GO; pods (one per station, or a number) and which way and how far they move each
// round; per station the drill (sled pull or shuffle lane), which sleds or lanes, the
// distance, the start mode, the time cap and the false-start rule; stations reordered with ▲/▼ (pods
// rotate through them in this order). Numbers are steppers, choices are big buttons: only the names
// need the keyboard. Every change asks the hub for a preview (POST /api/circuits/preview), which
// checks the draft and lays out the class timeline; the hub's messages show next to their fields.

import { h, toast } from "./dom.js";
import { stepper, segmented, fieldBox, showErrors, clearErrors } from "./circuit-fields.js";
import { TimelinePreview } from "./circuit-preview.js";

export const MODE_WORDS = {
  GO_COUNTDOWN: "GO with countdown", REACTION_RANDOM: "Random-delay reaction", FIRST_MOVEMENT: "From first movement",
  HOLD_IN_BEAM: "Hold in start beam", FLY_THROUGH: "Fly-through start",
};
const MODES = { sled: ["GO_COUNTDOWN", "REACTION_RANDOM", "FIRST_MOVEMENT"],
  lane: ["GO_COUNTDOWN", "REACTION_RANDOM", "HOLD_IN_BEAM", "FLY_THROUGH"] };
const POLICIES = [["VOID_REARM", "Void it, go again"], ["WARN_KEEP", "Warn, keep timing"]];
const KINDS = [["sled", "Reverse sled pull"], ["lane", "Backward shuffle lane"]];
const DEFAULT_DISTANCE_M = { sled: 15, lane: 20 };
const PREVIEW_DELAY_MS = 250;

/** A circuit (saved or a template) as an editable draft with every field present. */
export function toDraft(c) {
  const work = c.work_s ?? 20;
  return {
    name: c.name || "", work_s: work, rest_s: c.rest_s ?? 20, countdown_s: c.countdown_s ?? 3,
    rounds: c.rounds ?? Math.max((c.stations || []).length, 1), auto_go: c.auto_go ?? true, notes: c.notes || "",
    pods: c.pods ?? null, rotation: c.rotation || "forward", rotation_step: c.rotation_step ?? 1,
    stations: (c.stations || []).map((s) => ({
      name: s.name || "", kind: s.kind, station_ids: [...s.station_ids], distance_m: s.distance_m ?? DEFAULT_DISTANCE_M[s.kind],
      start_mode: s.start_mode || "GO_COUNTDOWN", time_cap_s: s.time_cap_s ?? work,
      false_start_policy: s.false_start_policy || "VOID_REARM",
    })),
  };
}

export class CircuitEditor {
  /** ``stations``: the store's stations (id, kind, name); ``done(saved|null)`` when saved or cancelled. */
  constructor(api, stations, draft, circuitId, done) {
    this.api = api;
    this.stations = stations;
    this.draft = draft;
    this.circuitId = circuitId;
    this.done = done;
    this.timer = 0;
    this.seq = 0;
    this.general = h("p", { class: "field-error general", testid: "circuit-error", role: "alert" });
    this.preview = new TimelinePreview(() => this.schedule());
    this.form = h("div", { class: "builder-form" });
    this.root = h("div", { class: "builder", testid: "circuit-editor" });
  }

  element() {
    this.render();
    this.schedule(0);
    return this.root;
  }

  render() {
    const d = this.draft;
    const name = h("input", { type: "text", value: d.name, maxlength: "60", testid: "circuit-name", "aria-label": "Circuit name",
      placeholder: "e.g. Tue 6 am warm-up", oninput: (e) => { d.name = e.target.value; this.schedule(); } });
    const save = h("button", { type: "button", class: "primary big", testid: "circuit-save", onclick: () => this.save() }, "Save circuit");
    const cancel = h("button", { type: "button", testid: "circuit-cancel", onclick: () => this.done(null) }, "‹ Circuits");
    const autoGo = segmented({ field: "auto_go", label: "Next heat", value: d.auto_go,
      options: [[true, "Starts by itself"], [false, "Waits for my GO"]], onChange: (v) => { d.auto_go = v; this.schedule(); } });
    this.form.replaceChildren(
      h("div", { class: "builder-head" }, cancel, h("h1", {}, this.circuitId ? "Edit circuit" : "New circuit"), save),
      this.preview.headline,
      this.general,
      fieldBox("name", "Name", name),
      h("div", { class: "intervals" },
        this.number("work_s", "Work", d.work_s, 5, 5, 120, "s", (v) => this.workChanged(v)),
        this.number("rest_s", "Rest", d.rest_s, 5, 0, 600, "s"),
        this.number("rounds", "Rounds", d.rounds, 1, 1, 20, ""),
        this.number("countdown_s", "Countdown", d.countdown_s, 1, 0, 10, "s")),
      autoGo,
      this.podsAndRotation(),
      h("h2", {}, "Stations ", h("span", { class: "muted" }, "— pods rotate through them in this order")),
      h("div", { class: "field", dataset: { field: "stations" } },
        h("p", { class: "field-error", testid: "field-error", dataset: { field: "stations" }, role: "alert" })),
      h("ol", { class: "circuit-stations", testid: "circuit-stations" }, d.stations.map((s, i) => this.stationCard(s, i))),
      h("button", { type: "button", class: "add-station", testid: "add-station", onclick: () => this.addStation() }, "+ Add station"));
    this.root.replaceChildren(this.form, this.preview.element);
  }

  /** Pods (one per station, or a number of them) and the rotation: which way, how many stations a round. */
  podsAndRotation() {
    const d = this.draft;
    const mode = segmented({ field: "pods", label: "Pods", value: d.pods === null ? "auto" : "set",
      options: [["auto", "One per station"], ["set", "A number of pods"]], onChange: (v) => {
        d.pods = v === "auto" ? null : Math.max(d.stations.length, 1);
        this.render();
        this.schedule();
      } });
    const count = d.pods === null ? null
      : stepper({ field: "pod_count", label: "How many pods", value: d.pods, step: 1, min: 1, max: 24, unit: "pods",
        onChange: (v) => { d.pods = v; this.schedule(); } });
    const way = segmented({ field: "rotation", label: "After each round pods move", value: d.rotation,
      options: [["forward", "Forward (station 1 → 2)"], ["backward", "Backward (station 2 → 1)"]],
      onChange: (v) => { d.rotation = v; this.schedule(); } });
    const step = this.number("rotation_step", "Stations a round", d.rotation_step, 1, 1, 11, "");
    return h("section", { class: "pods", testid: "pods-rotation" }, mode, h("div", { class: "intervals" }, count, step), way);
  }

  number(field, label, value, step, min, max, unit, onChange = null) {
    return stepper({ field, label, value, step, min, max, unit, onChange: (v) => {
      if (onChange) onChange(v); else this.draft[field] = v;
      this.schedule();
    } });
  }

  /** A time cap that was the whole work interval follows it. */
  workChanged(v) {
    const before = this.draft.work_s;
    this.draft.work_s = v;
    this.draft.stations.forEach((s, i) => {
      if (s.time_cap_s === before) {
        s.time_cap_s = v;
        const box = this.form.querySelector(`.field[data-field="stations[${i}].time_cap_s"]`);
        if (box && box.set) box.set(v);
      }
    });
  }

  stationCard(s, i) {
    const at = (f) => `stations[${i}].${f}`;
    const last = this.draft.stations.length - 1;
    const label = h("input", { type: "text", value: s.name, maxlength: "60", testid: "station-name", "aria-label": `Station ${i + 1} name`,
      placeholder: s.kind === "sled" ? "Reverse sled pull" : "Backward shuffle", oninput: (e) => { s.name = e.target.value; this.schedule(); } });
    const mine = this.stations.filter((st) => st.kind === s.kind);
    const chips = mine.length ? mine.map((st) => h("button", { type: "button", class: "chip", testid: "station-pick",
      dataset: { stationId: st.id }, "aria-pressed": String(s.station_ids.includes(st.id)), onclick: (e) => {
        const on = !s.station_ids.includes(st.id);
        s.station_ids = on ? [...s.station_ids, st.id] : s.station_ids.filter((x) => x !== st.id);
        e.currentTarget.setAttribute("aria-pressed", String(on));
        this.schedule();
      } }, st.name)) : [h("span", { class: "muted" }, `No ${s.kind} yet: add one on the setup page.`)];
    const card = h("li", { class: "circuit-station", testid: "circuit-station", dataset: { index: String(i) } },
      h("div", { class: "station-head" },
        h("strong", { class: "station-no" }, String(i + 1)),
        fieldBox(at("name"), null, label),
        h("button", { type: "button", testid: "station-up", "aria-label": `Move station ${i + 1} up`, disabled: i === 0,
          onclick: () => this.move(i, -1) }, "▲"),
        h("button", { type: "button", testid: "station-down", "aria-label": `Move station ${i + 1} down`, disabled: i === last,
          onclick: () => this.move(i, 1) }, "▼"),
        this.removeButton(i)),
      segmented({ field: at("kind"), label: "Drill", value: s.kind, options: KINDS, onChange: (v) => this.kind(i, v) }),
      fieldBox(at("station_ids"), s.kind === "sled" ? "Sleds (side by side)" : "Lanes (side by side)", h("div", { class: "chips" }, chips)),
      h("div", { class: "intervals" },
        stepper({ field: at("distance_m"), label: "Distance", value: s.distance_m, step: 1, min: 1, max: 100, unit: "m",
          onChange: (v) => { s.distance_m = v; this.schedule(); } }),
        stepper({ field: at("time_cap_s"), label: "Time cap", value: s.time_cap_s, step: 1, min: 1, max: 120, unit: "s",
          onChange: (v) => { s.time_cap_s = v; this.schedule(); } })),
      segmented({ field: at("start_mode"), label: "Start", value: s.start_mode,
        options: MODES[s.kind].map((m) => [m, MODE_WORDS[m]]), onChange: (v) => { s.start_mode = v; this.schedule(); } }),
      segmented({ field: at("false_start_policy"), label: "False start", value: s.false_start_policy, options: POLICIES,
        onChange: (v) => { s.false_start_policy = v; this.schedule(); } }));
    return card;
  }

  removeButton(i) {
    return h("button", { type: "button", class: "warn", testid: "station-remove", "aria-label": `Remove station ${i + 1}`,
      onclick: () => { this.draft.stations.splice(i, 1); this.render(); this.schedule(); } }, "Remove");
  }

  move(i, by) {
    const list = this.draft.stations;
    [list[i], list[i + by]] = [list[i + by], list[i]];
    this.render();
    this.schedule();
  }

  kind(i, kind) {
    const s = this.draft.stations[i];
    if (s.kind === kind) return;
    Object.assign(s, { kind, station_ids: this.unused(kind), distance_m: DEFAULT_DISTANCE_M[kind],
      start_mode: MODES[kind].includes(s.start_mode) ? s.start_mode : "GO_COUNTDOWN" });
    this.render();
    this.schedule();
  }

  /** Stations of ``kind`` no circuit station uses yet. */
  unused(kind) {
    const used = new Set(this.draft.stations.flatMap((s) => s.station_ids));
    return this.stations.filter((st) => st.kind === kind && !used.has(st.id)).map((st) => st.id);
  }

  addStation() {
    const kind = this.unused("sled").length || !this.unused("lane").length ? "sled" : "lane";
    this.draft.stations.push({ name: "", kind, station_ids: this.unused(kind), distance_m: DEFAULT_DISTANCE_M[kind],
      start_mode: "GO_COUNTDOWN", time_cap_s: this.draft.work_s, false_start_policy: "VOID_REARM" });
    this.render();
    this.schedule();
  }

  /** The draft as the API takes it (an empty station name gets the hub's default). */
  body() {
    const d = this.draft;
    return { ...d, name: d.name.trim(), stations: d.stations.map((s) => {
      const { name, ...rest } = s;
      return name.trim() ? { name: name.trim(), ...rest } : rest;
    }) };
  }

  schedule(delay = PREVIEW_DELAY_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  /** Ask the hub: errors next to their fields, or the timeline. Only the latest answer counts. */
  async refresh() {
    const seq = ++this.seq;
    try {
      const answer = await this.api.send("POST", `/api/circuits/preview?members=${this.preview.members}`, this.body());
      if (seq !== this.seq) return;
      clearErrors(this.form, this.general);
      this.preview.show(answer.timeline, this.draft);
    } catch (e) {
      if (seq !== this.seq) return;
      if (e.status === 400 && e.errors.length) showErrors(this.form, e.errors, this.general);
      else this.general.textContent = e.message;
      this.preview.invalid();
    }
  }

  async save() {
    clearTimeout(this.timer);
    this.seq++;
    try {
      const saved = this.circuitId
        ? await this.api.send("PUT", `/api/circuits/${encodeURIComponent(this.circuitId)}`, this.body())
        : await this.api.send("POST", "/api/circuits", this.body());
      toast(`Saved: ${saved.name}`);
      this.done(saved);
    } catch (e) {
      if (e.status === 400 && e.errors.length) showErrors(this.form, e.errors, this.general);
      else if (e.status === 409) showErrors(this.form, [`name: ${e.message}: choose another name`], this.general);
      else this.general.textContent = e.message;
      toast("Not saved: see the marked fields", "error");
    }
  }
}
