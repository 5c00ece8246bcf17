// Tablet form parts for the circuit builder: steppers (no keyboard for numbers), segmented choices,
// and the error slot under each field. Every field carries data-field = the path the hub's errors
// start with ("work_s", "stations[1].time_cap_s"), so a refusal lands next to the field it is about.

import { h } from "./dom.js";

/** A number with − and + buttons: ``{ field, label, value, step, min, max, unit, onChange }``.
 * The bounds only stop the stepper at the hub's own limits; cross-field rules (a time cap longer than
 * work) are the hub's to check, and its message shows under the field. */
export function stepper({ field, label, value, step, min, max, unit, onChange, big = false }) {
  let current = value;
  const shown = h("output", { class: "value", testid: `${field}-value` });
  const paint = () => { shown.textContent = `${fmt(current)} ${unit}`.trim(); };
  const move = (delta) => {
    const next = Math.round((current + delta) * 100) / 100;
    if (next < min || next > max) return;
    current = next;
    paint();
    onChange(current);
  };
  paint();
  const minus = h("button", { type: "button", class: "step", testid: `${field}-minus`, "aria-label": `${label} − ${step}`,
    onclick: () => move(-step) }, "−");
  const plus = h("button", { type: "button", class: "step", testid: `${field}-plus`, "aria-label": `${label} + ${step}`,
    onclick: () => move(step) }, "+");
  const box = fieldBox(field, label, h("div", { class: big ? "stepper big-stepper" : "stepper" }, minus, shown, plus));
  box.set = (v) => { current = v; paint(); };
  return box;
}

/** One choice out of a few, as big buttons: ``options`` = [[value, words], ...]. */
export function segmented({ field, label, options, value, onChange }) {
  const buttons = options.map(([v, words]) => h("button", { type: "button", class: "opt", testid: `${field}-option`,
    dataset: { value: String(v) }, "aria-pressed": String(v === value), onclick: (e) => {
      for (const b of buttons) b.setAttribute("aria-pressed", String(b === e.currentTarget));
      onChange(v);
    } }, words));
  return fieldBox(field, label, h("div", { class: "segmented" }, buttons));
}

/** A labelled field with its error slot (filled by ``showErrors``). */
export function fieldBox(field, label, control) {
  return h("div", { class: "field", dataset: { field } },
    label ? h("span", { class: "field-label" }, label) : null,
    control,
    h("p", { class: "field-error", testid: "field-error", dataset: { field }, role: "alert" }));
}

/** Put each "path: message" of the hub under its field in ``root``: the field itself, else the nearest
 * enclosing one ("stations[1].station_ids" → "stations[1]"), else ``general``. Returns how many. */
export function showErrors(root, errors, general) {
  clearErrors(root, general);
  for (const e of errors) {
    const cut = e.indexOf(": ");
    let path = cut > 0 ? e.slice(0, cut) : "";
    const message = cut > 0 ? e.slice(cut + 2) : e;
    let slot = null;
    while (path && !slot) {
      slot = root.querySelector(`.field-error[data-field="${CSS.escape(path)}"]`);
      path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    const target = slot || general;
    target.textContent = target.textContent ? `${target.textContent} · ${message}` : message;
    target.closest(".field")?.classList.add("invalid");
  }
  return errors.length;
}

export function clearErrors(root, general) {
  for (const slot of root.querySelectorAll(".field-error")) slot.textContent = "";
  for (const f of root.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
  general.textContent = "";
}

/** Seconds as a coach reads them: 45 s, 3 min 20 s. */
export function duration(s) {
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  const m = Math.floor(t / 60), r = t % 60;
  return r ? `${m} min ${r} s` : `${m} min`;
}

/** A clock position: 0:00, 3:20. */
export function clockAt(s) {
  const t = Math.round(s);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`;
}

function fmt(v) { return Number.isInteger(v) ? String(v) : v.toFixed(1); }
