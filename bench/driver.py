"""The instructor stand-in: keeps every station busy with runs through the hub's REST API.

Per station, one thread loops: arm the station in a heat of its own (``POST /api/heats``), GO
(``POST /api/heats/go``), tell the station's bench node to perform run ``k`` (GO signal = GO command +
the station's countdown), wait until the node says the run is over, rest, repeat. Each run is logged
with its attempt id, so the bench can join what the nodes published with what the clients received.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.fleet import NodeFleet
from bench.hubproc import HubApi, HubApiError
from bench.plan import Plan

RUN_TIMEOUT_S = 40.0


@dataclass(frozen=True)
class RunLog:
    station_id: str
    k: int
    attempt_id: str
    go_cmd_us: int
    signal_us: int
    go_mono_s: float


class Driver:
    def __init__(self, api: HubApi, fleet: NodeFleet, plan: Plan, seed: int = 5):
        self.api, self.fleet, self.plan = api, fleet, plan
        self.runs: list[RunLog] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._ran: dict[tuple[str, int], threading.Event] = {}
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self._threads = [threading.Thread(target=self._loop, args=(sid, self._rng.uniform(0, 2.0)),
                                          name=f"bench-driver-{sid}", daemon=True) for sid in plan.station_ids]
        fleet.on_ran = self._on_ran

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = RUN_TIMEOUT_S) -> None:
        """No new runs; wait for the runs under way to end."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))

    def _on_ran(self, station_id: str, k: int) -> None:
        with self._lock:
            self._ran.setdefault((station_id, k), threading.Event()).set()

    def _ran_event(self, station_id: str, k: int) -> threading.Event:
        with self._lock:
            return self._ran.setdefault((station_id, k), threading.Event())

    def _loop(self, station_id: str, first_delay_s: float) -> None:
        countdown_us = round(self.plan.countdown_s * 1e6)
        k = 0
        if self._stop.wait(first_delay_s):
            return
        while not self._stop.is_set():
            try:
                attempt = self.api.arm(station_id, f"bench {station_id} #{k}")
                go_us = self.api.go([station_id])
            except (HubApiError, OSError) as exc:
                self.errors.append(f"{station_id} run {k}: {exc}")
                if self._stop.wait(1.0):
                    return
                continue
            log = RunLog(station_id, k, attempt["attempt_id"], go_us, go_us + countdown_us, time.monotonic())
            with self._lock:
                self.runs.append(log)
            self.fleet.send(station_id, ("run", station_id, k, go_us, log.signal_us))
            if not self._ran_event(station_id, k).wait(RUN_TIMEOUT_S):
                self.errors.append(f"{station_id} run {k}: the node did not finish it")
            k += 1
            self._stop.wait(self.plan.rest_s)

    def summary(self) -> dict[str, Any]:
        return {"runs": len(self.runs), "errors": self.errors[:20], "error_count": len(self.errors)}
