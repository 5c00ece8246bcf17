"""Python's cyclic garbage collector in a running hub: what it costs, and the start-up heap kept out of it.

The collector runs in whichever thread allocated the object that crossed a threshold, holding the GIL:
while it runs, nothing else in the hub does — not the pipeline placing a finish, not the serving loop
sending it. A full (generation 2) collection walks every tracked object: after start-up the hub's own
code, Flask, Socket.IO, gevent and paho are ~60,000 objects that live as long as the process and
never become garbage.

- :func:`freeze_startup_heap` (``sledhub serve`` / ``demo``, once everything is built, before serving)
  collects once and moves every object alive then into the collector's permanent generation
  (``gc.freeze``): later collections no longer walk them. Objects made afterwards are collected as
  before; a frozen object dropped later is still freed by its reference count, but a garbage cycle
  through any frozen object is never collected (nor what it holds). The hub's start-up objects live
  as long as the process or are closed explicitly; whatever start-up left behind is collected just
  before the freeze.
- :func:`tune_collector` (the same place) raises the youngest generation's threshold from Python's
  700 to ``YOUNG_THRESHOLD``: a collection of the youngest objects is due after that many more
  container objects were made than freed. A telemetry flood keeps thousands of samples (the engine's
  entries, tuples) alive for a few seconds, so at 700 a young collection ran every ~50 messages, and a
  collection of the next generation every ten of those, walking the same objects again: 13 % of the
  pipeline thread's time at 20,000 messages/s (perf), and the hub took in ~15 % fewer messages a
  second at saturation (bench/README.md, "The collector's thresholds"). At a class's load the hub
  makes few lasting objects: a young collection every several seconds instead of several a second,
  but each walks up to ``YOUNG_THRESHOLD`` objects and what they hold (a pause of up to ~20 ms on the
  bench's VM, against 5–10 ms). At a quiet hub's load (the demo: a young collection every few
  minutes, a middle one every ten of those) garbage would then wait the better part of an hour: the
  demo grew 2.6 MB in a 30 min soak (the target is < 2). :class:`MiddleCollections` (a ticker) therefore
  collects the two younger generations at least every ``MIDDLE_EVERY_S``.
- :class:`GcPauses` times every collection (``gc.callbacks``): counts per generation, total and
  longest pause (ms), for ``GET /api/health`` (``gc``) and ``make bench``. It reports the objects
  frozen at start-up as counted once then (``gc.get_freeze_count()`` walks the whole permanent
  generation: ~70,000 objects, a few ms of a cold CPU, far too much for every health request).
"""

from __future__ import annotations

import gc
import time
from typing import Any, Callable


YOUNG_THRESHOLD = 10_000
"""Container objects made (net of those freed) between two collections of the youngest generation."""


def tune_collector(young: int = YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Set the youngest generation's threshold to ``young`` (the older two as they were); returns the
    thresholds now in force (``gc.get_threshold()``)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
    return gc.get_threshold()


MIDDLE_EVERY_S = 60.0
"""Longest time (s) between two collections of the two younger generations (:class:`MiddleCollections`)."""


class MiddleCollections:
    """``tick(now_us)`` (a pipeline ticker, hub clock in µs) runs ``collect(1)`` (``gc.collect``: the
    youngest and the middle generation) when ``every_s`` have passed since the last one, counting from
    the first tick; it returns whether it collected. Garbage then waits at most that long however
    little the hub allocates; a collection the thresholds trigger meanwhile does not reset the clock."""

    def __init__(self, every_s: float = MIDDLE_EVERY_S, collect: Callable[[int], Any] = gc.collect):
        self._every_us = round(every_s * 1e6)
        self._collect = collect
        self._next_us: int | None = None
        self.collections = 0

    def tick(self, now_us: int) -> bool:
        if self._next_us is None:
            self._next_us = now_us + self._every_us
            return False
        if now_us < self._next_us:
            return False
        self._next_us = now_us + self._every_us
        self._collect(1)
        self.collections += 1
        return True


def freeze_startup_heap() -> int:
    """Collect once, then freeze what is left; returns how many objects are now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcPauses:
    """Times the collector's pauses while installed (:meth:`install` / :meth:`uninstall`).

    ``clock`` is ``time.perf_counter`` (s); a pause is from the collector's ``start`` callback to its
    ``stop`` callback, on the thread that triggered it. Collections never overlap (the collector skips
    one asked for while it runs), but it may release the GIL while running finalizers, so a ``stop``
    can come without its ``start`` (installed in between): it is ignored. The callback takes no lock:
    it may run inside any allocation, :meth:`snapshot`'s included, and a lock held there would never
    be released. The figures are published as one tuple, replaced whole."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self._clock = clock
        self._started: float | None = None
        # (gen0, gen1, gen2 collections, total s, longest s, generation of the longest)
        self._figures: tuple[int, int, int, float, float, int | None] = (0, 0, 0, 0.0, 0.0, None)
        self.frozen = 0
        """Objects frozen at start-up (:func:`freeze_startup_heap`'s count; 0 if nothing was frozen)."""

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            self._started = None
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self._clock()
            return
        started, self._started = self._started, None
        if started is None:
            return
        pause = self._clock() - started
        generation = info.get("generation", 0)
        g0, g1, g2, total, longest, longest_gen = self._figures
        counts = [g0, g1, g2]
        if 0 <= generation < 3:
            counts[generation] += 1
        if pause > longest:
            longest, longest_gen = pause, generation
        self._figures = (counts[0], counts[1], counts[2], total + pause, longest, longest_gen)

    def snapshot(self) -> dict[str, Any]:
        """``{collections: [gen0, gen1, gen2], pause_total_ms, pause_max_ms, pause_max_generation,
        frozen, threshold}`` since installed (``frozen``: objects frozen at start-up, :attr:`frozen`;
        ``threshold``: the collector's three thresholds now, ``gc.get_threshold()``)."""
        g0, g1, g2, total, longest, longest_gen = self._figures
        return {"collections": [g0, g1, g2], "pause_total_ms": round(total * 1e3, 1),
                "pause_max_ms": round(longest * 1e3, 2), "pause_max_generation": longest_gen,
                "frozen": self.frozen, "threshold": list(gc.get_threshold())}
