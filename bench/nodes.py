"""Bench nodes: protocol-level load generators that publish exactly what a real node publishes.

The bridge on mock pins (the demo's simulator) is too heavy for 24 nodes in Python, so these nodes
skip the pins and build the messages directly with :mod:`firmware_bridge.messages`:

- ``status`` online and ``desc`` (retained, QoS 1) on every connect, ``status`` offline as Last Will
  and on a clean stop; ``health`` (retained, QoS 0) every 5 s; a ``clock/pong`` (QoS 0) for every
  ``clock/ping``, stamped with the node clock on receipt;
- one ``seq`` counter per boot over ``evt`` and ``tel``;
- sleds: ``tel`` batches every 50 ms (load cell ``force`` at 80 Hz; wheel ``position`` one sample per
  encoder edge: 5 mm per count, 300–400 Hz while pulled, and a 200 Hz rattle between two counts at
  rest, so the wheel never sends less than 200 samples/s except while the sled accelerates);
- lanes: ``evt`` beam ``break``/``restore`` at QoS 1, sent when the edge happens.

Clocks: the node clock is this machine's CLOCK_MONOTONIC (system-wide on Linux) plus a per-node
offset, so the hub must correct it; ``*_hub`` times below are plain CLOCK_MONOTONIC µs, which is also
the hub's clock. Every publish is stamped with ``time.monotonic_ns()`` just before it is handed to
paho, so latencies can be measured against the clients' receipt stamps on the same clock.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from bench.blaster import RawPublisher, tel_payload
from bench.plan import (FORCE_RATE_HZ, HEALTH_INTERVAL_S, SLED_COUNTS_PER_M, TEL_BATCH_S, TEL_MAX_SAMPLES,
                        WHEEL_MIN_RATE_HZ)
from firmware_bridge import messages as msg
from server.hub.service import monotonic_us as mono_us  # the hub's clock, and the origin of every bench node clock
from server.sim.physics import ShuffleAthlete, Sled, SledAthlete, SledRun
from server.sim.stations import HX711_OFFSET_COUNTS as HX711_OFFSET, HX711_SCALE_COUNTS_PER_N as HX711_SCALE

FW = "sledhub-bench 0.1.0"
FORCE_STEP_US = round(1e6 / FORCE_RATE_HZ)
RATTLE_STEP_US = round(1e6 / WHEEL_MIN_RATE_HZ)
BATCH_US = round(TEL_BATCH_S * 1e6)

SLED_SENSORS = [
    {"id": "force", "kind": "load_cell", "unit": "N", "rate_hz": FORCE_RATE_HZ,
     "wiring": {"dout": 5, "sck": 6, "gain": 128},
     "calibration": {"scale_counts_per_n": HX711_SCALE, "offset_counts": HX711_OFFSET, "uncalibrated": False}},
    {"id": "wheel", "kind": "encoder", "unit": "m", "rate_hz": None, "wiring": {"a": 17, "b": 27, "pull_up": True},
     "calibration": {"counts_per_m": float(SLED_COUNTS_PER_M), "invert": False}},
]
LANE_GATES = ("start", "split1", "finish")
LANE_SENSORS = [
    {"id": gate, "kind": "beam", "unit": None, "rate_hz": None,
     "wiring": {"pin": pin, "broken_level": "low", "pull": "up"}, "calibration": {"holdoff_s": 0.5}}
    for gate, pin in zip(LANE_GATES, (17, 27, 23))
]


@dataclass
class Records:
    """What one node process saw itself do; pickled back to the bench at the end."""

    tel: list[tuple] = field(default_factory=list)
    """``(station, node, seq, t_first_hub_us, t_last_hub_us, pub_ns)`` per telemetry batch."""
    evt: list[tuple] = field(default_factory=list)
    """``(station, node, seq, kind, sensor, t_hub_us, pub_ns)`` per event."""
    wheel: list[tuple] = field(default_factory=list)
    """``(station, t_first_hub_us, first_count, last_count, pub_ns)`` per wheel batch."""
    rest_counts: dict[tuple[str, int], int] = field(default_factory=dict)
    """``(station, run) -> wheel count at the GO command``: the engine's rest position of that run."""
    finishes: dict[tuple[str, int], tuple] = field(default_factory=dict)
    """``(station, run) -> (node, seq, pub_ns, t_finish_hub_us)``: the message carrying the finish."""
    counts: dict[str, Counter] = field(default_factory=dict)
    """Per node: messages published by type, ``evt_acked`` (broker PUBACKs), ``samples``."""
    offsets: dict[str, int] = field(default_factory=dict)
    """Per node: node clock − CLOCK_MONOTONIC (µs); the hub should measure the opposite."""


