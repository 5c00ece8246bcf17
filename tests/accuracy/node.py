"""A sensor node written only from ``docs/protocol.md`` (no ``firmware_bridge``, no ``server.sim``).

It proves the protocol document is enough to build a node the hub times correctly. What it does, by
section of the document:

- §1 session: client id ``sledhub-<node_id>``, clean session, keepalive 5 s, TCP_NODELAY, Last Will = ``status``
  ``offline`` of this boot (QoS 1, retained); subscribes to its ``cmd`` (QoS 1) and ``clock/ping`` (QoS 0).
- §4 life: a random 16-hex-digit ``boot_id``; after every connect ``status`` ``online``, ``desc``, ``health``
  (all retained); a clean shutdown publishes ``offline`` first.
- §3/§5 payloads: ``evt`` (QoS 1) and ``tel`` (QoS 0) carry one ``seq`` counter per boot; every ``t_us``
  is the node clock *at the edge* (:class:`NodeClock`), never the send time.
- §6 outbox: events not yet acknowledged by the broker (PUBACK) are kept and replayed in ``seq`` order
  after a reconnect (same ``seq``); messages produced while disconnected are held and sent on reconnect.
- §7 clock: ``clock/pong`` at once with ``t_us`` = node clock at receipt and ``t_tx_us`` = just before sending.
- §8 commands: one ``ack`` per command id (a repeated id gets the same ack, not a second execution);
  ``calibrate``/``configure``/``set_rate``/``tare``/``rebirth`` are applied; unknown ones → ``unsupported``.

The *perturbation layer* sits in :meth:`ProtocolNode.send_later`: each ``evt``/``tel`` is sent after a
random delay (so messages overtake each other) and, with probability ``dup_p``, twice with the same
``seq``. Pongs are answered at once (their network delay is what ``t_tx_us`` cannot remove; see the
report in ``tests/accuracy/README.md``).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import paho.mqtt.client as mqtt

ROOT = "sledhub/v1/node"
NODE_CLOCK_ORIGIN_US = 5_000_000_000   # the node clock reads about this at the harness's start


def hub_clock_us() -> int:
    """The true time of the whole test (µs): CLOCK_MONOTONIC, the same clock the hub stamps with."""
    return time.monotonic_ns() // 1000


@dataclass(frozen=True)
class NodeClock:
    """The node's own microsecond clock: ``offset_s`` away from true time and running ``drift_ppm`` fast.

    ``node_us(true_us) = ORIGIN + offset + (true_us - epoch_us) * (1 + drift_ppm·1e-6)``.
    """

    offset_s: float
    drift_ppm: float
    epoch_us: int

    def node_us(self, true_us: float) -> int:
        elapsed = true_us - self.epoch_us
        return int(round(NODE_CLOCK_ORIGIN_US + self.offset_s * 1e6 + elapsed * (1.0 + self.drift_ppm * 1e-6)))

    def now_us(self) -> int:
        return self.node_us(hub_clock_us())


class Scheduler:
    """One thread running callables at monotonic times (s): the network delay of every node."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._n = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self.max_lag_s = 0.0
        """The latest any callable ran after its time (s): the test's own delay, reported per heat."""
        self._thread = threading.Thread(target=self._run, name="acc-scheduler", daemon=True)
        self._thread.start()

    def at(self, due_s: float, fn: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (due_s, next(self._n), fn))
            self._cv.notify()

    def pending(self) -> int:
        with self._cv:
            return len(self._heap)

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._cv.wait(wait)
                if self._stop:
                    return
                due, _, fn = heapq.heappop(self._heap)
            self.max_lag_s = max(self.max_lag_s, time.monotonic() - due)
            fn()


@dataclass
class Perturbation:
    """Random network delay (s, uniform) and the chance that a message is sent twice (same ``seq``)."""

    delay_s: tuple[float, float] = (0.0, 0.2)
    dup_p: float = 0.1


