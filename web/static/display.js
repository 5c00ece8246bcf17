// Wall display (docs/display.md): class clock, a tile per station with live progress and results, the
// leaderboard the instructor picked (or a rotation), the latest results, and audio cues.
//
// Names on this page come only from the display's own events (display:armed, display:result,
// display:state), which carry wall names: a member who opted out shows as "Member".
// After every (re)connect the page asks for display:state, so it recovers from a hub restart or a
// Wi-Fi drop without a reload; live.js shows the offline banner meanwhile.

import { Api } from "./api.js";
import { connect } from "./live.js";
import { Tiles } from "./display-tiles.js";
import { Board, Latest } from "./display-board.js";
import { ClassClock } from "./display-clock.js";
import { NextUp } from "./display-next.js";
import { Cues } from "./display-audio.js";

const $ = (id) => document.getElementById(id);
const stations = new Map();  // id -> station (name, kind, start_mode, countdown_s, ...)

const tiles = new Tiles($("tiles"));
const board = new Board({ api: new Api(), root: $("board"), title: $("board-title"), sub: $("board-sub"), rows: $("board-rows"),
  empty: $("board-empty"), dots: $("board-dots") });
const latest = new Latest($("results"), (id) => (stations.get(id) || {}).name || id, { box: $("results").parentElement });
const clock = new ClassClock({ phase: $("phase"), round: $("round"), clock: $("clock") });
const nextUp = new NextUp({ root: $("next"), title: $("next-title"), list: $("next-list") });
const cues = new Cues($("sound"));
const stats = { frames: 0, states: 0 };
window.sledhub = { tiles, board, latest, clock, cues, stats, nextUp };
const DEMO_CLASS = "demo";  // the demo class's results leave Latest when a real class starts

let socket = null;

function askBadges(r) {
  if (r.status !== "OK" || !socket) return;
  socket.emit("display:badges", { result_id: r.id }, (b) => {
    if (!b || !b.ok) return;
    tiles.badges(b, r.station_id);
    latest.badges(b);
  });
}

function loadState(s) {
  stats.states += 1;
  stations.clear();
  for (const st of s.stations) stations.set(st.id, st);
  tiles.load(s);
  nextUp.load(s.next_up);
  latest.load(s.results);
  for (const r of s.results.slice(0, 5)) askBadges(r);
  for (const t of Object.values(s.tiles || {})) if (t.result) askBadges(t.result);
  board.select(s.board);
  clock.load(s);
  document.body.dataset.synced = String(stats.states);
}

// a class event moved the class on: ask again for who is up next (display:state has wall names;
// the class event itself has display names)
let nextTimer = null;
function refreshNextUp() {
  clearTimeout(nextTimer);
  nextTimer = setTimeout(() => {
    if (socket) socket.emit("display:state", {}, (s) => { if (s) nextUp.load(s.next_up); });
  }, 150);
}

function onClass(view) {
  clock.classView(view);
  if (view && view.id !== DEMO_CLASS && view.state !== "SETUP") latest.dropClass(DEMO_CLASS);
  refreshNextUp();
  board.refreshSoon();
}

// GO: every station's GO-signal time on the hub clock; count down on the tiles and beep in step
function onGo(g) {
  const now = performance.now() / 1000;
  for (const [sid, tGo] of Object.entries(g.signals || {})) {
    const goIn = (tGo - g.now_us) / 1e6, st = stations.get(sid) || {};
    const random = st.start_mode === "REACTION_RANDOM";
    tiles.countdown(sid, now + goIn, random);
    cues.countdown({ key: `${g.t_us}:${tGo}`, go_in_s: goIn, beeps: random ? 0 : Math.floor(st.countdown_s ?? 3) }, now);
  }
}

socket = connect({
  "display:armed": (a) => tiles.armed(a),
  go: onGo,
  finish: (f) => tiles.finish(f),  // provisional: the result of record follows
  attempt: (a) => tiles.state(a),
  false_start: (f) => tiles.falseStart(f),
  frames: (payload, ack) => {
    stats.frames += 1;
    if (typeof ack === "function") ack();  // ready for the next frame
    tiles.frames(payload.stations);
  },
  "display:result": (r) => {
    tiles.result(r);
    latest.add(r);
    askBadges(r);
    board.refreshSoon();
  },
  result: (r) => {  // corrections re-send a result: update what is shown (never its name)
    tiles.correct(r);
    latest.update(r);
    board.refreshSoon();
  },
  result_deleted: (d) => { latest.remove(d.id); board.refreshSoon(); },
  correction: () => board.refreshSoon(),
  chain: () => board.refreshSoon(),  // another gym's result arrived or changed (chain boards)
  board: (sel) => board.select(sel),
  demo: (d) => clock.demo(d),
  class: onClass,
});
socket.on("connect", () => socket.emit("display:state", {}, loadState));
