// /setup: new sensors with live readings, stations and their bindings, calibration, sensor health.
// The hub pushes setup:view (structure), setup:readings (live values, a few per second) and
// setup:warnings; everything that changes something goes through the REST API as a signed-in admin.
import { connect, el } from "./live.js";
import { Api } from "./api.js";
import { KIND_LABELS, ago, isCalibrated, notice, readingIsStale, readingNodes, roleLabel, roleOrder } from "./setup-view.js";
import { StationForm } from "./setup-form.js";
import { WizardPanel } from "./setup-wizard.js";

const $ = (id) => document.getElementById(id);
const state = { view: null, readings: {}, sensors: {}, find: "" };
const api = new Api();
const wizard = new WizardPanel(api);
const form = new StationForm(api, async (station) => {
  await refresh();
  const card = document.querySelector(`[data-testid="station-${CSS.escape(station.id)}"]`);
  if (card) card.scrollIntoView({ behavior: "smooth", block: "center" });
});
let socket = null;

const key = (nodeId, sensorId) => `${nodeId}/${sensorId}`;

// -- sign-in ------------------------------------------------------------------------------------------
function showSession() {
  const session = api.session;
  $("signin").hidden = session.signed_in;
  $("who").hidden = !session.signed_in;
  $("who-name").textContent = session.user ? `${session.user.name} (${session.role})` : "";
  document.body.dataset.admin = api.isAdmin ? "1" : "0";
  if (state.view) render(state.view);
}
api.sessionListeners.push(showSession);
api.onSignedOut = () => notice("Your sign-in ended: sign in again to change anything.");

$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    await api.signIn($("signin-name").value.trim(), $("signin-pin").value);
    $("signin-pin").value = "";
    if (!api.isAdmin) notice("Signed in, but only an admin can change sensors and stations.");
  } catch (err) {
    notice(`Sign-in failed: ${err.message}`);
  }
});
$("signout").addEventListener("click", () => api.signOut().catch((err) => notice(err.message)));

// -- rendering ----------------------------------------------------------------------------------------
function adminButton(label, testid, onClick) {
  const b = el("button", { dataTestid: testid, type: "button" }, label);
  if (!api.isAdmin) { b.disabled = true; b.title = "Sign in as an admin first"; }
  b.addEventListener("click", onClick);
  return b;
}

function sensorActions(node, s) {
  if (!s.health.online) return [];
  const id = `${node.id}-${s.id}`;
  if (s.kind === "load_cell") {
    const out = [adminButton("Calibrate", `calibrate-${id}`, () => wizard.start(node.id, s, "full"))];
    if (isCalibrated(s)) out.push(adminButton("Re-zero", `rezero-${id}`, () => wizard.start(node.id, s, "zero")));
    return out;
  }
  if (s.kind === "encoder") return [adminButton("Calibrate wheel", `calibrate-${id}`, () => wizard.start(node.id, s))];
  return [adminButton("Test beam", `calibrate-${id}`, () => wizard.start(node.id, s))];
}

function sensorMeta(s) {
  const h = s.health;
  const parts = [];
  for (const w of h.warnings) parts.push(el("span", { class: w.level === "error" ? "bad" : "warn" }, `⚠ ${w.message}. `));
  if (s.calibrated_at) {
    const what = s.kind === "beam" || s.kind === "dual_beam" ? "Tested" : "Calibrated";
    parts.push(`${what} here ${new Date(s.calibrated_at * 1000).toLocaleString()}. `);
  } else if (s.kind === "load_cell" && isCalibrated(s)) {
    parts.push("Uses the calibration in its node's config (not measured here). ");
  } else if (s.kind === "encoder") {
    parts.push(`Uses its node's setting of ${s.calibration.counts_per_m} counts/m (not measured here). `);
  }
  if (s.sync && s.sync.state === "failed") parts.push(el("span", { class: "bad" }, `Settings not applied: ${s.sync.error} `));
  if (s.sync && s.sync.state === "pending") parts.push("Sending settings… ");
  return el("div", { class: "meta", dataTestid: `meta-${s.nodeId}-${s.id}` }, ...parts);
}

function sensorRow(node, s, title) {
  s.nodeId = node.id;
  state.sensors[key(node.id, s.id)] = s;
  const reading = el("div", { class: "reading", dataReading: key(node.id, s.id), dataTestid: `reading-${node.id}-${s.id}` });
  fillReading(reading, s);
  const online = s.health ? s.health.online : node.state === "online";
  const pill = el("span", { class: `pill ${online ? "online" : "offline"}`, dataTestid: `sensor-state-${node.id}-${s.id}` },
    online ? "online" : "OFFLINE");
  return el("div", { class: "sensor", dataTestid: `sensor-${node.id}-${s.id}` },
    el("div", { class: "what" }, title, el("small", {}, `${node.id} · ${s.id} `, pill)), reading,
    el("div", { class: "actions" }, ...sensorActions(node, s)), sensorMeta(s));
}

