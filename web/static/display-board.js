// The leaderboard panel and the latest-results list. The instructor picks one board or a rotation
// (``board`` events, ``GET /api/display/board``); the panel shows exactly what ``GET /api/leaderboards``
// answers, in its order, and refreshes when results or corrections come in. While rotating, boards with
// nothing to show yet are skipped. Names are never cut: a list shows the rows that fit whole (the
// panel drops rows from the bottom instead of shrinking type under the wall's 3 % of screen height).

import { el, fmtTime } from "./live.js";
import { outcomeText, statusWord } from "./display-outcome.js";

const ROWS = 8;
const REFRESH_DEBOUNCE_MS = 400;
const EMPTY = {
  class: "Scores start once two athletes have run the same station",
  improved: "Nobody faster than last class yet",
};

function pct(v) { return `${v > 0 ? "+" : ""}${v.toFixed(1)} %`; }
function stations(n) { return n === 1 ? "1 station" : `${n} stations`; }

// true while ``box`` shows more than it has room for
function overflows(box) { return box.scrollHeight > box.clientHeight + 1; }

// drop ``list``'s last rows while ``box`` overflows, keeping at least ``keep``
export function fitRows(box, list, keep = 1) {
  while (overflows(box) && list.children.length > keep) list.lastElementChild.remove();
}

// one badge per row (a record is a PB too): the names need the room. REC only on the standing record.
function badges(row) {
  if (row.record && row.standing !== false) return [el("span", { class: "badge record" }, "REC")];
  if (row.pb) return [el("span", { class: "badge pb" }, "PB")];
  return [];
}

// One row per board type: [rank, name, note (under or beside the name), value, badges].
function rowCells(board, r) {
  switch (board) {
    case "station": return [r.rank, r.athlete, "", fmtTime(r.time_s), badges(r)];
    case "class": return [r.rank, r.athlete, stations(r.stations), `${r.points.toFixed(1)} pts`, []];
    case "pbs": return [r.rank, r.athlete, r.station_name, fmtTime(r.time_s), [el("span", { class: "badge pb" }, "PB")]];
    case "records": return ["", r.athlete, `${r.station_name}${r.course && r.distance_m ? ` ${r.course}` : ""}`,
      fmtTime(r.time_s), []];
    case "improved": return [r.rank, r.athlete, stations(r.stations), pct(r.improvement_pct), []];
    case "chain": return [r.rank, r.athlete, r.club, fmtTime(r.time_s), []];
    default: return [r.rank ?? "", r.athlete ?? "", "", "", []];
  }
}

export class Board {
  constructor({ api, root, title, sub, rows, empty, dots }) {
    this.api = api;  // ./api.js
    this.e = { root, title, sub, rows, empty, dots };
    this.sel = { mode: "rotate", boards: [{ board: "class", station: null }], rotate_s: 12 };
    this.index = 0;
    this.timer = null;
    this.debounce = null;
    this.turn = 0;
    this.last = null;  // the answer shown
    // the panel's height changes with Next up and Latest: draw the rows that fit again
    new ResizeObserver(() => { if (this.last) this.render(this.last); }).observe(root);
  }

  select(sel) {
    const same = JSON.stringify(sel.boards) === JSON.stringify(this.sel.boards) && sel.mode === this.sel.mode;
    this.sel = sel;
    if (!same) this.index = 0;
    this.show(0);
  }

  choice() {
    const list = this.sel.boards && this.sel.boards.length ? this.sel.boards : [{ board: "class", station: null }];
    return list[this.index % list.length];
  }

  async fetchBoard(c) {
    const q = new URLSearchParams({ board: c.board, limit: String(ROWS) });
    if (c.station) q.set("station", c.station);
    if (c.drill) q.set("drill", c.drill);
    if (c.period) q.set("period", c.period);
    try {
      return await this.api.get(`/api/leaderboards?${q}`);
    } catch (e) {
      return null;  // offline (the banner says so) or refused: the rotation moves on
    }
  }

  // fetch and draw the current board, then schedule the next one when rotating; ``skipped`` counts
  // empty boards passed over in this turn
  async show(skipped, firstEmpty = null) {
    clearTimeout(this.timer);
    const turn = ++this.turn;
    const data = await this.fetchBoard(this.choice());
    if (turn !== this.turn) return;  // a newer selection or turn took over
    const list = this.sel.boards || [];
    const rotating = this.sel.mode === "rotate" && list.length > 1;
    let shown = data;
    if (rotating && data && !data.rows.length) {
      const first = firstEmpty || { index: this.index, data };
      if (skipped + 1 < list.length) {
        this.index = (this.index + 1) % list.length;
        return this.show(skipped + 1, first);
      }
      this.index = first.index;  // every board is empty: show the first one of this turn
      shown = first.data;
    }
    if (shown) this.render(shown);
    const next = () => { this.index = (this.index + 1) % list.length; this.show(0); };
    if (rotating) this.timer = setTimeout(next, (this.sel.rotate_s || 12) * 1000);
    else if (!data) this.timer = setTimeout(() => this.show(0), 3000);  // hub unreachable: try again
  }

