"""Calibrations measured on ``/setup``: one row per successful wizard (table ``calibrations``, migration
0003). The newest row of a sensor is what the hub keeps its node running with: it pushes it again when
the node comes back with other settings (a reboot loses settings pushed at run time)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from server.store.db import Database


@dataclass(frozen=True)
class Calibration:
    id: int
    node_id: str
    sensor_id: str
    kind: str
    params: dict[str, Any]     # what the node runs with (calibrate/configure params)
    report: dict[str, Any]     # how it was measured
    user_name: str
    calibrated_at: float       # Unix time (s)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "node_id": self.node_id, "sensor_id": self.sensor_id, "kind": self.kind,
                "params": self.params, "report": self.report, "user_name": self.user_name,
                "calibrated_at": self.calibrated_at}


def _row(row: Any) -> Calibration:
    return Calibration(row["id"], row["node_id"], row["sensor_id"], row["kind"], json.loads(row["params_json"]),
                       json.loads(row["report_json"]), row["user_name"], row["calibrated_at"])


class CalibrationStore:
    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock

    def add(self, node_id: str, sensor_id: str, kind: str, params: dict[str, Any], report: dict[str, Any],
            user_name: str = "") -> Calibration:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO calibrations (node_id, sensor_id, kind, params_json, report_json, user_name,"
                " calibrated_at) VALUES (?,?,?,?,?,?,?)",
                (node_id, sensor_id, kind, json.dumps(params), json.dumps(report), user_name, self._wall()))
            row_id = cur.lastrowid
        return _row(self.db.query("SELECT * FROM calibrations WHERE id = ?", (row_id,))[0])

    def current(self, node_id: str, sensor_id: str) -> Calibration | None:
        rows = self.db.query("SELECT * FROM calibrations WHERE node_id = ? AND sensor_id = ? ORDER BY id DESC LIMIT 1",
                             (node_id, sensor_id))
        return _row(rows[0]) if rows else None

    def current_all(self) -> dict[tuple[str, str], Calibration]:
        rows = self.db.query("SELECT c.* FROM calibrations c JOIN (SELECT MAX(id) AS id FROM calibrations"
                             " GROUP BY node_id, sensor_id) latest ON latest.id = c.id")
        return {(r["node_id"], r["sensor_id"]): _row(r) for r in rows}

    def history(self, node_id: str, sensor_id: str, limit: int = 20) -> list[Calibration]:
        return [_row(r) for r in self.db.query(
            "SELECT * FROM calibrations WHERE node_id = ? AND sensor_id = ? ORDER BY id DESC LIMIT ?",
            (node_id, sensor_id, limit))]
