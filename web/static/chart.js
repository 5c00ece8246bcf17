// A small SVG line chart of our own: one time axis, up to two series, each on its own vertical scale
// (force in newtons on the left, velocity in m/s on the right). No library: a wall tile needs a clear
// shape and two peak labels, nothing more.

const SVG = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text = null) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== null) e.textContent = text;
  return e;
}

function finite(values) {
  return values.filter((v) => typeof v === "number" && Number.isFinite(v));
}

// points "x,y ..." of one series scaled into the plot box
export function polyline(t, values, box, tMax, vMax) {
  const pts = [];
  for (let i = 0; i < t.length && i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    const x = box.x + (tMax > 0 ? (t[i] / tMax) * box.w : 0);
    const y = box.y + box.h - (vMax > 0 ? (Math.max(0, v) / vMax) * box.h : 0);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  return pts.join(" ");
}

// Draw ``series`` ([{values, color, label, unit, digits, side, named}]) over ``t`` (seconds) into ``svg``,
// in the svg's own pixel size (so text is never stretched); labels give each series' peak ("Force
// 700 N", or "700 N" when ``named`` is false and the unit says what it is), side by side when they
// fit the width, else one under the other (never overlapping). ``ticks`` labels the time axis.
export function lineChart(svg, t, series, { ticks = true } = {}) {
  const size = svg.getBoundingClientRect();
  const width = Math.max(120, Math.round(size.width) || 600), height = Math.max(60, Math.round(size.height) || 150);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const em = parseFloat(getComputedStyle(svg).fontSize) || 16;
  const pad = { l: 6, r: 6, b: ticks ? Math.round(em * 1.2) : Math.round(em * 0.3) };
  const tMax = Math.max(...finite(t), 0);
  const drawn = [];
  for (const s of series) {
    const vals = finite(s.values);
    if (!vals.length) continue;
    const curvePeak = Math.max(...vals);
    const peak = typeof s.peak === "number" ? s.peak : curvePeak;
    const right = s.side === "right";
    const label = node("text", { x: right ? width - pad.r : pad.l, y: Math.round(em * 0.95), fill: s.color,
      "text-anchor": right ? "end" : "start", class: "chart-label", "data-series": s.label },
      `${s.named === false ? "" : `${s.label} `}${peak.toFixed(s.digits ?? 0)} ${s.unit}`);
    svg.append(label);
    drawn.push({ s, label, vMax: Math.max(curvePeak, peak) > 0 ? Math.max(curvePeak, peak) * 1.08 : 1 });
  }
  const widths = drawn.map((d) => (d.label.getComputedTextLength ? d.label.getComputedTextLength() : 0));
  const stacked = widths.reduce((a, b) => a + b, 0) + em > width - pad.l - pad.r;
  if (stacked) drawn.forEach((d, i) => d.label.setAttribute("y", String(Math.round(em * (0.95 + 1.15 * i)))));
  pad.t = Math.round(em * (stacked ? 1.15 * drawn.length + 0.2 : 1.35));
  const box = { x: pad.l, y: pad.t, w: width - pad.l - pad.r, h: Math.max(1, height - pad.t - pad.b) };
  svg.append(node("line", { x1: box.x, y1: box.y + box.h, x2: box.x + box.w, y2: box.y + box.h, class: "axis" }));
  for (const { s, vMax } of drawn) {
    svg.append(node("polyline", { points: polyline(t, s.values, box, tMax, vMax), fill: "none", stroke: s.color,
      "stroke-width": Math.max(3, em / 5), "stroke-linejoin": "round", "stroke-linecap": "round",
      "data-series": s.label }));
  }
  if (ticks) {
    svg.append(node("text", { x: box.x, y: height - 2, class: "chart-tick" }, "0 s"));
    svg.append(node("text", { x: box.x + box.w, y: height - 2, class: "chart-tick", "text-anchor": "end" },
      `${tMax.toFixed(1)} s`));
  }
  return svg;
}

// The force–time and velocity curve of a sled pull (``curve`` = {t_s, force_n, velocity_m_s}) as a wall
// tile draws it: the peaks by their units in the series' colours ("700 N" orange, "2.8 m/s" blue), no
// time labels (the tile's big line is the time). The labels name the measured peaks when given (the
// curve is resampled and may miss the exact peak).
export function curveChart(svg, curve, peaks = {}) {
  return lineChart(svg, curve.t_s || [], [
    { values: curve.force_n || [], peak: peaks.force_n, color: "#e69f00", label: "Force", unit: "N", digits: 0,
      side: "left", named: false },
    { values: curve.velocity_m_s || [], peak: peaks.velocity_m_s, color: "#56b4e9", label: "Velocity", unit: "m/s",
      digits: 1, side: "right", named: false },
  ], { ticks: false });
}

export function newChart(attrs = {}) {
  return node("svg", attrs);
}
