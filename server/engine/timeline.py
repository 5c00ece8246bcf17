"""The watermark timeline: buffers events and control entries and releases them in time order.

Events are kept per stream (one station role) in lists sorted by time; most arrive in order, so
buffering is an append. ``release(watermark_us)`` takes every buffered event with
``t_us <= watermark_us``, merges the streams (one C-level sort of already-sorted runs) and
interleaves the control entries (commands, timers) by the same key. The order is a total order on
event *content* — ``(t_us, priority, station, role, kind, value, raw)`` — never on arrival, which is
what makes results independent of arrival order, duplication and transport delay.

Priorities at an equal ``t_us``: GO signals (0), commands (1), sensor events (2), deadlines (3).
Processed events are remembered for ``retention_us`` so a duplicate arriving late is recognised as
a duplicate instead of being reported as late.

An event is buffered as a plain tuple ``(t_us, PRIO_EVENT, station_id, role, kind, value, raw)``
(``value``/``raw`` of None stored as ``NO_VALUE``/``NO_RAW``). It holds only atomic values, so the
garbage collector stops tracking it after its first pass; the caller's ``EngineEvent`` is not kept.
Handlers receive that tuple.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from typing import Any, Callable

from server.engine.outputs import EngineEvent

PRIO_GO = 0
PRIO_COMMAND = 1
PRIO_EVENT = 2
PRIO_DEADLINE = 3

NO_VALUE = float("-inf")   # sort/dedupe stand-in for value=None (real values are finite)
NO_RAW = -(1 << 62)        # stand-in for raw=None
KEY_LEN = 7                # an entry is exactly its content key
PRUNE_MIN = 256            # processed entries kept per stream before pruning is considered (2048 kept
                           # 25 s of a load cell and 7 s of a wheel: 8 MB of a class load's RSS)

Entry = tuple[Any, ...]  # (t_us, PRIO_EVENT, station_id, role, kind, value, raw)
Handler = Callable[[Entry], None]


class Stream:
    """The buffered events of one ``(station, role)``, sorted; ``done`` counts processed entries."""

    __slots__ = ("ts", "items", "done", "last_done_us")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.items: list[Entry] = []
        self.done = 0
        self.last_done_us: int | None = None  # the newest processed time; kept when pruning forgets entries

    def insert(self, entry: Entry) -> bool:
        """Insert out of order; False when an entry with the same content key is already buffered."""
        t = entry[0]
        ts, items = self.ts, self.items
        i = bisect_left(ts, t, self.done)
        key = entry
        n = len(ts)
        while i < n and ts[i] == t:
            other = items[i]
            if other == key:
                return False
            if key < other:
                break
            i += 1
        ts.insert(i, t)
        items.insert(i, entry)
        return True

    def seen(self, entry: Entry) -> bool:
        """Whether an already processed entry has the same content key (for late duplicates)."""
        t = entry[0]
        ts, items = self.ts, self.items
        i = bisect_left(ts, t, 0, self.done)
        key = entry
        while i < self.done and ts[i] == t:
            if items[i] == key:
                return True
            i += 1
        return False

    def oldest_kept_us(self) -> float:
        """The time of the oldest processed entry still kept (``seen`` can tell copies from there on)."""
        return self.ts[0] if self.done else float("inf")

    def insert_processed(self, entry: Entry) -> None:
        """Record an entry handled out of turn (a late event applied at once) among the processed ones,
        so a later copy of it is a duplicate. Its time is at or before the watermark, hence before every
        unprocessed entry."""
        t = entry[0]
        i = bisect_right(self.ts, t, 0, self.done)
        self.ts.insert(i, t)
        self.items.insert(i, entry)
        self.done += 1
        if self.last_done_us is None or t > self.last_done_us:
            self.last_done_us = t

    def take(self, watermark_us: int, out: list[Entry]) -> bool:
        """Append the entries up to the watermark to ``out``; True if any."""
        k = bisect_right(self.ts, watermark_us, self.done)
        if k == self.done:
            return False
        out.extend(self.items[self.done:k])
        self.done = k
        self.last_done_us = self.ts[k - 1]
        return True

    def prune(self, before_us: int) -> None:
        """Forget processed entries older than ``before_us``."""
        if self.done < PRUNE_MIN:
            return
        cut = bisect_left(self.ts, before_us, 0, self.done)
        if cut >= PRUNE_MIN // 2:
            del self.ts[:cut]
            del self.items[:cut]
            self.done -= cut


def make_entry(ev: EngineEvent) -> Entry:
    """The buffered form (and sort key) of an event."""
    v = ev.value
    r = ev.raw
    return (ev.t_us, PRIO_EVENT, ev.station_id, ev.role, ev.kind, NO_VALUE if v is None else v,
            NO_RAW if r is None else r)


class ControlQueue:
    """Commands and timers: a heap of ``(t_us, priority, seq, payload)``; seq is issue order."""

    __slots__ = ("heap", "_seq")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0

    def push(self, t_us: int, prio: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t_us, prio, self._seq, payload))

    def pop(self) -> tuple[int, int, int, Any]:
        return heapq.heappop(self.heap)


def run(batch: list[Entry], control: ControlQueue, watermark_us: int,
        on_control: Callable[[int, Any], None], handlers: dict[str, dict[str, Handler]]) -> None:
    """Process ``batch`` (sorted entries) interleaved with due control entries, in key order.

    Control entries may be pushed while this runs (timers scheduled by handlers) and are honoured
    if due. ``handlers[station_id][role]`` receives each entry.
    """
    heap = control.heap
    pop = heapq.heappop
    for entry in batch:
        t = entry[0]
        while heap and heap[0][0] <= t:
            top = heap[0]
            if top[0] == t and top[1] > PRIO_EVENT:
                break
            c = pop(heap)
            on_control(c[0], c[3])
        handlers[entry[2]][entry[3]](entry)
    while heap and heap[0][0] <= watermark_us:
        c = pop(heap)
        on_control(c[0], c[3])
