"""Reads what boards need from SQLite: the ranked result rows and the roster, kept in memory.

Boards look at every result (records, personal bests), so reading and parsing the whole table per
request would grow with the gym's history. Instead the reader keeps the ranked rows (status OK with a
time) in memory and brings them up to date before each board:

- rows added since the last sync (``rowid`` above the last one seen; ``INSERT OR REPLACE`` gives a
  replaced row a new rowid, so it is seen too);
- rows changed or deleted by a correction (each one leaves an entry in the ``corrections`` audit
  trail, whose ids only grow): those result ids are read again;
- as a safety net, the count and the sum of times (in ms) of the ranked rows are compared with the
  table's; any difference (a change that bypassed the corrections, or a new row that reused the rowid
  of a deleted one) reloads everything.

A result's course (sled distance or lane route, from ``detail_json``) is parsed once, when its row is
first read. Queries run on their own short-lived read-only connection (WAL lets readers and the hub's
writer work at once), never on the hub's shared, locked one, so a board never makes the pipeline
wait. An in-memory database (tests) has no second connection; the shared one is used then.

``version`` changes whenever the rows or the roster changed, so answers can be cached per version.
"""

from __future__ import annotations

import math
import sqlite3
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import quote

from server.boards.model import HIDDEN_NAME, RANKED_STATUS, Person, ResultRow, course_of, wall_name
from server.store.db import Database

_CHUNK = 500
_COLUMNS = ("SELECT rowid AS rid, id, station_id, class_id, member_id, athlete, status, time_s, finished_at,"
            " json_extract(detail_json, '$.metrics.distance_m') AS d, json_extract(detail_json, '$.metrics.route')"
            " AS route FROM results")
_RANKED = "status = 'OK' AND time_s IS NOT NULL"


def _ms(time_s: float | None) -> int:
    """Seconds to whole milliseconds, rounded as SQLite's ``ROUND`` does (half away from zero)."""
    return int(math.floor(abs(time_s or 0.0) * 1000 + 0.5)) * (1 if (time_s or 0.0) >= 0 else -1)


@dataclass(frozen=True)
class Snapshot:
    """The ranked rows and the roster at one moment; ``version`` names that moment."""

    by_id: dict[str, ResultRow]
    people: dict[str, Person]
    version: tuple[int, int]

    @property
    def rows(self) -> list[ResultRow]:
        return list(self.by_id.values())


class Session:
    """One read connection for the queries of one sync."""

    def __init__(self, conn: sqlite3.Connection | None, db: Database):
        self._conn = conn
        self._db = db

    def query(self, sql: str, params: tuple = ()) -> list[Any]:
        if self._conn is None:
            return self._db.query(sql, params)
        return self._conn.execute(sql, params).fetchall()


class BoardReader:
    """See the module docstring. Thread-safe."""

    def __init__(self, db: Database):
        self.db = db
        self._rows: dict[str, ResultRow] = {}
        self._total_ms = 0
        self._last_rowid = 0
        self._last_correction = 0
        self._rows_version = 0
        self._people: dict[str, Person] = {}
        self._people_key: tuple = ()
        self._people_version = 0
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """``with reader.session() as s:`` one read connection for several queries."""
        if self.db.path == ":memory:":
            yield Session(None, self.db)
            return
        conn = sqlite3.connect(f"file:{quote(self.db.path)}?mode=ro", uri=True, timeout=10.0)
        try:
            yield Session(conn, self.db)
        finally:
            conn.close()

    def snapshot(self) -> Snapshot:
        """The rows and roster as they are now (synced first)."""
        with self._lock, self.session() as s:
            changed = self._sync_rows(s)
            changed = self._sync_people(s) or changed
            if changed or self._snapshot is None:
                self._snapshot = Snapshot(dict(self._rows), dict(self._people),
                                          (self._rows_version, self._people_version))
            return self._snapshot

    def identify(self, member_id: str | None, athlete: str) -> tuple[str, bool]:
        """``(wall name, hidden)`` of an athlete: a member's nickname (or short name), ``"Member"`` and
        hidden for one who opted out; a name without a member as it is. One primary-key lookup on the
        hub's shared connection: cheap enough for the pipeline thread."""
        if not member_id:
            return athlete.strip(), False
        rows = self.db.query("SELECT name, nickname, opt_out FROM members WHERE id = ?", (member_id,))
        if not rows:
            return HIDDEN_NAME, False
        if rows[0]["opt_out"]:
            return HIDDEN_NAME, True
        return wall_name(rows[0]["name"], rows[0]["nickname"]), False

    def latest_class_id(self) -> str | None:
        """The class of the newest result that has one."""
        with self.session() as s:
            hit = s.query("SELECT class_id FROM results WHERE class_id IS NOT NULL"
                          " ORDER BY finished_at DESC, rowid DESC LIMIT 1")
        return hit[0][0] if hit else None

    # syncing (under the lock) ----------------------------------------------------------------------
    def _sync_rows(self, s: Session) -> bool:
        changed = False
        for r in s.query(f"{_COLUMNS} WHERE rowid > ? ORDER BY rowid", (self._last_rowid,)):
            changed = self._put(r) or changed
            self._last_rowid = max(self._last_rowid, r[0])
        touched = s.query("SELECT id, result_id FROM corrections WHERE id > ? ORDER BY id", (self._last_correction,))
        if touched:
            self._last_correction = touched[-1][0]
            ids = sorted({t[1] for t in touched})
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i:i + _CHUNK]
                found = {r[1]: r for r in s.query(f"{_COLUMNS} WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk))}
                for result_id in chunk:
                    gone = (0, result_id, "", None, None, "", "DELETED", None, 0.0, None, None)
                    changed = self._put(found.get(result_id, gone)) or changed
        count, total_ms = s.query(f"SELECT COUNT(*), COALESCE(SUM(CAST(ROUND(time_s * 1000) AS INTEGER)), 0)"
                                  f" FROM results WHERE {_RANKED}")[0]
        if (count, total_ms) != (len(self._rows), self._total_ms):  # changed behind our back: start again
            self._rows.clear()
            self._total_ms = 0
            self._last_rowid = 0
            for r in s.query(f"{_COLUMNS} ORDER BY rowid"):
                self._put(r)
                self._last_rowid = r[0]
            changed = True
        if changed:
            self._rows_version += 1
        return changed

    def _put(self, r: Any) -> bool:
        """Keep (or drop) one row as read; True if the cache changed."""
        _, result_id, station_id, class_id, member_id, athlete, status, time_s, finished_at, d, route = r
        old = self._rows.get(result_id)
        if status != RANKED_STATUS or time_s is None:
            row = None
        else:
            course, distance = course_of(d, route)
            row = ResultRow(result_id, sys.intern(station_id), class_id and sys.intern(class_id), member_id,
                            sys.intern(athlete), RANKED_STATUS, time_s, finished_at, sys.intern(course), distance)
        if old == row:
            return False
        if old is not None:
            self._total_ms -= _ms(old.time_s)
            del self._rows[result_id]
        if row is not None:
            self._total_ms += _ms(row.time_s)
            self._rows[result_id] = row
        return True

    def _sync_people(self, s: Session) -> bool:
        rows = s.query("SELECT id, name, nickname, opt_out FROM members ORDER BY id")
        key = tuple(tuple(r) for r in rows)
        if key == self._people_key:
            return False
        self._people_key = key
        self._people = {r[0]: Person(r[0], r[1], r[2], bool(r[3])) for r in rows}
        self._people_version += 1
        return True
