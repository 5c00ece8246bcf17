"""Pushes hub events to browsers over Socket.IO.

Discrete events (attempt state, GO, results, corrections) go out at once. Live telemetry frames are
coalesced: the latest progress of every station is kept, and one ``frames`` message carrying all
stations is sent every ``frame_interval_us`` (default 50 ms = 20 frames/s; the hub runs 40 ms) while
any station runs. The progress comes from ``progress()`` and, at each slot, from ``frame_source(now_us)``
(the hub's :class:`~server.hub.live_progress.LiveProgress`: frames made from the newest samples at the
moment they are sent, so a frame carries what arrived up to its slot). Sends
keep to a fixed grid of interval slots, so the pipeline's tick jitter does not stretch the interval
and a steady stream really gets 20 frames/s; a late tick catches up, but two frames are never closer
than half an interval (after a pause the grid restarts). A client gets a
new frame only after it acknowledged the previous one, so a slow tablet never builds a backlog:
at most one frame is in flight per client (a frame unacknowledged for 2 s counts as lost). A client
whose acknowledgement comes after its slot gets the newest frame the moment it arrives instead of
waiting for the next slot, so a round trip a little longer than the interval costs no frame.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)

FRAMES_EVENT = "frames"
"""The Socket.IO event that carries live frames (``server.web.sio_transport`` encodes its payload once)."""

ACK_TIMEOUT_US = 2_000_000
"""A frame not acknowledged within 2 s is taken as lost, and the client gets the next one."""


class Emitter(Protocol):
    def emit(self, event: str, data: Any, to: str | None = None, callback: Callable | None = None) -> None: ...


class Broadcaster:
    """Owns the frame buffer and the per-client in-flight flags."""

    def __init__(self, emitter: Emitter, frame_interval_us: int = 50_000):
        self._emitter = emitter
        self._interval_us = frame_interval_us
        self._pending: dict[str, dict[str, Any]] = {}
        self._next_flush_us = 0
        self._earliest_us = 0
        self._lock = threading.Lock()
        self._clients: dict[str, int] = {}  # sid -> hub time (µs) the frame in flight was sent, 0 = none
        self._missed: set[str] = set()       # clients that had a frame in flight at the last flush
        self._last_payload: dict[str, Any] | None = None
        self.frame_source: Callable[[int], dict[str, dict[str, Any]]] | None = None
        """Asked at every frame slot for the frames of the stations running (``{station_id: frame}``)."""
        self.frames_sent = 0
        self.frames_skipped = 0

    # clients ------------------------------------------------------------------------------------
    def client_joined(self, sid: str) -> None:
        with self._lock:
            self._clients[sid] = 0

    def client_left(self, sid: str) -> None:
        with self._lock:
            self._clients.pop(sid, None)
            self._missed.discard(sid)

    @property
    def frame_interval_us(self) -> int:
        return self._interval_us

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # events -------------------------------------------------------------------------------------
    def event(self, name: str, data: Any) -> None:
        """Send a discrete event to every connected page now."""
        self._emitter.emit(name, data)

    def progress(self, station_id: str, frame: dict[str, Any]) -> None:
        """Keep the latest live frame of a station until the next flush."""
        self._pending[station_id] = frame

    def flush(self, now_us: int) -> None:
        """Send pending frames when their slot of the grid has come (pipeline ticker)."""
        if now_us < max(self._next_flush_us, self._earliest_us):
            return
        if self.frame_source is not None:
            self._pending.update(self.frame_source(now_us))
        if not self._pending:
            return
        if now_us - self._next_flush_us >= self._interval_us:  # after a pause or a long stall: a new grid
            self._next_flush_us = now_us
        self._next_flush_us += self._interval_us               # the next slot of the grid
        self._earliest_us = now_us + self._interval_us // 2    # a late frame catches up, but never in a burst
        payload = {"t_us": now_us, "stations": self._pending}
        self._pending = {}
        with self._lock:
            ready = [sid for sid, sent in self._clients.items() if not sent or now_us - sent > ACK_TIMEOUT_US]
            self.frames_skipped += len(self._clients) - len(ready)
            self._missed = set(self._clients).difference(ready)
            self._last_payload = payload
            for sid in ready:
                self._clients[sid] = now_us
            self.frames_sent += len(ready)
        for sid in ready:
            self._send(sid, payload)

    def _send(self, sid: str, payload: dict[str, Any]) -> None:
        self._emitter.emit(FRAMES_EVENT, payload, to=sid, callback=self._acker(sid))

    def _acker(self, sid: str) -> Callable[..., None]:
        def ack(*_args) -> None:
            with self._lock:
                if sid not in self._clients:
                    return
                payload = self._last_payload if sid in self._missed else None
                if payload is None:
                    self._clients[sid] = 0
                    return
                self._missed.discard(sid)      # it missed the last flush: the newest frame goes now
                self._clients[sid] = payload["t_us"]
                self.frames_sent += 1
            self._send(sid, payload)
        return ack