class BenchNode:
    """One node: an MQTT client with a boot id, a seq counter and its own clock offset."""

    sensors: list[dict[str, Any]] = []

    def __init__(self, node_id: str, station_id: str, broker: tuple[str, int], records: Records,
                 rng: random.Random):
        self.node_id, self.station_id = node_id, station_id
        self.broker = broker
        self.records = records
        self.rng = rng
        self.offset_us = rng.randrange(-5_000_000, 5_000_000)
        records.offsets[node_id] = self.offset_us
        self.boot_id = uuid.uuid4().hex
        self.seq = 0
        self.counts = records.counts.setdefault(node_id, Counter())
        for key in ("status", "desc", "health", "pong", "evt", "tel", "samples"):  # no key appears later
            self.counts[key] += 0
        self.connected = threading.Event()
        self._next_health_us = 0
        self._started_us = mono_us()
        self._evt_mids: set[int] = set()    # mids of our evt messages (main thread adds)
        self._acked_mids: set[int] = set()  # mids the broker acknowledged (paho's thread adds)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sledhub-node-{node_id}",
                                  clean_session=True, protocol=mqtt.MQTTv311)
        self.client.will_set(self.topic("status"), self._status("offline"), qos=1, retain=True)
        self.client.max_inflight_messages_set(30)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish

    def topic(self, suffix: str) -> str:
        return msg.topic(self.node_id, suffix)

    def node_us(self, t_hub_us: int) -> int:
        return t_hub_us + self.offset_us

    def _status(self, state: str) -> bytes:
        return msg.encode(msg.status(self.node_id, state, self.boot_id))

    # lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self.client.connect_async(*self.broker, keepalive=15)
        self.client.loop_start()

    def stop(self) -> None:
        if self.connected.is_set():
            info = self.client.publish(self.topic("status"), self._status("offline"), qos=1, retain=True)
            self.counts["status"] += 1
            try:
                info.wait_for_publish(timeout=1.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # paho callbacks (network thread) ------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        client.subscribe([(self.topic("cmd"), 1), (self.topic("clock/ping"), 0)])
        client.publish(self.topic("status"), self._status("online"), qos=1, retain=True)
        desc = msg.desc(self.node_id, self.boot_id, FW, self.sensors)
        client.publish(self.topic("desc"), msg.encode(desc), qos=1, retain=True)
        self.counts["status"] += 1
        self.counts["desc"] += 1
        self.connected.set()

    def _on_message(self, client, userdata, message) -> None:
        t_rx = self.node_us(mono_us())
        if not message.topic.endswith("/clock/ping"):
            return
        n = json.loads(message.payload).get("n")
        if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
            pong = msg.pong(self.boot_id, n, t_rx, self.node_us(mono_us()))
            client.publish(self.topic("clock/pong"), msg.encode(pong), qos=0)
            self.counts["pong"] += 1

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # no lock of ours here: paho calls this holding its own, which publish() takes too
        self._acked_mids.add(mid)

    def counts_now(self) -> dict[str, int]:
        """What this node published so far, by type, and ``evt_acked``: its events the broker has."""
        acked = self._acked_mids.copy()
        return {**self.counts, "evt_acked": len(self._evt_mids & acked)}

    # publishing (the node process's main thread) ------------------------------------------------
    def next_seq(self) -> int:
        seq, self.seq = self.seq, self.seq + 1
        return seq

    def publish_tel(self, sensor: str, kind: str, samples: list[list], client: mqtt.Client | None = None
                    ) -> tuple[int, int]:
        seq = self.next_seq()
        payload = msg.encode(msg.telemetry(self.boot_id, seq, sensor, kind, samples))
        pub_ns = time.monotonic_ns()
        (client or self.client).publish(self.topic("tel"), payload, qos=0)
        self.counts["tel"] += 1
        self.counts["samples"] += len(samples)
        return seq, pub_ns

    def publish_evt(self, sensor: str, kind: str, t_hub_us: int) -> tuple[int, int]:
        seq = self.next_seq()
        payload = msg.encode(msg.event(self.boot_id, seq, sensor, kind, self.node_us(t_hub_us)))
        pub_ns = time.monotonic_ns()
        info = self.client.publish(self.topic("evt"), payload, qos=1)
        self._evt_mids.add(info.mid)  # mids wrap at 65535: a bench run sends far fewer events per node
        self.counts["evt"] += 1
        return seq, pub_ns

    def health(self, now_us: int) -> None:
        if now_us < self._next_health_us or not self.connected.is_set():
            return
        self._next_health_us = now_us + round(HEALTH_INTERVAL_S * 1e6)
        body = msg.health(self.node_id, self.boot_id, (now_us - self._started_us) / 1e6, {})
        self.client.publish(self.topic("health"), msg.encode(body), qos=0, retain=True)
        self.counts["health"] += 1

    # load (overridden) --------------------------------------------------------------------------
    def run(self, k: int, go_cmd_us: int, signal_us: int) -> None:
        raise NotImplementedError

    def tick(self, now_us: int) -> list[tuple[str, int]]:
        """Publish what is due at ``now_us``; returns the runs ``(station, k)`` that ended."""
        raise NotImplementedError

    def next_due_us(self) -> int:
        raise NotImplementedError


@dataclass
class _Pull:
    """One sled pull: encoder edges relative to the count at the start, force along the way."""

    k: int
    go_cmd_us: int
    start_us: int
    edges: list[tuple[int, int]]     # (µs after start, counts after start)
    force_n: list[float]             # per ms after start
    p0_count: int | None = None      # wheel count at the go command (the engine's rest position)
    c_start: int | None = None
    i: int = 0
    finish_t_us: int | None = None


class SledNode(BenchNode):
    """A reverse sled: load cell at 80 Hz, wheel encoder one sample per edge; see the module docstring."""

    sensors = SLED_SENSORS

    def __init__(self, *args, distance_m: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.distance_m = distance_m
        now = mono_us()
        phase = self.rng.randrange(BATCH_US)
        self.next_batch_us = now + phase
        self.next_force_us = now + phase
        self.next_rattle_us = now + phase
        self.count = 0
        self.base = 0
        self.pull: _Pull | None = None
        self.pending_force: list[list] = []
        self.pending_wheel: list[list] = []
        self.recent: deque[tuple[int, int]] = deque(maxlen=256)  # (t_hub, count) of recent wheel samples
        self.finish_in_batch: _Pull | None = None
        self._blast: RawPublisher | None = None
        self.blasted = 0

    def run(self, k: int, go_cmd_us: int, signal_us: int) -> None:
        athlete = SledAthlete(f0_n=self.rng.uniform(560, 760), v0_m_s=self.rng.uniform(2.8, 3.6),
                              rise_s=self.rng.uniform(0.25, 0.45), reaction_s=self.rng.uniform(0.18, 0.32))
        run = SledRun(athlete, Sled(counts_per_m=SLED_COUNTS_PER_M))
        states = run.trajectory(until_m=self.distance_m + 0.5)
        edges = [(round(t_s * 1e6), c) for t_s, c in run.count_crossings(states)]
        start = max(signal_us + round(athlete.reaction_s * 1e6), mono_us() + 1000)
        pull = _Pull(k, go_cmd_us, start, edges, [s.force_n for s in states])
        before = [c for t, c in self.recent if t <= go_cmd_us]
        pull.p0_count = before[-1] if before else None
        self.pull = pull

    def next_due_us(self) -> int:
        return self.next_batch_us

    def tick(self, now_us: int) -> list[tuple[str, int]]:
        if now_us < self.next_batch_us:
            return []
        self.next_batch_us += BATCH_US
        if self.next_batch_us <= now_us:  # fell behind: keep the 50 ms cadence from now
            self.next_batch_us = now_us + BATCH_US
        ended = self._generate(now_us)
        self._flush()
        self.health(now_us)
        return ended

    # samples ------------------------------------------------------------------------------------
    def _generate(self, until_us: int) -> list[tuple[str, int]]:
        while self.next_force_us <= until_us:
            t = self.next_force_us
            f = self._force_at(t)
            self.pending_force.append([self.node_us(t), round(f, 2), round(HX711_OFFSET + f * HX711_SCALE)])
            self.next_force_us += FORCE_STEP_US
        return self._wheel(until_us)

    def _force_at(self, t_us: int) -> float:
        p = self.pull
        if p is not None and t_us >= p.start_us:
            i = (t_us - p.start_us) // 1000
            if i < len(p.force_n):
                return p.force_n[i] + self.rng.uniform(-3, 3)
        return 20.0 + self.rng.uniform(-2, 2)

    def _wheel(self, until_us: int) -> list[tuple[str, int]]:
        ended: list[tuple[str, int]] = []
        while True:
            p = self.pull
            if p is not None and p.c_start is None and self.next_rattle_us >= p.start_us:
                p.c_start = self.count
            if p is not None and p.c_start is not None:
                if p.i >= len(p.edges):
                    ended.append((self.station_id, p.k))
                    self.pull, self.base = None, self.count
                    continue
                t = p.start_us + p.edges[p.i][0]
                if t > until_us:
                    return ended
                self._wheel_sample(t, p.c_start + p.edges[p.i][1])
                p.i += 1
                self.next_rattle_us = t + RATTLE_STEP_US
                continue
            t = self.next_rattle_us
            if t > until_us:
                return ended
            self._wheel_sample(t, self.base + 1 if self.count == self.base else self.base)
            self.next_rattle_us += RATTLE_STEP_US

    def _wheel_sample(self, t: int, count: int) -> None:
        self.count = count
        self.recent.append((t, count))
        self.pending_wheel.append([self.node_us(t), count / SLED_COUNTS_PER_M, count])
        p = self.pull
        if p is None:
            return
        if t <= p.go_cmd_us:
            p.p0_count = count
        elif p.finish_t_us is None and p.p0_count is not None and p.c_start is not None:
            # the engine's own test, on the same floats: position - rest >= distance
            if count / SLED_COUNTS_PER_M - p.p0_count / SLED_COUNTS_PER_M >= self.distance_m:
                p.finish_t_us = t
                self.finish_in_batch = p
                self.records.rest_counts[(self.station_id, p.k)] = p.p0_count

    def _flush(self) -> None:
        """Publish the pending samples as the bridge does: one batch per sensor, at most 64 samples each."""
        pending = (("force", "force", self.pending_force), ("wheel", "position", self.pending_wheel))
        self.pending_force, self.pending_wheel = [], []
        done = self.finish_in_batch
        for sensor, kind, samples in pending:
            for i in range(0, len(samples), TEL_MAX_SAMPLES):
                chunk = samples[i:i + TEL_MAX_SAMPLES]
                seq, pub_ns = self.publish_tel(sensor, kind, chunk)
                self._record(seq, chunk, pub_ns)
                if sensor == "wheel":
                    self.records.wheel.append((self.station_id, chunk[0][0] - self.offset_us, chunk[0][2],
                                               chunk[-1][2], pub_ns))
                if done is not None and sensor == "wheel" and chunk[-1][0] >= self.node_us(done.finish_t_us):
                    self.records.finishes[(self.station_id, done.k)] = (self.node_id, seq, pub_ns, done.finish_t_us)
                    done = self.finish_in_batch = None

    def _record(self, seq: int, samples: list[list], pub_ns: int) -> None:
        self.records.tel.append((self.station_id, self.node_id, seq, samples[0][0] - self.offset_us,
                                 samples[-1][0] - self.offset_us, pub_ns))

    # saturation ---------------------------------------------------------------------------------
    def blast_client(self) -> RawPublisher:
        """A second connection for saturation runs (:class:`bench.blaster.RawPublisher`): raw packets
        written in batches, so the publishers are not what limits the ceiling. The hub sees only topics
        and payloads: same node."""
        if self._blast is None:
            self._blast = RawPublisher(*self.broker, client_id=f"sledhub-node-{self.node_id}-blast")
        return self._blast

    def close_blast(self) -> None:
        if self._blast is not None:
            self._blast.close()
            self._blast = None

    def blast_one(self, wheel: bool) -> None:
        """One telemetry batch as fast as possible: a wheel batch of 15 samples or a force batch of 4,
        spread over the time since this sensor's previous sample (so times stay real and increasing).
        Buffered: :meth:`RawPublisher.flush` (``blast_client().flush()``) sends it."""
        client = self.blast_client()
        now = mono_us()
        if wheel:
            n, last = 15, self.next_rattle_us
            step = max(1, (now - last) // n)
            base, offset = self.base, self.offset_us
            values = (base / SLED_COUNTS_PER_M, (base + 1) / SLED_COUNTS_PER_M)
            samples = [[last + i * step + offset, values[i & 1], base + (i & 1)] for i in range(1, n + 1)]
            self.next_rattle_us = last + n * step + 1
            sensor, kind = "wheel", "position"
        else:
            n, last = 4, self.next_force_us
            step = max(1, (now - last) // n)
            samples = [[self.node_us(last + i * step), 20.0, round(HX711_OFFSET + 20 * HX711_SCALE)]
                       for i in range(1, n + 1)]
            self.next_force_us = last + n * step + 1
            sensor, kind = "force", "force"
        client.publish(self.topic("tel"), tel_payload(self.boot_id, self.next_seq(), sensor, kind, samples))
        self.counts["tel"] += 1
        self.counts["samples"] += n
        self.blasted += 1


@dataclass
class _Run:
    k: int
    edges: list[tuple[int, str, str]]  # (t_hub_us, gate, "break" | "restore"), in time order
    i: int = 0


class LaneNode(BenchNode):
    """A backward-shuffle lane with start, split1 and finish beams; events as they happen."""

    sensors = LANE_SENSORS

    def __init__(self, *args, length_m: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.gates_m = {"start": 0.0, "split1": length_m / 2, "finish": length_m}
        self.current: _Run | None = None
        self.next_health_check_us = mono_us()

    def run(self, k: int, go_cmd_us: int, signal_us: int) -> None:
        athlete = ShuffleAthlete(top_speed_m_s=self.rng.uniform(2.2, 3.0), accel_s=self.rng.uniform(0.9, 1.4),
                                 reaction_s=self.rng.uniform(0.18, 0.32))
        t0 = signal_us + round(athlete.reaction_s * 1e6)
        edges = []
        for gate, at_m in self.gates_m.items():
            brk, restore = athlete.beam_window(at_m)
            edges += [(t0 + round(brk * 1e6), gate, "break"), (t0 + round(restore * 1e6), gate, "restore")]
        self.current = _Run(k, sorted(edges))

    def next_due_us(self) -> int:
        run = self.current
        due = self.next_health_check_us
        return min(due, run.edges[run.i][0]) if run is not None else due

    def tick(self, now_us: int) -> list[tuple[str, int]]:
        if now_us >= self.next_health_check_us:
            self.next_health_check_us = now_us + 500_000
            self.health(now_us)
        run = self.current
        while run is not None and run.i < len(run.edges) and run.edges[run.i][0] <= now_us:
            t, gate, kind = run.edges[run.i]
            seq, pub_ns = self.publish_evt(gate, kind, t)
            self.records.evt.append((self.station_id, self.node_id, seq, kind, gate, t, pub_ns))
            if gate == "finish" and kind == "break":
                self.records.finishes[(self.station_id, run.k)] = (self.node_id, seq, pub_ns, t)
            run.i += 1
        if run is not None and run.i >= len(run.edges):
            self.current = None
            return [(self.station_id, run.k)]
        return []
