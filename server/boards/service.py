"""Boards as the API serves them: picks the rows (today, a class, all time), runs the pure board
function and wraps the answer with a title. ``GET /api/leaderboards`` calls :meth:`Leaderboards.board`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable

from server.boards import boards as b
from server.boards.reader import BoardReader

BOARDS = ("station", "class", "pbs", "records", "improved")
MAX_LIMIT = 50


class BoardError(Exception):
    """A bad board request: HTTP ``status`` and a message saying what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def day_bounds(now_s: float, tz: tzinfo | None = None) -> tuple[float, float]:
    """Unix times of the midnight before ``now_s`` and the next one, in ``tz`` (None = the hub's own
    zone; calendar arithmetic, so a day with a DST change is 23 or 25 hours long)."""
    start = datetime.fromtimestamp(now_s, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


class Leaderboards:
    """Builds board answers. ``current_class()`` names the running class (None when none runs)."""

    def __init__(self, reader: BoardReader, stations: Any, current_class: Callable[[], str | None] = lambda: None,
                 wall_clock: Callable[[], float] = time.time, tz: tzinfo | None = None):
        self.reader = reader
        self.stations = stations
        self.current_class = current_class
        self._wall = wall_clock
        self._tz = tz

    def default_rotation(self) -> list[dict[str, Any]]:
        """Class overall, each station today, PBs, records, most improved."""
        return ([{"board": "class", "station": None}]
                + [{"board": "station", "station": s.id} for s in self.stations.all()]
                + [{"board": name, "station": None} for name in ("pbs", "records", "improved")])

    def board(self, board: str | None, *, station: str | None = None, class_id: str | None = None,
              limit: int = 10) -> dict[str, Any]:
        if board not in BOARDS:
            raise BoardError(400, f"query parameter 'board' must be one of {', '.join(BOARDS)}; got {board!r}")
        if not 1 <= limit <= MAX_LIMIT:
            raise BoardError(400, f"query parameter 'limit' must be 1..{MAX_LIMIT}, got {limit}")
        names = {s.id: s.name for s in self.stations.all()}
        now = self._wall()
        since, until = day_bounds(now, self._tz)
        out: dict[str, Any] = {"board": board, "station_id": None, "class_id": None, "course": None,
                               "since": None, "until": None, "generated_at": now}
        with self.reader.session() as s:
            if board == "station":
                if not station:
                    raise BoardError(400, "board=station needs the query parameter 'station' (a station id)")
                if station not in names:
                    raise BoardError(404, f"no station with id {station!r}")
                rows = self.reader.rows(s, station_id=station)
                people = self.reader.people(s, (r.member_id for r in rows))
                made = b.station_board(rows, people, station, since, until, limit)
                out.update(station_id=station, course=made["course"], since=since, until=until,
                           title=f"{names[station]} · today", subtitle=made["course"] or "")
            elif board == "class":
                class_id = self._class_id(s, class_id)
                rows = self.reader.rows(s, class_id=class_id) if class_id else []
                people = self.reader.people(s, (r.member_id for r in rows))
                made = b.class_board(rows, people, class_id, limit) if class_id else {"rows": []}
                out.update(class_id=class_id, title="Class overall",
                           subtitle="100 × station best ÷ own best")
            elif board == "improved":
                class_id = self._class_id(s, class_id)
                rows = self.reader.rows(s) if class_id else []
                people = self.reader.people(s, (r.member_id for r in rows))
                made = b.improved_board(rows, people, class_id, limit) if class_id else {"rows": []}
                out.update(class_id=class_id, title="Most improved", subtitle="vs their previous class")
            elif board == "pbs":
                rows = self.reader.rows(s)
                people = self.reader.people(s, (r.member_id for r in rows))
                made = b.pb_board(rows, people, since, until, limit)
                out.update(since=since, until=until, title="Personal bests · today", subtitle="")
            else:
                rows = self.reader.rows(s)
                people = self.reader.people(s, (r.member_id for r in rows))
                made = b.records_board(rows, people, list(names))
                out.update(title="All-time records", subtitle="best per station and distance")
        for row in made["rows"]:
            if "station_id" in row:
                row["station_name"] = names.get(row["station_id"], row["station_id"])
        out["rows"] = made["rows"]
        return out

    def _class_id(self, s: Any, asked: str | None) -> str | None:
        """The class asked for, else the running class, else the class of the newest result."""
        return asked or self.current_class() or self.reader.latest_class_id(s)

    def badges(self, result_id: str) -> dict[str, Any]:
        """PB/record badges of one result (all False when it does not rank or is unknown)."""
        with self.reader.session() as s:
            station_id = self.reader.station_of(s, result_id)
            rows = self.reader.rows(s, station_id=station_id) if station_id else []
            people = self.reader.people(s, (r.member_id for r in rows))
        return b.badges(result_id, rows, people)
