"""Reads what boards need from SQLite: ranked result rows and the roster.

Board queries can scan the whole results table, so they run on their own short-lived read-only
connection (WAL lets readers and the hub's writer work at once) instead of the hub's shared,
locked one: a big board never makes the pipeline wait. An in-memory database (tests) has no
second connection; the shared one is used then.

A result's course (sled distance or lane route, from ``detail_json``) never changes once stored
(corrections change status and time only), so it is parsed once per result and remembered.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator
from urllib.parse import quote

from server.boards.model import HIDDEN_NAME, Person, ResultRow, course_of, wall_name
from server.store.db import Database

_CHUNK = 500
_ROW_SQL = ("SELECT r.id, r.station_id, r.class_id, r.member_id, r.athlete, r.status, r.time_s, r.finished_at"
            " FROM results r LEFT JOIN members m ON m.id = r.member_id"
            " WHERE r.status = 'OK' AND r.time_s IS NOT NULL AND COALESCE(m.opt_out, 0) = 0")


class Session:
    """One read connection for the queries of one board."""

    def __init__(self, conn: sqlite3.Connection | None, db: Database):
        self._conn = conn
        self._db = db

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if self._conn is None:
            return self._db.query(sql, params)
        return self._conn.execute(sql, params).fetchall()


class BoardReader:
    """See the module docstring. Thread-safe; every call opens and closes its own connection."""

    def __init__(self, db: Database):
        self.db = db
        self._courses: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """``with reader.session() as s:`` one read connection for several queries."""
        if self.db.path == ":memory:":
            yield Session(None, self.db)
            return
        conn = sqlite3.connect(f"file:{quote(self.db.path)}?mode=ro", uri=True, timeout=10.0)
        conn.row_factory = sqlite3.Row
        try:
            yield Session(conn, self.db)
        finally:
            conn.close()

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

    # queries ----------------------------------------------------------------------------------------
    def rows(self, s: Session, *, station_id: str | None = None, class_id: str | None = None) -> list[ResultRow]:
        """Results with status OK and a time (members who opted out already left out), with courses."""
        sql, params = _ROW_SQL, []
        if station_id is not None:
            sql += " AND r.station_id = ?"
            params.append(station_id)
        if class_id is not None:
            sql += " AND r.class_id = ?"
            params.append(class_id)
        raw = s.query(sql, tuple(params))
        courses = self._courses_of(s, [r["id"] for r in raw])
        return [ResultRow(r["id"], r["station_id"], r["class_id"], r["member_id"], r["athlete"], r["status"],
                          r["time_s"], r["finished_at"], *courses[r["id"]]) for r in raw]

    def people(self, s: Session, member_ids: Iterable[str | None]) -> dict[str, Person]:
        ids = sorted({m for m in member_ids if m})
        out: dict[str, Person] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            for r in s.query(f"SELECT id, name, nickname, opt_out FROM members WHERE id IN ({','.join('?' * len(chunk))})",
                             tuple(chunk)):
                out[r["id"]] = Person(r["id"], r["name"], r["nickname"], bool(r["opt_out"]))
        return out

    def station_of(self, s: Session, result_id: str) -> str | None:
        hit = s.query("SELECT station_id FROM results WHERE id = ?", (result_id,))
        return hit[0]["station_id"] if hit else None

    def latest_class_id(self, s: Session) -> str | None:
        """The class of the newest result that has one."""
        hit = s.query("SELECT class_id FROM results WHERE class_id IS NOT NULL ORDER BY finished_at DESC, rowid DESC"
                      " LIMIT 1")
        return hit[0]["class_id"] if hit else None

    def _courses_of(self, s: Session, ids: list[str]) -> dict[str, tuple[str, float | None]]:
        with self._lock:
            missing = [i for i in ids if i not in self._courses]
        found: dict[str, tuple[str, float | None]] = {}
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i:i + _CHUNK]
            for r in s.query("SELECT id, json_extract(detail_json, '$.metrics.distance_m') AS d,"
                             " json_extract(detail_json, '$.metrics.route') AS route FROM results"
                             f" WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk)):
                found[r["id"]] = course_of(r["d"], r["route"])
        with self._lock:
            self._courses.update(found)
            return {i: self._courses.get(i, ("", None)) for i in ids}

