"""Python's cyclic garbage collector in a running hub: what it costs, and the start-up heap kept out of it.

The collector runs in whichever thread allocated the object that crossed a threshold, holding the GIL:
while it runs, nothing else in the hub does — not the pipeline placing a finish, not the serving loop
sending it. A full (generation 2) collection walks every tracked object: after start-up the hub's own
code, Flask, Socket.IO, gevent and paho are ~60,000 objects that live as long as the process and
never become garbage.

- :func:`freeze_startup_heap` (``sledhub serve`` / ``demo``, once everything is built, before serving)
  collects once and moves every object alive then into the collector's permanent generation
  (``gc.freeze``): later collections no longer walk them. Objects made afterwards are collected as
  before; a frozen object dropped later is still freed by its reference count, only a reference cycle
  among frozen objects would never be.
- :class:`GcPauses` times every collection (``gc.callbacks``): counts per generation, total and
  longest pause (ms), for ``GET /api/health`` (``gc``) and ``make bench``.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable


def freeze_startup_heap() -> int:
    """Collect once, then freeze what is left; returns how many objects are now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcPauses:
    """Times the collector's pauses while installed (:meth:`install` / :meth:`uninstall`).

    ``clock`` is ``time.perf_counter`` (s); a pause is from the collector's ``start`` callback to its
    ``stop`` callback, on the thread that triggered it (the GIL is held throughout, so no other
    collection can interleave)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self._clock = clock
        self._started = 0.0
        self._lock = threading.Lock()
        self.collections = [0, 0, 0]
        self.total_s = 0.0
        self.max_s = 0.0
        self.max_generation: int | None = None

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        pause = self._clock() - self._started
        generation = info.get("generation", 0)
        with self._lock:
            if 0 <= generation < 3:
                self.collections[generation] += 1
            self.total_s += pause
            if pause > self.max_s:
                self.max_s, self.max_generation = pause, generation

    def snapshot(self) -> dict[str, Any]:
        """``{collections: [gen0, gen1, gen2], pause_total_ms, pause_max_ms, pause_max_generation,
        frozen}`` since installed (``frozen``: objects in the permanent generation)."""
        with self._lock:
            return {"collections": list(self.collections), "pause_total_ms": round(self.total_s * 1e3, 1),
                    "pause_max_ms": round(self.max_s * 1e3, 2), "pause_max_generation": self.max_generation,
                    "frozen": gc.get_freeze_count()}
