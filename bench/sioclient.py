"""Wall-display stand-ins: minimal Socket.IO clients that stamp every message the moment it arrives.

A :class:`SioClient` speaks Socket.IO v5 over an Engine.IO v4 websocket (``websocket-client``), the
transport the pages use: it answers pings, acknowledges every ``frames`` message at once (so the hub
keeps sending it frames) and records what the measurements need. It is deliberately small: the
python-socketio client starts a thread per received message, which on a 2-core machine would cost
the hub CPU and add thread start-up to every receipt stamp.

:func:`client_process` runs ``n`` of them, one thread each, in one process until told to stop, then
pickles their :class:`ClientRecords`.
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websocket

SPAN_GAP_NS = 500_000_000
"""Frames of one station further apart than this belong to different runs (rate is per running span)."""


@dataclass
class ClientRecords:
    index: int
    events: Counter = field(default_factory=Counter)
    results: list[tuple] = field(default_factory=list)
    """``(attempt_id, station_id, status, recv_ns)``."""
    finishes: list[tuple] = field(default_factory=list)
    """``(attempt_id, station_id, source_node, source_seq, recv_ns, rx_us, emit_us)``; the last two
    (the hub's receipt of the source message and its emit, hub clock) when the hub sends them."""
    frames: list[tuple] = field(default_factory=list)
    """``(recv_ns, station_id, t_us, attempt_id, distance_m, now_us)``: per frame, the sled station whose
    progress is newest; ``now_us`` is when the hub made the frame (hub clock; None from a hub before
    issue 15's live frames)."""
    station_frames: dict[str, list[int]] = field(default_factory=dict)
    """``station -> [frames in spans, span ns, last recv ns]``: frames per second while it runs."""
    errors: list[str] = field(default_factory=list)


class SioClient:
    def __init__(self, base_url: str, records: ClientRecords):
        self.url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.rec = records
        self.ws: websocket.WebSocket | None = None
        self.ready = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"bench-sio-{records.index}", daemon=True)

    def start(self) -> None:
        # websocket-client checks UTF-8 byte by byte in Python (≈ 1 ms per frame): the hub's JSON is fine
        self.ws = websocket.create_connection(self.url, timeout=10, skip_utf8_validation=True)
        self.ws.settimeout(0.5)
        self.thread.start()

    def close(self) -> None:
        self._stop.set()
        if self.thread.ident is not None:
            self.thread.join(5)
        if self.ws is not None:
            try:
                self.ws.send("41")
                self.ws.close()
            except (OSError, websocket.WebSocketException):
                pass

    def _run(self) -> None:
        ws = self.ws
        assert ws is not None
        while not self._stop.is_set():
            try:
                data = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException) as exc:
                if not self._stop.is_set():
                    self.rec.errors.append(f"{type(exc).__name__}: {exc}")
                return
            now = time.monotonic_ns()
            if isinstance(data, str) and data:
                self._packet(ws, data, now)

    def _packet(self, ws: websocket.WebSocket, data: str, now: int) -> None:
        kind = data[0]
        if kind == "2":                      # Engine.IO ping
            ws.send("3")
        elif kind == "0":                    # Engine.IO open: join the default namespace
            ws.send("40")
        elif kind == "4" and len(data) > 1:  # Socket.IO packet
            sio = data[1]
            if sio == "2":
                i = 2
                while i < len(data) and data[i].isdigit():
                    i += 1
                if i > 2:                    # acknowledge at once: the hub sends the next frame after it
                    ws.send("43" + data[2:i] + "[]")
                self._event(json.loads(data[i:]), now)
            elif sio == "0":
                self.ready.set()
            elif sio in "14":
                self.rec.errors.append(f"namespace refused or closed: {data[:120]}")
        elif kind == "1":
            self.rec.errors.append("the hub closed the connection")

    def _event(self, packet: list, now: int) -> None:
        name = packet[0]
        arg = packet[1] if len(packet) > 1 else None
        rec = self.rec
        rec.events[name] += 1
        if name == "frames":
            self._frames(arg, now)
        elif name == "result":
            rec.results.append((arg.get("id"), arg.get("station_id"), arg.get("status"), now))
        elif name == "finish":
            source = arg.get("source") or {}
            rec.finishes.append((arg.get("attempt_id"), arg.get("station_id"), source.get("node"),
                                 source.get("seq"), now, source.get("rx_us"), arg.get("emit_us")))

    def _frames(self, payload: dict[str, Any], now: int) -> None:
        rec = self.rec
        newest: tuple[int, str, dict] | None = None
        for sid, progress in payload.get("stations", {}).items():
            acc = rec.station_frames.setdefault(sid, [0, 0, 0])
            if acc[2] and now - acc[2] <= SPAN_GAP_NS:
                acc[0] += 1
                acc[1] += now - acc[2]
            acc[2] = now
            t = progress.get("t_us")
            if sid.startswith("sled") and isinstance(t, int) and (newest is None or t > newest[0]):
                newest = (t, sid, progress)
        if newest is not None:
            t, sid, progress = newest
            rec.frames.append((now, sid, t, progress.get("attempt_id"), progress.get("distance_m"),
                               progress.get("now_us")))


def client_process(base_url: str, first_index: int, n: int, stop: Any, reply_q: Any, out_path: str) -> None:
    """Process entry point: ``n`` clients until ``stop`` is set; reports ``("ready", first, connected)``."""
    sys.setswitchinterval(0.001)  # a receiving thread gets the GIL sooner, so stamps are closer to arrival
    records = [ClientRecords(first_index + i) for i in range(n)]
    clients = [SioClient(base_url, r) for r in records]
    ok = 0
    for c in clients:
        try:
            c.start()
            ok += c.ready.wait(10)
        except (OSError, websocket.WebSocketException) as exc:
            c.rec.errors.append(f"connect: {exc}")
    reply_q.put(("ready", first_index, ok))
    stop.wait()
    for c in clients:
        c.close()
    with open(out_path, "wb") as f:
        pickle.dump(records, f)
    reply_q.put(("done", first_index))