function fillReading(box, s) {
  const r = state.readings[key(s.nodeId, s.id)] || s.reading;
  box.replaceChildren(...readingNodes(s, r));
  box.classList.toggle("stale", readingIsStale(s, r));
}

function nodePill(node) {
  const st = node.effective_state || node.state;
  const text = { online: "online", offline: "OFFLINE", silent: "OFFLINE (not answering)" }[st] || st;
  return el("span", { class: `pill ${st === "online" ? "online" : st === "unknown" ? "unknown" : "offline"}`,
    dataTestid: `node-state-${node.id}` }, text);
}

function forgetButton(id) {
  return adminButton("Forget", `forget-${id}`, () => forgetNode(id));
}

function renderMoreNodes(more) {
  const box = $("more-nodes");
  const hidden = (more && more.hidden) || [];
  box.hidden = !hidden.length && !state.find;
  $("more-nodes-title").textContent = `${hidden.length} more new node(s) not shown (${more ? more.total : 0} new in all)`;
  const shown = hidden.slice(0, 300);  // the hub keeps at most 256 live ones; a line each stays cheap
  $("more-nodes-list").replaceChildren(...shown.map((n) => el("li", { dataTestid: `more-node-${n.id}` },
    el("span", {}, n.id), el("span", { class: "hint" }, n.state), forgetButton(n.id))));
}

$("node-find").addEventListener("input", (e) => {
  state.find = e.target.value.trim();
  refresh().catch(() => {});
});

async function forgetNode(id) {
  try {
    await api.send("DELETE", `/api/setup/nodes/${encodeURIComponent(id)}`);
    notice(`Forgot ${id}.`, true);
    refresh();
  } catch (err) {
    notice(`Not forgotten: ${err.message}`);
  }
}

function renderNewNodes(nodes) {
  const fresh = nodes.filter((n) => n.new);
  $("new-nodes").replaceChildren(...(fresh.length ? fresh.map((n) => {
    const use = adminButton("Use these sensors in a new station", `adopt-${n.id}`, () => form.prefill(n));
    use.classList.add("primary");
    return el("div", { class: "card new", dataTestid: `node-${n.id}` },
      el("h3", {}, n.id, nodePill(n), forgetButton(n.id)),
      el("div", { class: "sub" }, `${n.fw || "unknown firmware"} · last seen `,
        el("span", { dataLastSeen: n.id }, ago(n.last_seen_s_ago))),
      ...n.sensors.map((s) => sensorRow(n, s, KIND_LABELS[s.kind] || s.kind)), n.sensors.length ? use : "");
  }) : [el("p", { class: "empty" }, "No new sensors. Power a node on and it appears here within seconds.")]));
}

function renderStations(view) {
  const nodes = Object.fromEntries(view.nodes.map((n) => [n.id, n]));
  $("stations").replaceChildren(...(view.stations.length ? view.stations.map((st) => {
    const bindings = [...st.bindings].sort((a, b) => roleOrder(a.role) - roleOrder(b.role));
    const rows = bindings.map((b) => {
      const node = nodes[b.node_id];
      const s = node && node.sensors.find((x) => x.id === b.sensor_id);
      if (!s) return el("div", { class: "missing" }, `${roleLabel(b.role)}: ${b.node_id} · ${b.sensor_id} has not announced itself`);
      return sensorRow(node, s, roleLabel(b.role));
    });
    const missing = st.missing_roles.map((r) => el("div", { class: "missing" }, `No sensor for the ${roleLabel(r).toLowerCase()}`));
    const running = st.state !== "IDLE" && !["FINISHED", "FALSE_START", "DNF", "DQ", "ABORTED"].includes(st.state);
    const edit = adminButton("Edit", `edit-${st.id}`, () => form.edit(st));
    const del = adminButton("Delete", `delete-${st.id}`, () => deleteStation(st));
    const what = st.kind === "sled" ? `Sled pull · ${st.config.distance_m} m` : `Shuffle lane`;
    return el("div", { class: "card", dataTestid: `station-${st.id}` },
      el("h3", {}, st.name, el("span", { class: `pill ${running ? "running" : "idle"}` }, running ? st.state : "idle")),
      el("div", { class: "sub" }, what), ...rows, ...missing, el("div", { class: "form-row" }, edit, del));
  }) : [el("p", { class: "empty" }, "No stations yet: add one below.")]));
}

function cell(text, cls = "") { return el("td", { class: cls }, text ?? "—"); }

