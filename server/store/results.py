"""Finished attempts: saved (committed) before anyone is told about them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.store.db import Database


@dataclass(frozen=True)
class StoredResult:
    """A finished attempt as the API returns it. Times in seconds; ``finished_at`` is Unix time (s)."""

    id: str
    station_id: str
    heat_id: str | None
    class_id: str | None
    member_id: str | None
    athlete: str
    status: str
    reason: str
    time_s: float | None
    reaction_s: float | None
    detail: dict[str, Any]
    finished_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "station_id": self.station_id, "heat_id": self.heat_id,
            "class_id": self.class_id, "member_id": self.member_id, "athlete": self.athlete,
            "status": self.status, "reason": self.reason, "time_s": self.time_s,
            "reaction_s": self.reaction_s, "finished_at": self.finished_at,
            "reason_text": None, **self.detail,  # results stored before reason_text have none
        }


def _row(row) -> StoredResult:
    return StoredResult(
        id=row["id"], station_id=row["station_id"], heat_id=row["heat_id"], class_id=row["class_id"],
        member_id=row["member_id"], athlete=row["athlete"], status=row["status"], reason=row["reason"],
        time_s=row["time_s"], reaction_s=row["reaction_s"], detail=json.loads(row["detail_json"]),
        finished_at=row["finished_at"],
    )


class ResultStore:
    """Reads and writes the ``results`` table."""

    def __init__(self, db: Database):
        self.db = db

    def save(self, result: StoredResult) -> None:
        """Insert or replace one result and commit it."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO results (id, station_id, heat_id, class_id, member_id, athlete, status,"
                " reason, time_s, reaction_s, detail_json, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (result.id, result.station_id, result.heat_id, result.class_id, result.member_id, result.athlete,
                 result.status, result.reason, result.time_s, result.reaction_s,
                 json.dumps(result.detail, separators=(",", ":")), result.finished_at),
            )

    def get(self, result_id: str) -> StoredResult | None:
        rows = self.db.query("SELECT * FROM results WHERE id = ?", (result_id,))
        return _row(rows[0]) if rows else None

    def recent(self, limit: int = 50, station_id: str | None = None, class_id: str | None = None) -> list[StoredResult]:
        """Finished attempts, newest first."""
        where, params = [], []
        if station_id:
            where.append("station_id = ?")
            params.append(station_id)
        if class_id:
            where.append("class_id = ?")
            params.append(class_id)
        sql = "SELECT * FROM results" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY finished_at DESC, rowid DESC LIMIT ?"
        return [_row(r) for r in self.db.query(sql, (*params, limit))]

    def count(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM results")[0][0]
