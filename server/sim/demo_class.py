"""The demo class: a warm-up that runs itself so a gym can watch sledhub work with no hardware.

Rounds of work and rest: at each round the next athletes step up to every station, the hub arms the
heat, GO follows a countdown, the simulated athletes react and run on the simulated sensor nodes,
and the round ends when every station has a result (or the time cap passes). The class loops until
stopped. The instructor page starts and stops it (``/api/demo/start``, ``/api/demo/stop``); it also
steps aside by itself when an instructor starts a real class on the tablet.

This drives the hub through its public control methods only (``arm``, ``go``); the simulated athletes
react to the hub's GO signal (see ``server.sim.demo.DemoRig``), and results come back through the
normal path: node → MQTT → protocol → engine → store → Socket.IO.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from server.sim.roster import DemoAthlete

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoTiming:
    ready_s: float = 4.0       # athletes step up, heat armed
    countdown_s: float = 3.0   # must match the stations' countdown
    cap_s: float = 25.0        # longest a round may run (s)
    rest_s: float = 8.0        # rest between rounds (s)


class DemoClass:
    """Runs rounds on its own thread; ``state()`` is what the pages show."""

    def __init__(self, hub: Any, station_ids: list[str], roster: list[DemoAthlete],
                 timing: DemoTiming = DemoTiming(), autostart: bool = True,
                 mono: Callable[[], float] = time.monotonic, yield_to: Callable[[], bool] = lambda: False):
        self.hub = hub
        self.station_ids = station_ids
        self.roster = roster
        self.timing = timing
        self.autostart = autostart
        self._yield_to = yield_to
        self._mono = mono
        self._stop = threading.Event()
        self._running = threading.Event()
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._thread: threading.Thread | None = None
        self.phase, self.round, self._phase_end = "idle", 0, 0.0
        self._next = 0
        hub.writer.listeners.append(self._on_result)

    # control --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sledhub-demo-class", daemon=True)
        self._thread.start()
        if self.autostart:
            self.start_class()

    def stop(self) -> None:
        self._stop.set()
        self._running.clear()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def start_class(self) -> None:
        self._running.set()
        with self._cond:
            self._cond.notify_all()

    def stop_class(self) -> None:
        self._running.clear()
        with self._cond:
            self._cond.notify_all()
        for station_id in self.station_ids:
            try:
                self.hub.abort(station_id, "class stopped")
            except Exception:  # a station with nothing armed
                pass
        self._set_phase("idle", 0)

    def state(self) -> dict[str, Any]:
        remaining = max(0.0, self._phase_end - self._mono()) if self._phase_end else None
        labels = {"idle": "Waiting for class", "ready": f"Round {self.round}: step up",
                  "work": f"Round {self.round}: GO!", "rest": f"Round {self.round}: rest"}
        return {"phase": self.phase, "phase_label": labels.get(self.phase, self.phase), "round": self.round,
                "remaining_s": None if remaining is None else round(remaining, 1), "running": self._running.is_set()}

    # loop -----------------------------------------------------------------------------------------
    def _set_phase(self, phase: str, seconds: float) -> None:
        self.phase = phase
        self._phase_end = self._mono() + seconds if seconds else 0.0
        self.hub.broadcaster.event("demo", self.state())

    def _wait(self, seconds: float, until: Callable[[], bool] = lambda: False) -> bool:
        """Wait up to ``seconds``; True if the class is still running at the end."""
        deadline = self._mono() + seconds
        with self._cond:
            while not self._stop.is_set() and self._running.is_set() and not until():
                left = deadline - self._mono()
                if left <= 0:
                    break
                self._cond.wait(min(left, 1.0))
                self.hub.broadcaster.event("demo", self.state())
        return self._running.is_set() and not self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(0.5):
                continue
            try:
                self._round()
            except Exception:
                log.exception("demo round failed")
                self._wait(2.0)

    def _round(self) -> None:
        if self._yield_to():
            # an instructor is running a real class on these stations: the demo class steps aside
            log.info("a class is running: the demo class stops")
            self._running.clear()  # no abort: the stations belong to the instructor's class now
            self._set_phase("idle", 0)
            return
        self.round += 1
        t = self.timing
        picks = self._pick_athletes()
        self._set_phase("ready", t.ready_s)
        assignments = self.hub.arm([(sid, a.nickname, None, "demo") for sid, a in picks])
        with self._cond:
            self._pending = {a.attempt_id for a in assignments}
        if not self._wait(t.ready_s):
            return
        self.hub.go([sid for sid, _ in picks])
        self._set_phase("work", t.countdown_s + t.cap_s)
        self._wait(t.countdown_s + t.cap_s + 1.0, until=lambda: not self._pending)
        self._set_phase("rest", t.rest_s)
        self._wait(t.rest_s)

    def _pick_athletes(self) -> list[tuple[str, DemoAthlete]]:
        picks = []
        for station_id in self.station_ids:
            picks.append((station_id, self.roster[self._next % len(self.roster)]))
            self._next += 1
        return picks

    def _on_result(self, stored: Any) -> None:
        with self._cond:
            self._pending.discard(stored.id)
            self._cond.notify_all()
