"""What the hub knows of each sensor node: status (from the retained status and Last Will),
descriptor, last health report, message counts and last-seen times.

Runs on the pipeline thread. ``snapshot()`` is what ``/api/health``, ``/api/nodes`` and ``/setup``
show. Times: ``*_us`` on the hub clock, ``*_at`` in Unix seconds for people.

A node is ``online`` from its ``status: online`` until its ``status: offline`` (a clean stop, or the
broker's Last Will ~1.5 × keepalive after the connection went silent). An ``offline`` of an older
boot (a Last Will that arrives after the node already reconnected) does not take it offline.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from server.store.db import Database


@dataclass
class NodeView:
    node_id: str
    state: str = "unknown"
    boot_id: str | None = None
    fw: str = ""
    sensors: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    last_seen_us: int = 0
    last_seen_at: float = 0.0
    msgs: int = 0
    recent_rx_us: deque = field(default_factory=deque)  # receipt times of the last 5 s
    state_since_us: int = 0       # hub time of the last state change (0: before this hub started)
    state_since_at: float = 0.0   # the same in Unix time

    def to_dict(self, now_us: int, clock: dict[str, Any] | None = None) -> dict[str, Any]:
        window = [t for t in self.recent_rx_us if now_us - t <= 5_000_000]
        return {
            "id": self.node_id, "state": self.state, "online": self.state == "online",
            "boot_id": self.boot_id, "fw": self.fw, "sensors": self.sensors, "health": self.health,
            "last_seen_at": self.last_seen_at or None,
            "last_seen_s_ago": round((now_us - self.last_seen_us) / 1e6, 2) if self.last_seen_us else None,
            "msg_rate_hz": round(len(window) / 5.0, 1), "msgs": self.msgs, "clock": clock or {},
            "state_since_at": self.state_since_at or None,
        }

    def state_for_s(self, now_us: int) -> float | None:
        """How long the node has been in its present state (None if it changed before this hub started)."""
        return (now_us - self.state_since_us) / 1e6 if self.state_since_us else None


class NodeRegistry:
    """Tracks nodes; persists status and descriptor so ``/setup`` survives a restart."""

    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock
        self.nodes: dict[str, NodeView] = {}
        for row in db.query("SELECT * FROM nodes"):
            desc = json.loads(row["descriptor_json"] or "{}")
            self.nodes[row["id"]] = NodeView(
                row["id"], state="offline" if row["state"] == "online" else row["state"],
                boot_id=row["boot_id"], fw=row["fw"] or "", sensors=desc.get("sensors", []),
                last_seen_at=row["last_seen"],
            )

    def _view(self, node_id: str) -> NodeView:
        view = self.nodes.get(node_id)
        if view is None:
            view = self.nodes[node_id] = NodeView(node_id)
        return view

    def seen(self, node_id: str, rx_us: int) -> None:
        """Count one accepted message from ``node_id`` received at ``rx_us``."""
        v = self._view(node_id)
        v.msgs += 1
        v.last_seen_us = rx_us
        v.last_seen_at = self._wall()
        recent = v.recent_rx_us
        recent.append(rx_us)
        while rx_us - recent[0] > 5_000_000 or len(recent) > 4096:  # O(1) per message, not a rebuild
            recent.popleft()

    def status(self, node_id: str, state: str, boot_id: str | None) -> bool:
        """Record a status message; True when the state changed. A Last Will of an older boot is ignored."""
        v = self._view(node_id)
        if state == "offline" and boot_id and v.boot_id and boot_id != v.boot_id and v.state == "online":
            return False
        changed = v.state != state
        v.state = state
        if changed:
            v.state_since_us, v.state_since_at = v.last_seen_us, self._wall()
        if boot_id:
            v.boot_id = boot_id
        self._persist(v)
        return changed

    def descriptor(self, node_id: str, boot_id: str, fw: str, sensors: list[dict[str, Any]]) -> None:
        v = self._view(node_id)
        v.boot_id, v.fw, v.sensors = boot_id, fw, sensors
        self._persist(v)

    def health(self, node_id: str, report: dict[str, Any]) -> None:
        self._view(node_id).health = report

    def online_count(self) -> int:
        return sum(1 for v in self.nodes.values() if v.state == "online")

    def _persist(self, v: NodeView) -> None:
        now = self._wall()
        desc = json.dumps({"sensors": v.sensors})
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO nodes (id, boot_id, fw, descriptor_json, state, first_seen, last_seen)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET boot_id=excluded.boot_id,"
                " fw=excluded.fw, descriptor_json=excluded.descriptor_json, state=excluded.state,"
                " last_seen=excluded.last_seen",
                (v.node_id, v.boot_id, v.fw, desc, v.state, now, now),
            )

    # forgetting (admin's "forget" and the expiry of unadopted announcements: server/setup/forget.py) ----
    def forget(self, node_id: str) -> bool:
        """Drop ``node_id`` from memory and from the database; True if it was known."""
        known = self.nodes.pop(node_id, None) is not None
        with self.db.transaction() as conn:
            known = conn.execute("DELETE FROM nodes WHERE id = ?", (node_id,)).rowcount > 0 or known
        return known

