"""Boards as the API serves them: picks the rows (today, a class, all time), runs the pure board
function and wraps the answer with a title. ``GET /api/leaderboards`` calls :meth:`Leaderboards.board`.

Answers are cached per data version (:attr:`server.boards.reader.Snapshot.version`, the day, the
stations): rotating walls and several screens asking for the same board cost nothing until a result,
a correction or the roster changes.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable

from server.boards import boards as b
from server.boards.chain import PERIODS, chain_board, drill_label, month_start
from server.boards.reader import BoardReader, Snapshot
from server.errors import InvalidInput, NotFound

BOARDS = ("station", "class", "pbs", "records", "improved", "chain")
MAX_LIMIT = 50
_CACHE_SIZE = 64


def day_bounds(now_s: float, tz: tzinfo | None = None) -> tuple[float, float]:
    """Unix times of the midnight before ``now_s`` and the next one, in ``tz`` (None = the hub's own
    zone; calendar arithmetic, so a day with a DST change is 23 or 25 hours long)."""
    start = datetime.fromtimestamp(now_s, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


class Leaderboards:
    """Builds board answers. ``current_class()`` names the running class (None when none runs);
    ``chain`` (a :class:`server.chain.store.ChainStore`, None on a hub not in a chain) feeds chain boards."""

    def __init__(self, reader: BoardReader, stations: Any, current_class: Callable[[], str | None] = lambda: None,
                 wall_clock: Callable[[], float] = time.time, tz: tzinfo | None = None, chain: Any = None):
        self.chain = chain
        self.reader = reader
        self.stations = stations
        self.current_class = current_class
        self._wall = wall_clock
        self._tz = tz
        self._cache: dict[tuple, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def default_rotation(self) -> list[dict[str, Any]]:
        """Class overall, each station today, PBs, records, most improved."""
        return ([{"board": "class", "station": None}]
                + [{"board": "station", "station": s.id} for s in self.stations.all()]
                + [{"board": name, "station": None} for name in ("pbs", "records", "improved")])

    def board(self, board: str | None, *, station: str | None = None, class_id: str | None = None,
              limit: int = 10, drill: str | None = None, period: str | None = None) -> dict[str, Any]:
        if board not in BOARDS:
            raise InvalidInput(f"query parameter 'board' must be one of {', '.join(BOARDS)}; got {board!r}")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"query parameter 'limit' must be 1..{MAX_LIMIT}, got {limit}")
        if board == "chain":
            return self.chain_board(drill, period or "month", limit)
        names = {s.id: s.name for s in self.stations.all()}
        if board == "station":
            if not station:
                raise InvalidInput("board=station needs the query parameter 'station' (a station id)")
            if station not in names:
                raise NotFound(f"no station with id {station!r}")
        else:
            station = None
        if board in ("class", "improved"):
            class_id = class_id or self.current_class() or self.reader.latest_class_id()
        else:
            class_id = None
        now = self._wall()
        since, until = day_bounds(now, self._tz)
        snap = self.reader.snapshot()
        key = (board, station, class_id, limit, since, snap.version, tuple(names.items()))
        answer = self._cached(key, lambda: self._build(board, station, class_id, limit, since, until, snap, names))
        return {**answer, "generated_at": now}

    def chain_board(self, drill: str | None, period: str, limit: int) -> dict[str, Any]:
        """Best per athlete on ``drill`` (None = the first drill known) across the chain's gyms, this
        ``month`` or ``all`` time; not cached (one indexed query)."""
        if period not in PERIODS:
            raise InvalidInput(f"query parameter 'period' must be one of {', '.join(PERIODS)}; got {period!r}")
        now = self._wall()
        out: dict[str, Any] = {"board": "chain", "station_id": None, "class_id": None, "course": None,
                               "drill": drill, "period": period, "since": None, "until": None,
                               "title": "Chain", "subtitle": "this hub is not in a chain", "rows": [],
                               "generated_at": now}
        if self.chain is None:
            return out
        drill = drill or next(iter(self.chain.drills()), None)
        if drill is None:
            return {**out, "subtitle": "no shared results yet"}
        since = month_start(now, self._tz) if period == "month" else None
        made = chain_board(self.chain.ranked(drill, since), limit)
        return {**out, "drill": drill, "course": drill.partition(":")[2], "since": since, "rows": made["rows"],
                "title": f"Chain · {drill_label(drill)}",
                "subtitle": f"{'this month' if period == 'month' else 'all time'} · {made['clubs']} club(s)"}

    def badges(self, result_id: str) -> dict[str, Any]:
        """PB/record badges of one result (all False when it does not rank or is unknown)."""
        snap = self.reader.snapshot()

        def build() -> dict[str, Any]:
            target = snap.by_id.get(result_id)
            same = [r for r in snap.by_id.values()
                    if target is not None and (r.station_id, r.course) == (target.station_id, target.course)]
            return b.badges(result_id, same, snap.people)
        return self._cached(("badges", result_id, snap.version), build)

    def _cached(self, key: tuple, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        made = build()
        with self._lock:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = made
        return made

    def _build(self, board: str, station: str | None, class_id: str | None, limit: int, since: float,
               until: float, snap: Snapshot, names: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"board": board, "station_id": station, "class_id": class_id, "course": None,
                               "since": None, "until": None}
        rows, people = snap.rows, snap.people
        if board == "station":
            assert station is not None
            made = b.station_board(rows, people, station, since, until, limit)
            out.update(course=made["course"], since=since, until=until, title=f"{names[station]} · today",
                       subtitle=made["course"] or "")
        elif board == "class":
            made = b.class_board(rows, people, class_id, limit) if class_id else {"rows": []}
            out.update(title="Class overall", subtitle="points: 100 for the fastest at each station")
        elif board == "improved":
            made = b.improved_board(rows, people, class_id, limit) if class_id else {"rows": []}
            out.update(title="Most improved", subtitle="vs their previous class")
        elif board == "pbs":
            made = b.pb_board(rows, people, since, until, limit)
            out.update(since=since, until=until, title="Personal bests · today", subtitle="")
        else:
            made = b.records_board(rows, people, list(names))
            out.update(title="All-time records", subtitle="best per station and distance")
        for row in made["rows"]:
            if "station_id" in row:
                row["station_name"] = names.get(row["station_id"], row["station_id"])
        out["rows"] = made["rows"]
        return out
