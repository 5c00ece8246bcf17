"""Stations (a sled pull or a shuffle lane set) and the sensors bound to their roles."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from server.store.db import Database

SLED_ROLES = ("force", "wheel")
LANE_FIXED_ROLES = ("start", "finish", "turn")


@dataclass(frozen=True)
class Binding:
    """Sensor ``node_id/sensor_id`` plays ``role`` at a station (roles: sled force, wheel; lane start, finish, splitN, turn)."""

    role: str
    node_id: str
    sensor_id: str


@dataclass(frozen=True)
class Station:
    id: str
    kind: str  # "sled" | "lane"
    name: str
    config: dict[str, Any]
    bindings: tuple[Binding, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "name": self.name, "config": self.config,
            "bindings": [{"role": b.role, "node_id": b.node_id, "sensor_id": b.sensor_id} for b in self.bindings],
        }


def valid_role(kind: str, role: str) -> bool:
    """True when ``role`` exists for a station of ``kind``."""
    if kind == "sled":
        return role in SLED_ROLES
    return role in LANE_FIXED_ROLES or (role.startswith("split") and role[5:].isdigit() and int(role[5:]) >= 1)


class StationStore:
    """Reads and writes ``stations`` and ``bindings``."""

    def __init__(self, db: Database):
        self.db = db

    def upsert(self, station: Station) -> None:
        """Create or replace a station with its bindings, in one transaction."""
        for b in station.bindings:
            if not valid_role(station.kind, b.role):
                raise ValueError(f"role '{b.role}' does not exist for a {station.kind} station")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO stations (id, kind, name, config_json, created_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, name=excluded.name,"
                " config_json=excluded.config_json",
                (station.id, station.kind, station.name, json.dumps(station.config), time.time()),
            )
            conn.execute("DELETE FROM bindings WHERE station_id = ?", (station.id,))
            for b in station.bindings:
                conn.execute(
                    "DELETE FROM bindings WHERE node_id = ? AND sensor_id = ?", (b.node_id, b.sensor_id)
                )
                conn.execute(
                    "INSERT INTO bindings (station_id, role, node_id, sensor_id) VALUES (?,?,?,?)",
                    (station.id, b.role, b.node_id, b.sensor_id),
                )

    def delete(self, station_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM stations WHERE id = ?", (station_id,)).rowcount > 0

    def all(self) -> list[Station]:
        stations = self.db.query("SELECT * FROM stations ORDER BY created_at, id")
        bindings = self.db.query("SELECT * FROM bindings ORDER BY station_id, role")
        by_station: dict[str, list[Binding]] = {}
        for b in bindings:
            by_station.setdefault(b["station_id"], []).append(Binding(b["role"], b["node_id"], b["sensor_id"]))
        return [
            Station(s["id"], s["kind"], s["name"], json.loads(s["config_json"]), tuple(by_station.get(s["id"], ())))
            for s in stations
        ]

    def get(self, station_id: str) -> Station | None:
        return next((s for s in self.all() if s.id == station_id), None)
