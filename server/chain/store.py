"""The chain's results on this hub (table ``chain_results``, migration 0006): this gym's shared results
and those received from the other gyms, the latest version of each.

:meth:`ChainStore.put` is idempotent on the record's stable id: a version at or below the one held
changes nothing (a redelivery, a replay, an old version arriving late), a higher one replaces the row
(a correction). Every change takes the next ``seq``, this hub's change counter, which the
reconciliation feed (``GET /api/results?since=<seq>``) pages on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from server.chain.record import ChainRecord
from server.store.db import Database

_FIELDS = ("gym_id", "attempt_id", "version", "club", "athlete", "person", "station_id", "drill", "status",
           "time_s", "finished_at")


@dataclass(frozen=True)
class StoredRecord:
    """A record as held here, with this hub's change counter ``seq``."""

    record: ChainRecord
    seq: int


def _record(row) -> ChainRecord:
    return ChainRecord(**{f: row[f] for f in _FIELDS})


class ChainStore:
    """Reads and writes ``chain_results`` and ``chain_cursor``. ``wall_clock`` is Unix time (s)."""

    def __init__(self, db: Database, wall_clock: Callable[[], float]):
        self.db = db
        self._wall = wall_clock

    def put(self, records: Iterable[ChainRecord]) -> list[ChainRecord]:
        """Store what is newer than what is held, in one transaction; returns the records that changed
        something (the others were already known)."""
        changed: list[ChainRecord] = []
        with self.db.transaction() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM chain_results").fetchone()[0]
            for r in records:
                held = conn.execute("SELECT version FROM chain_results WHERE key = ?", (r.key,)).fetchone()
                if held is not None and held[0] >= r.version:
                    continue
                seq += 1
                conn.execute(
                    "INSERT OR REPLACE INTO chain_results (key, gym_id, attempt_id, version, club, athlete, person,"
                    " station_id, drill, status, time_s, finished_at, received_at, seq)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r.key, r.gym_id, r.attempt_id, r.version, r.club, r.athlete, r.person, r.station_id, r.drill,
                     r.status, r.time_s, r.finished_at, self._wall(), seq))
                changed.append(r)
        return changed

    def get(self, key: str) -> ChainRecord | None:
        rows = self.db.query("SELECT * FROM chain_results WHERE key = ?", (key,))
        return _record(rows[0]) if rows else None

    def since(self, seq: int, limit: int, gym_id: str | None = None) -> list[StoredRecord]:
        """Records changed after ``seq``, oldest change first (only ``gym_id``'s when given)."""
        where = "seq > ?"
        params: list[Any] = [seq]
        if gym_id is not None:
            where += " AND gym_id = ?"
            params.append(gym_id)
        rows = self.db.query(f"SELECT * FROM chain_results WHERE {where} ORDER BY seq LIMIT ?", (*params, limit))
        return [StoredRecord(_record(r), r["seq"]) for r in rows]

    def ranked(self, drill: str | None = None, since: float | None = None) -> list[ChainRecord]:
        """Records a board may rank: status OK with a positive time, of ``drill`` and finished at or
        after ``since`` (Unix s) when given."""
        where = ["status = 'OK'", "time_s > 0"]
        params: list[Any] = []
        if drill is not None:
            where.append("drill = ?")
            params.append(drill)
        if since is not None:
            where.append("finished_at >= ?")
            params.append(since)
        rows = self.db.query(f"SELECT * FROM chain_results WHERE {' AND '.join(where)}", tuple(params))
        return [_record(r) for r in rows]

    def drills(self) -> list[str]:
        """Every drill with a ranked result, sorted."""
        return [r[0] for r in self.db.query("SELECT DISTINCT drill FROM chain_results WHERE status = 'OK'"
                                            " AND time_s > 0 ORDER BY drill")]

    def counts(self) -> dict[str, int]:
        """Records held per gym."""
        return {r[0]: r[1] for r in self.db.query("SELECT gym_id, COUNT(*) FROM chain_results GROUP BY gym_id")}

    # the publisher's cursors ------------------------------------------------------------------------
    def cursor(self, name: str) -> Any:
        """A saved cursor (an integer id, or a Unix time for ``members_updated_at``); 0 when none."""
        rows = self.db.query("SELECT value FROM chain_cursor WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def set_cursor(self, name: str, value: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO chain_cursor (name, value) VALUES (?, ?)", (name, value))
