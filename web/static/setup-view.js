// /setup: the notice line, labels and formatting of readings (calls go through ./api.js).
import { el } from "./live.js";

const noticeEl = () => document.getElementById("notice");
let noticeTimer = null;
export function notice(text, ok = false) {
  const n = noticeEl();
  n.textContent = text;
  n.classList.toggle("ok", ok);
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, ok ? 5000 : 12000);
}

export const KIND_LABELS = { load_cell: "Load cell", encoder: "Wheel encoder", beam: "Beam gate",
  dual_beam: "Dual-beam gate" };
export const ROLE_LABELS = { force: "Load cell (force)", wheel: "Wheel encoder", start: "Start gate",
  finish: "Finish gate", turn: "Turn gate" };
export const roleLabel = (role) => ROLE_LABELS[role] || (role.startsWith("split") ? `Split ${role.slice(5)} gate` : role);
export const ROLE_KINDS = { force: ["load_cell"], wheel: ["encoder"] };
export const roleKinds = (role) => ROLE_KINDS[role] || ["beam", "dual_beam"];
// Roles in the order a run meets them.
export function roleOrder(role) {
  const fixed = { force: 0, wheel: 1, start: 2, turn: 900, finish: 1000 };
  return role in fixed ? fixed[role] : role.startsWith("split") ? 10 + Number(role.slice(5)) : 500;
}

export const fmtInt = (n) => (n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en"));

export function ago(s) {
  if (s === null || s === undefined) return "never";
  if (s < 2) return "just now";
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

// The hub's verdict (health.calibrated: false, true, or null for kinds without a calibration).
export const isCalibrated = (sensor) => sensor.health.calibrated !== false;

// The live reading of a sensor as elements (big value + small detail).
export function readingNodes(sensor, r) {
  if (sensor.kind === "beam" || sensor.kind === "dual_beam") {
    const state = r && r.beam;
    const label = state === "broken" ? "BROKEN" : state === "clear" ? "CLEAR" : "—";
    return [el("span", { class: `pill beam-indicator ${state || "unknown"}`, dataBeam: state || "unknown" }, label),
      el("small", {}, r && r.breaks ? `${r.breaks} breaks` : "no break seen yet")];
  }
  if (!r || r.raw === null || r.raw === undefined) return [el("span", {}, "—"), el("small", {}, "no reading yet")];
  if (sensor.kind === "load_cell") {
    if (!isCalibrated(sensor)) return [el("span", {}, `raw ${fmtInt(r.raw)}`), el("small", {}, "not calibrated")];
    return [el("span", {}, `${Math.round(r.value)} N`), el("small", {}, `raw ${fmtInt(r.raw)}`)];
  }
  if (sensor.kind === "encoder") {
    return [el("span", {}, `${(r.value || 0).toFixed(2)} m`), el("small", {}, `${fmtInt(r.raw)} counts`)];
  }
  return [el("span", {}, String(r.value ?? r.raw))];
}

export function readingIsStale(sensor, r) {
  return sensor.kind === "load_cell" && r && r.age_s !== null && r.age_s > 3;
}
