"""Simulated nodes for the setup tests: a brand-new sled node as it comes out of the box (the real bridge
on mock pins), and a TCP proxy that can cut a node's network without closing its connection.

``NewSled``: its HX711 fake has an offset and a scale the hub does not know, its config says
``uncalibrated = true``; its wheel really gives ``TRUE_COUNTS_PER_M`` counts per metre while its config
guesses ``NOMINAL_COUNTS_PER_M``. Only calibration on ``/setup`` makes its numbers right.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

from firmware_bridge.fakes import FakeEncoderWheel, FakeHX711, StepClock, mock_factory
from server.sim.stations import SimNode

TRUE_SCALE_COUNTS_PER_N = 1850.0
TRUE_OFFSET_COUNTS = 61_234.0
TRUE_COUNTS_PER_M = 250
NOMINAL_COUNTS_PER_M = 100.0


class NewSled(SimNode):
    """An uncalibrated sled node: load cell ``force`` (HX711 on 5/6, 80 Hz) and wheel ``wheel`` (17/27)."""

    def __init__(self, node_id: str, broker: tuple[str, int], *, node_offset_us: int = 1_700_000):
        super().__init__(node_id, broker, node_offset_us)
        self.force_n = 0.0
        self.factory = mock_factory()
        self._hx_clock = StepClock()
        self.hx711 = FakeHX711(self.factory, dout=5, sck=6, source=lambda: self.force_n,
                               scale_counts_per_n=TRUE_SCALE_COUNTS_PER_N, offset_counts=TRUE_OFFSET_COUNTS,
                               rate_hz=80.0, clock_ns=self._hx_clock)
        self.wheel = FakeEncoderWheel(self.factory, a=17, b=27)

    def start(self) -> None:
        self._start_node([
            {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, "rate_hz": 80, "uncalibrated": True},
            {"id": "wheel", "kind": "encoder", "a": 17, "b": 27, "counts_per_m": NOMINAL_COUNTS_PER_M},
        ], clock_ns=self._hx_clock)
        self.hx711.start()

    def stop(self) -> None:
        self.hx711.stop()
        super().stop()

    def hang_mass(self, mass_kg: float) -> None:
        """A weight hanging still from the harness (0 = nothing)."""
        self.force_n = mass_kg * 9.80665

    def roll_m(self, distance_m: float, speed_m_s: float = 4.0, force_n: float | None = None) -> float:
        """Roll the wheel ``distance_m`` (negative: away from the athlete) in real time, each count at
        its exact tick; ``force_n`` is pulled meanwhile. Returns the time the roll took (s)."""
        counts = round(abs(distance_m) * TRUE_COUNTS_PER_M)
        step = 1 if distance_m > 0 else -1
        dt = 1.0 / (speed_m_s * TRUE_COUNTS_PER_M)
        t0 = time.monotonic() + 0.02
        if force_n is not None:
            self.force_n = force_n
        for k in range(counts):
            tick = t0 + k * dt
            wait = tick - time.monotonic()
            if wait > 0.002:
                time.sleep(wait)
            self.wheel.step(step, tick=tick)
        if force_n is not None:
            self.force_n = 0.0
        return counts * dt


class CuttableProxy:
    """A TCP relay to ``target``; :meth:`cut` stops relaying without closing anything, like a Wi-Fi
    link that is gone: the broker hears nothing more and, 1.5 × keepalive later, publishes the Last Will."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.address = self._listener.getsockname()[:2]
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._cut = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="setup-test-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._cut.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.05):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                elif not self._cut.is_set():
                    self._relay(sock)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        if self._cut.is_set():
            self._peers[client] = client  # a reconnect after the cut: swallowed, never answered
            return
        upstream = socket.create_connection(self.target)
        self._peers[client], self._peers[upstream] = upstream, client
        for s in (client, upstream):
            s.setblocking(False)
            self._sel.register(s, selectors.EVENT_READ)

    def _relay(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, ConnectionError):
            return
        other = self._peers.get(sock)
        if not data:
            self._sel.unregister(sock)
            if other is not None and other is not sock and other.fileno() != -1:
                other.close()
            return
        if other is not None:
            try:
                other.sendall(data)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in {self._listener, *self._peers}:
            try:
                s.close()
            except OSError:
                pass
        self._sel.close()