  refreshSoon() {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  // re-fetch the board on screen (new results) without moving the rotation on
  async refresh() {
    const c = this.choice(), turn = this.turn;
    const data = await this.fetchBoard(c);
    if (data && turn === this.turn && c === this.choice()) this.render(data);
  }

  render(data) {
    this.last = data;
    const { root, title, sub, rows, empty, dots } = this.e;
    root.dataset.board = data.board;
    root.dataset.station = data.station_id || "";
    title.textContent = data.title || data.board;
    sub.textContent = data.subtitle || "";
    rows.replaceChildren(...data.rows.map((r) => {
      const [rank, name, note, value, marks] = rowCells(data.board, r);
      return el("li", { dataTestid: "board-row", dataRank: String(rank), class: r.rank === 1 ? "first" : "" },
        el("span", { class: "rank" }, String(rank)),
        el("span", { class: "name" }, el("span", { class: "who", dataTestid: "board-athlete" }, name),
          note ? el("span", { class: "note", dataTestid: "board-note" }, note) : ""),
        el("span", { class: "value" }, ...marks, el("span", { class: "num", dataTestid: "board-value" }, value)));
    }));
    empty.hidden = data.rows.length > 0;
    empty.textContent = EMPTY[data.board] || "No results yet";
    const list = this.sel.mode === "rotate" ? this.sel.boards : [];
    dots.replaceChildren(...(list.length > 1 ? list.map((_, i) => el("i", { class: i === this.index % list.length ? "on" : "" })) : []));
    fitRows(root, rows, 1);
  }
}

export class Latest {
  // ``box`` is the column the list shares with the board: rows that do not fit there are dropped
  constructor(list, stationName, { max = 5, box = null } = {}) {
    this.list = list;
    this.stationName = stationName;
    this.max = max;
    this.box = box;
    if (box) new ResizeObserver(() => this.fit()).observe(box);  // Next up came or went
  }

  load(results) {
    this.list.replaceChildren();
    for (const r of results.slice(0, this.max).reverse()) this.add(r, false);
  }

  row(id) { return this.list.querySelector(`[data-result-id="${CSS.escape(id)}"]`); }

  add(r, fresh = true) {
    const old = this.row(r.id);
    if (old) old.remove();
    const li = el("li", { class: fresh ? "fresh" : "", dataTestid: "result-row", dataResultId: r.id,
      dataStation: r.station_id || "", dataClassId: r.class_id || "" },
      el("span", { class: `who${r.hidden ? " hidden-member" : ""}` }, r.athlete || "—"),
      el("span", { class: "where" }, this.stationName(r.station_id)),
      el("span", { class: "marks" }),
      el("span", { class: "t" }),
      el("span", { class: "why", dataTestid: "result-reason" }));
    this.draw(li, r);
    this.list.prepend(li);
    while (this.list.children.length > this.max) this.list.lastChild.remove();
    this.fit();
    if (fresh) setTimeout(() => li.classList.remove("fresh"), 4000);
  }

  // the outcome: the time, or the status in a word with the reason in words on a line of its own
  draw(li, r) {
    const t = li.querySelector(".t"), why = li.querySelector(".why");
    t.className = `t status-${r.status}`;
    t.textContent = r.status === "OK" ? fmtTime(r.time_s) : statusWord(r.status);
    const reason = r.status === "OK" ? "" : outcomeText(r);
    why.textContent = reason;
    why.hidden = !reason;
  }

  fit() { if (this.box) fitRows(this.box, this.list, 1); }

  update(r) {
    const li = this.row(r.id);
    if (li) { this.draw(li, r); this.fit(); }
  }

  remove(id) {
    const li = this.row(id);
    if (li) li.remove();
  }

  // a real class started: the demo class's rows leave
  dropClass(classId) {
    for (const li of [...this.list.children]) if (li.dataset.classId === classId) li.remove();
  }

  badges(b) {
    const li = this.row(b.result_id);
    if (!li) return;
    li.badgeData = b;
    li.querySelector(".marks").replaceChildren(...badges(b));
    if (b.record && b.standing) {  // a new record: the earlier ones at this station no longer stand
      for (const other of this.list.children) {
        if (other !== li && other.dataset.station === li.dataset.station && other.badgeData && other.badgeData.record) {
          other.badgeData = { ...other.badgeData, standing: false };
          other.querySelector(".marks").replaceChildren(...badges(other.badgeData));
        }
      }
    }
  }
}
