// /setup: the station form (add or edit a station and pick the sensor for each role).
import { el } from "./live.js";
import { KIND_LABELS, notice, roleKinds, roleLabel } from "./setup-view.js";

const ROLES = { sled: ["force", "wheel"], lane: ["start", "split1", "split2", "turn", "finish"] };
const $ = (id) => document.getElementById(id);

export class StationForm {
  constructor(api, onSaved) {
    this.api = api;             // ./api.js
    this.onSaved = onSaved;
    this.editing = null;        // station id being edited, or null for a new one
    this.sensors = [];          // [{node_id, sensor_id, kind, label, used_at}]
    this.picked = {};           // role -> "node/sensor"
    $("st-kind").addEventListener("change", () => { this.capture(); this.renderRoles(); });
    $("st-save").addEventListener("click", (e) => { e.preventDefault(); this.save(); });
    $("st-reset").addEventListener("click", () => this.clear());
    this.renderRoles();
  }

  // The sensors the hub knows, with where each is used (from the setup view).
  setNodes(nodes) {
    this.sensors = nodes.flatMap((n) => n.sensors.map((s) => ({ node_id: n.id, sensor_id: s.id, kind: s.kind,
      used_at: s.binding ? s.binding.station_id : null, used_name: s.binding ? s.binding.station_name : null })));
    this.capture();
    this.renderRoles();
  }

  // Keep what the user picked so far (before the options are rebuilt).
  capture() {
    for (const sel of $("st-roles").querySelectorAll("select")) this.picked[sel.dataset.role] = sel.value;
  }

  kind() { return $("st-kind").value; }

  renderRoles() {
    const box = $("st-roles");
    document.getElementById("station-editor").className = `panel kind-${this.kind()}`;
    box.replaceChildren(...ROLES[this.kind()].map((role) => {
      const sel = el("select", { dataTestid: `bind-${role}`, dataRole: role });
      sel.append(el("option", { value: "" }, "— none —"));
      for (const s of this.sensors.filter((x) => roleKinds(role).includes(x.kind))) {
        const key = `${s.node_id}/${s.sensor_id}`;
        const where = s.used_at && s.used_at !== this.editing ? ` (used at ${s.used_name})` : "";
        sel.append(el("option", { value: key }, `${s.node_id} · ${s.sensor_id} — ${KIND_LABELS[s.kind]}${where}`));
      }
      sel.value = this.picked[role] || "";
      if (sel.value !== (this.picked[role] || "")) sel.value = "";
      return el("label", {}, roleLabel(role), sel);
    }));
  }

  // Prefill from a new node: its sensors go to the roles they fit.
  prefill(node) {
    this.clear();
    const kinds = node.sensors.map((s) => s.kind);
    $("st-kind").value = kinds.includes("load_cell") || kinds.includes("encoder") ? "sled" : "lane";
    const free = [...node.sensors];
    for (const role of ROLES[this.kind()]) {
      const byName = free.findIndex((s) => s.id === role && roleKinds(role).includes(s.kind));
      const i = byName >= 0 ? byName : free.findIndex((s) => roleKinds(role).includes(s.kind) && role !== "split2" && role !== "turn");
      if (i >= 0) this.picked[role] = `${node.id}/${free.splice(i, 1)[0].id}`;
    }
    this.renderRoles();
    $("st-name").focus();
    document.getElementById("station-editor").scrollIntoView({ behavior: "smooth" });
  }

  edit(station) {
    this.editing = station.id;
    $("form-title").textContent = `Edit ${station.name}`;
    $("st-kind").value = station.kind;
    $("st-name").value = station.name;
    $("st-distance").value = station.config.distance_m ?? 10;
    $("st-legs").value = station.config.shuttle_legs ?? 1;
    this.picked = Object.fromEntries(station.bindings.map((b) => [b.role, `${b.node_id}/${b.sensor_id}`]));
    this.config = { ...station.config };
    this.renderRoles();
    document.getElementById("station-editor").scrollIntoView({ behavior: "smooth" });
  }

  clear() {
    this.editing = null;
    this.config = {};
    this.picked = {};
    $("form-title").textContent = "Add a station";
    $("st-name").value = "";
    this.renderRoles();
  }

  body() {
    const bindings = [...$("st-roles").querySelectorAll("select")].filter((s) => s.value).map((s) => {
      const [node_id, sensor_id] = s.value.split("/");
      return { role: s.dataset.role, node_id, sensor_id };
    });
    const config = { ...(this.config || {}) };
    if (this.kind() === "sled") {
      config.distance_m = Number($("st-distance").value);
      for (const k of ["split_roles", "shuttle_legs", "start_gate"]) delete config[k];
    } else {
      delete config.distance_m;
      delete config.split_roles;
      delete config.start_gate;
      config.shuttle_legs = Number($("st-legs").value) || 1;
    }
    return { kind: this.kind(), name: $("st-name").value.trim(), config, bindings };
  }

  async save() {
    const body = this.body();
    try {
      const out = this.editing ? await this.api.send("PUT", `/api/setup/stations/${this.editing}`, body)
        : await this.api.send("POST", "/api/setup/stations", body);
      const pushed = out.pushed.length ? ` Sent ${out.pushed.length} setting(s) to the sensors.` : "";
      notice(`Saved ${out.station.name}.${pushed}`, true);
      this.clear();
      this.onSaved(out.station);
    } catch (err) {
      notice(`Not saved: ${err.message}`);
    }
  }
}
