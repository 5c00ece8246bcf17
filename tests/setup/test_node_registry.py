"""The node registry's status rules that /setup relies on: when the state changed, and a Last Will of an
older boot arriving after the node reconnected does not take it offline."""

from __future__ import annotations

from server.hub.nodes import NodeRegistry
from server.store.db import Database


def test_state_changes_are_timed_and_a_stale_will_is_ignored(tmp_path):
    db = Database(tmp_path / "h.db")
    try:
        reg = NodeRegistry(db, wall_clock=lambda: 1000.0)
        reg.seen("n1", 5_000_000)
        assert reg.status("n1", "online", "boot-a") is True
        view = reg.nodes["n1"]
        assert (view.state_since_us, view.state_since_at) == (5_000_000, 1000.0)
        assert view.state_for_s(7_500_000) == 2.5
        reg.seen("n1", 9_000_000)
        assert reg.status("n1", "online", "boot-b") is False  # rebooted, reconnected: still online
        reg.seen("n1", 9_500_000)
        assert reg.status("n1", "offline", "boot-a") is False  # the old connection's Will, late
        assert view.state == "online" and view.boot_id == "boot-b"
        reg.seen("n1", 12_000_000)
        assert reg.status("n1", "offline", "boot-b") is True
        assert view.state_since_us == 12_000_000 and view.to_dict(12_000_000)["state_since_at"] == 1000.0
        assert NodeRegistry(db).nodes["n1"].state_for_s(1) is None  # before this hub started: unknown
    finally:
        db.close()
