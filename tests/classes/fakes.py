"""A fake hub for class-service tests: records arm/go/stop/abort calls and finishes attempts on demand,
storing and announcing results the way ``server.hub.results_writer.ResultWriter`` does (commit, then
listeners)."""

from __future__ import annotations

import itertools
from typing import Any

from server.hub.attempts import Assignment
from server.store.db import Database
from server.store.results import ResultStore, StoredResult
from server.store.stations import Station, StationStore


class FakeBroadcaster:
    def __init__(self):
        self.events: list[tuple[str, Any]] = []

    def event(self, name: str, data: Any) -> None:
        self.events.append((name, data))

    def last(self, name: str) -> Any:
        return next(d for n, d in reversed(self.events) if n == name)

    def names(self) -> list[str]:
        return [n for n, _ in self.events]


class FakeWriter:
    def __init__(self):
        self.listeners: list = []


class FakeHub:
    """Stations ``sled1``, ``sled2`` (sleds) and ``lane1``..``lane4`` (lanes) exist."""

    def __init__(self, db: Database, prefix: str = "t"):
        self.db = db
        self.stations = StationStore(db)
        self.results = ResultStore(db)
        self.writer = FakeWriter()
        self.broadcaster = FakeBroadcaster()
        self.calls: list[tuple] = []
        self.armed: dict[str, Assignment] = {}
        self._ids = itertools.count(1)
        self._prefix = prefix
        self.clock = 1000.0
        self.overrides: list[dict] = []
        for sid in ("sled1", "sled2"):
            if self.stations.get(sid) is None:
                self.stations.upsert(Station(sid, "sled", sid.title(), {"distance_m": 15}))
        for sid in ("lane1", "lane2", "lane3", "lane4"):
            if self.stations.get(sid) is None:
                self.stations.upsert(Station(sid, "lane", sid.title(), {}))

    def arm(self, entries):
        heat = f"{self._prefix}-h{next(self._ids)}"
        made = []
        for station_id, athlete, member_id, class_id in entries:
            a = Assignment(f"{self._prefix}-a{next(self._ids)}", station_id, heat, athlete, member_id, class_id)
            self.armed[station_id] = a
            made.append(a)
        self.calls.append(("arm", [(e[0], e[2]) for e in entries]))
        return made

    def go(self, station_ids, go_delay_us=0):
        self.calls.append(("go", list(station_ids)))
        return 1

    def set_station_overrides(self, params):
        self.overrides.append(dict(params))

    def stop_station(self, station_id):
        self.calls.append(("stop", station_id))

    def abort(self, station_id, reason="aborted by instructor"):
        self.calls.append(("abort", station_id))
        if self.armed.pop(station_id, None) is None:
            raise RuntimeError(f"nothing armed at {station_id}")

    # test helpers ---------------------------------------------------------------------------------
    def finish(self, station_id: str, time_s: float | None = 5.0, status: str = "OK",
               attempt_id: str | None = None) -> StoredResult:
        """The attempt armed at ``station_id`` ends: store its result, then tell the listeners."""
        a = self.armed.pop(station_id)
        self.clock += 1
        stored = StoredResult(id=attempt_id or a.attempt_id, station_id=station_id, heat_id=a.heat_id,
                              class_id=a.class_id, member_id=a.member_id, athlete=a.athlete, status=status,
                              reason="finished", time_s=time_s, reaction_s=None, detail={}, finished_at=self.clock)
        self.results.save(stored)
        if status == "FALSE_START":  # VOID_REARM: the engine arms "<id>~1" for the same member; today's
            # ResultWriter forgets the assignment with the voided result, so the re-run is stored without it
            self.armed[station_id] = Assignment(f"{a.attempt_id}~1", station_id, a.heat_id, "", None, None)
        self.broadcaster.event("result", stored.to_dict())
        for listener in self.writer.listeners:
            listener(stored)
        return stored

    def finish_all(self, time_s: float = 5.0) -> list[StoredResult]:
        return [self.finish(sid, time_s) for sid in list(self.armed)]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.calls if c[0] == kind)