@dataclass
class Sensor:
    """One entry of the descriptor (§5.2) plus the node's calibration state for it."""

    id: str
    kind: str                      # load_cell | encoder | beam | dual_beam
    wiring: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    rate_hz: float | None = None

    def describe(self) -> dict[str, Any]:
        unit = {"load_cell": "N", "encoder": "m"}.get(self.kind)
        out = {"id": self.id, "kind": self.kind, "unit": unit, "rate_hz": self.rate_hz, "wiring": self.wiring}
        if self.calibration:
            out["calibration"] = dict(self.calibration)
        return out


class ProtocolNode:
    """One node on the broker. Thread-safe: the harness calls :meth:`event`/:meth:`samples` from its thread."""

    def __init__(self, node_id: str, broker: tuple[str, int], clock: NodeClock, sensors: list[Sensor],
                 scheduler: Scheduler, rng: random.Random, perturb: Perturbation | None = None):
        self.node_id = node_id
        self.clock = clock
        self.sensors = {s.id: s for s in sensors}
        self.boot_id = f"{rng.getrandbits(64):016x}"
        self._rng = random.Random(rng.getrandbits(64))
        self._sched = scheduler
        self._perturb = perturb if perturb is not None else Perturbation()
        self._lock = threading.RLock()
        self._seq = 0
        self._unacked: dict[int, tuple[str, bytes, int]] = {}    # mid → (topic, payload, qos)
        self._early_acks: set[int] = set()                       # PUBACKs that beat the bookkeeping
        self._held: list[tuple[str, bytes, int, bool]] = []      # produced while disconnected
        self._acks: dict[str, bytes] = {}                        # command id → ack payload (last 16)
        self._connected = False
        self._closing = False
        self.sent = {"evt": 0, "tel": 0, "dup": 0, "replayed": 0, "held": 0, "pong": 0, "ack": 0}
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sledhub-{node_id}",
                                   clean_session=True)
        self._client.will_set(self._topic("status"), self._status("offline"), qos=1, retain=True)
        self._client.reconnect_delay_set(0.05, 0.5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_socket_open = _no_delay
        self._broker = broker

    # -- life (§4) --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._client.connect_async(self._broker[0], self._broker[1], keepalive=5)
        self._client.loop_start()

    def connected(self) -> bool:
        return self._connected

    def close(self) -> None:
        self._closing = True
        if self._connected:
            info = self._client.publish(self._topic("status"), self._status("offline"), qos=1, retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass
            # take the node away: clear its retained messages (protocol.md §12)
            for kind in ("status", "desc", "health"):
                self._client.publish(self._topic(kind), b"", qos=1, retain=True).wait_for_publish(2.0)
        self._client.disconnect()
        self._client.loop_stop()

    def _topic(self, kind: str) -> str:
        return f"{ROOT}/{self.node_id}/{kind}"

    def _status(self, state: str) -> bytes:
        return _json({"v": 1, "node": self.node_id, "state": state, "boot_id": self.boot_id})

    def _birth(self) -> None:
        c = self._client
        c.publish(self._topic("status"), self._status("online"), qos=1, retain=True)
        c.publish(self._topic("desc"), self._desc(), qos=1, retain=True)
        c.publish(self._topic("health"), _json({
            "v": 1, "boot_id": self.boot_id, "uptime_s": 1.0, "dropped_events": 0, "dropped_samples": 0,
            "hx711_overruns": 0, "hx711_faults": 0, "encoder_errors": 0, "outbox_depth": len(self._unacked)}),
            qos=0, retain=True)

    def _desc(self) -> bytes:
        return _json({"v": 1, "node": self.node_id, "boot_id": self.boot_id, "fw": "acc-suite node 1",
                      "sensors": [s.describe() for s in self.sensors.values()]})

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        client.subscribe([(self._topic("cmd"), 1), (self._topic("clock/ping"), 0)])
        self._birth()
        with self._lock:
            self._connected = True
            replay = sorted(self._unacked.values(), key=lambda m: json.loads(m[1]).get("seq", 0))
            self._unacked.clear()
            held, self._held = self._held, []
        for topic, payload, qos in replay:      # §6: replay in seq order, same seq
            self.sent["replayed"] += 1
            self._publish(topic, payload, qos)
        for topic, payload, qos, _ in held:
            self._publish(topic, payload, qos)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            self._connected = False

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # paho calls this holding its own out-message lock: take ours only briefly, never the other way round
        with self._lock:
            if self._unacked.pop(mid, None) is None:
                self._early_acks.add(mid)

    def _publish(self, topic: str, payload: bytes, qos: int) -> None:
        with self._lock:
            if not self._connected:
                self.sent["held"] += 1
                self._held.append((topic, payload, qos, True))
                return
        # publish outside our lock: paho's publish takes its out-message lock, and its network thread calls
        # _on_publish while holding that lock (the other order would deadlock)
        info = self._client.publish(topic, payload, qos=qos)
        if qos:
            with self._lock:
                if info.mid in self._early_acks:
                    self._early_acks.discard(info.mid)
                else:
                    self._unacked[info.mid] = (topic, payload, qos)

    # -- events and telemetry (§5.3, §5.4, §6) --------------------------------------------------------
    def _next_seq(self) -> int:
        with self._lock:
            seq, self._seq = self._seq, self._seq + 1
            return seq

    def event(self, sensor: str, kind: str, true_us: float) -> None:
        """An edge of ``sensor`` that happened at ``true_us``: stamped with the node clock, sent with delay."""
        payload = _json({"v": 1, "boot_id": self.boot_id, "seq": self._next_seq(), "sensor": sensor,
                         "kind": kind, "t_us": self.clock.node_us(true_us)})
        self.sent["evt"] += 1
        self.send_later(self._topic("evt"), payload, 1, true_us / 1e6)

    def samples(self, sensor: str, kind: str, rows: list[tuple[float, float, int]], ready_us: float) -> None:
        """A batch of ``(true_us, value, raw)`` (1–512, in time order) as one ``tel``, complete at ``ready_us``."""
        payload = _json({"v": 1, "boot_id": self.boot_id, "seq": self._next_seq(), "sensor": sensor,
                         "kind": kind, "samples": [[self.clock.node_us(t), v, r] for t, v, r in rows]})
        self.sent["tel"] += 1
        self.send_later(self._topic("tel"), payload, 0, ready_us / 1e6)

    def send_later(self, topic: str, payload: bytes, qos: int, ready_s: float) -> None:
        """The perturbation layer: sent a random delay after ``ready_s`` (the true time, monotonic s, when
        the message was complete: so the test's own lag on a busy machine is not added to the delay),
        and sometimes a second copy (same ``seq``)."""
        lo, hi = self._perturb.delay_s
        self._sched.at(ready_s + self._rng.uniform(lo, hi), lambda: self._publish(topic, payload, qos))
        if self._rng.random() < self._perturb.dup_p:
            self.sent["dup"] += 1
            self._sched.at(ready_s + self._rng.uniform(lo, hi), lambda: self._publish(topic, payload, qos))

    # -- clock and commands (§7, §8) ------------------------------------------------------------------
    def _on_message(self, client, userdata, msg) -> None:
        t2 = self.clock.now_us()
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        if msg.topic.endswith("/clock/ping"):
            pong = {"v": 1, "boot_id": self.boot_id, "n": body.get("n"), "t_us": t2}
            pong["t_tx_us"] = self.clock.now_us()
            client.publish(self._topic("clock/pong"), _json(pong), qos=0)
            self.sent["pong"] += 1
        elif msg.topic.endswith("/cmd"):
            self._command(body)

    def _command(self, body: dict[str, Any]) -> None:
        cmd_id = str(body.get("id"))
        with self._lock:
            ack = self._acks.get(cmd_id)
        if ack is None:            # executed outside our lock: it publishes (see _publish)
            ack = _json({"v": 1, "id": cmd_id, **self._execute(body)})
            with self._lock:
                self._acks[cmd_id] = ack
                while len(self._acks) > 16:
                    self._acks.pop(next(iter(self._acks)))
        self.sent["ack"] += 1
        self._client.publish(self._topic("ack"), ack, qos=1)

    def _execute(self, body: dict[str, Any]) -> dict[str, Any]:
        cmd, params = body.get("cmd"), body.get("params") or {}
        if cmd == "rebirth":
            self._birth()
            return {"ok": True}
        sensor = self.sensors.get(body.get("sensor") or "")
        if sensor is None:
            return {"ok": False, "error": "unknown_sensor"}
        if cmd == "calibrate":
            keys = {"load_cell": ("scale_counts_per_n", "offset_counts"), "encoder": ("counts_per_m", "invert")}
            mine = {k: v for k, v in params.items() if k in keys.get(sensor.kind, ())}
            if sensor.kind not in keys:
                return {"ok": False, "error": "unsupported: no calibration"}
            if not mine:
                return {"ok": False, "error": "bad_params: nothing for a " + sensor.kind}
            sensor.calibration.update(mine)
            if sensor.kind == "load_cell":
                sensor.calibration["uncalibrated"] = False
            result = dict(sensor.calibration)
        elif cmd == "configure":
            sensor.calibration.update(params) if sensor.kind == "encoder" else sensor.wiring.update(params)
            result = {"applied": params}
        elif cmd == "set_rate":
            sensor.rate_hz = 80 if params.get("rate_hz", 80) > 10 else 10
            result = {"rate_hz": sensor.rate_hz}
        elif cmd == "tare":
            return {"ok": False, "error": "busy: this test node is tared by the hub's calibrate"}
        else:
            return {"ok": False, "error": "unsupported"}
        self._client.publish(self._topic("desc"), self._desc(), qos=1, retain=True)
        return {"ok": True, "result": result}


def _no_delay(client, userdata, sock) -> None:
    """TCP_NODELAY (protocol.md §1): a pong or an event goes out at once, not after the peer's delayed ACK."""
    if hasattr(sock, "setsockopt"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# -- the sensors' physics: what a real HX711 and encoder would read ----------------------------------
LOAD_CELL_TRUE = {"scale_counts_per_n": 2280.0, "offset_counts": 8123.0}
"""The load cell as built: raw = offset + scale · force (counts)."""
ENCODER_TRUE_COUNTS_PER_M = 200.0
"""The wheel as built: 200 counts per metre (one edge every 5 mm)."""


def load_cell_reading(sensor: Sensor, force_n: float) -> tuple[float, int]:
    """``(value N, raw counts)`` the node reports for a true force, with the calibration it runs."""
    raw = int(round(LOAD_CELL_TRUE["offset_counts"] + LOAD_CELL_TRUE["scale_counts_per_n"] * force_n))
    scale = sensor.calibration.get("scale_counts_per_n") or 1.0
    offset = sensor.calibration.get("offset_counts") or 0.0
    return round((raw - offset) / scale, 3), raw


def encoder_reading(sensor: Sensor, position_m: float) -> tuple[float, int]:
    """``(value m, raw counts)`` for a true position (positive toward the athlete); the wiring may be
    reversed (``wiring["reversed"]``) and the calibration's ``invert`` flips it back. The raw count is the
    wire's count and does not flip with ``invert``."""
    raw = int(round(position_m * ENCODER_TRUE_COUNTS_PER_M)) * (-1 if sensor.wiring.get("reversed") else 1)
    cpm = sensor.calibration.get("counts_per_m") or 1.0
    sign = -1 if sensor.calibration.get("invert") else 1
    return sign * raw / cpm, raw