function renderHealth(nodes) {
  const rows = [];
  for (const n of nodes) {
    for (const s of n.sensors) {
      const h = s.health;
      const c = h.clock;
      const rate = h.rate.expected_hz ? `${Math.round(h.rate.measured_hz)} of ${h.rate.expected_hz}/s` : "per edge";
      const codes = new Set(h.warnings.map((w) => w.code));
      rows.push(el("tr", { dataTestid: `health-${n.id}-${s.id}`, dataStatus: h.status },
        cell(`${n.id} · ${s.id}`), cell(s.binding ? `${s.binding.station_name} (${s.binding.role_label})` : "new"),
        cell(h.online ? (h.status === "ok" ? "OK" : h.warnings.map((w) => w.code.replaceAll("_", " ")).join(", ")) : "OFFLINE",
          h.status === "error" ? "bad" : h.status === "warning" ? "warn" : ""),
        cell(ago(h.last_seen_s_ago), h.state === "silent" ? "bad" : ""),
        cell(rate, codes.has("low_rate") ? "warn" : ""),
        cell(h.loss_pct === null ? "—" : `${h.loss_pct} %`, codes.has("message_loss") ? "warn" : ""),
        cell(c.synced ? `${c.offset_ms.toFixed(1)} ms ± ${c.error_bound_ms} ms` : "not synced",
          codes.has("clock_error") || codes.has("clock_unsynced") ? "warn" : ""),
        cell(c.jitter_ms === null ? "—" : `${c.jitter_ms} ms`),
        cell(h.zero_drift_n === null ? "—" : `${h.zero_drift_n} N`, codes.has("zero_drift") ? "warn" : ""),
        cell(h.encoder_errors === null || s.kind !== "encoder" ? "—" : String(h.encoder_errors),
          codes.has("encoder_errors") ? "warn" : "")));
    }
  }
  $("health").replaceChildren(...rows);
}

function renderWarnings(report) {
  const box = $("readiness");
  const list = report.warnings || [];
  box.classList.toggle("problems", list.some((w) => w.level === "error"));
  box.dataset.ready = report.ready === false || list.some((w) => w.level === "error") ? "0" : "1";
  if (!list.length) {
    box.replaceChildren(el("h2", {}, "✓ Ready for class"), el("span", { class: "hint" }, "Every station has its sensors, online and calibrated."));
    return;
  }
  const errors = list.filter((w) => w.level === "error").length;
  box.replaceChildren(el("h2", {}, errors ? `${errors} problem(s) to fix before class` : "Ready, with things to check"),
    el("ul", {}, ...list.map((w) => el("li", { class: w.level, dataTestid: "warning", dataCode: w.code }, w.message))));
}

function render(view) {
  state.view = view;
  state.sensors = {};
  renderNewNodes(view.nodes);
  renderMoreNodes(view.new_nodes);
  renderStations(view);
  renderHealth(view.nodes);
  renderWarnings({ warnings: view.warnings });
  form.setNodes(view.nodes);
  for (const w of view.wizards) {
    if (wizard.view && wizard.view.id === w.id) wizard.update(w);
    else if (api.isAdmin) wizard.resume(w, state.sensors[key(w.node_id, w.sensor_id)]);
  }
}

// -- live updates -------------------------------------------------------------------------------------
function onReadings(msg) {
  for (const [k, r] of Object.entries(msg.sensors)) {
    state.readings[k] = r;
    const s = state.sensors[k];
    if (!s) continue;
    for (const box of document.querySelectorAll(`[data-reading="${CSS.escape(k)}"]`)) fillReading(box, s);
  }
  for (const [id, n] of Object.entries(msg.nodes)) {
    for (const span of document.querySelectorAll(`[data-last-seen="${CSS.escape(id)}"]`)) span.textContent = ago(n.last_seen_s_ago);
  }
  for (const w of msg.wizards) wizard.update(w);
}

async function deleteStation(st) {
  if (!window.confirm(`Delete the station ${st.name}? Its results stay.`)) return;
  try {
    await api.send("DELETE", `/api/setup/stations/${st.id}`);
    notice(`Deleted ${st.name}.`, true);
    refresh();
  } catch (err) {
    notice(`Not deleted: ${err.message}`);
  }
}

async function refresh() {
  render(await api.get(state.find ? `/api/setup?find=${encodeURIComponent(state.find)}` : "/api/setup"));
}

function onView(view) {  // a push knows no search: with one typed, ask for the view that matches it
  if (state.find) refresh().catch(() => {});
  else render(view);
}

const SAFETY_REFRESH_MS = 2000;  // a lost push (busy hub, flaky Wi-Fi) never leaves a node's state stale

api.refreshSession().catch((err) => notice(`Hub not reachable: ${err.message}`)).then(() => {
  socket = connect({
    connect: () => socket.emit("setup:join", {}, (view) => onView(view)),
    "setup:view": onView,
    "setup:readings": onReadings,
    "setup:warnings": renderWarnings,
    signed_out: () => api.sessionEnded(),  // the hub ended this session (sign-out elsewhere, a new PIN)
  });
  setInterval(() => { if (socket.connected && !document.hidden) refresh().catch(() => {}); }, SAFETY_REFRESH_MS);
});
