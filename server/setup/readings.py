"""The latest reading of every sensor, bound or not, for ``/setup`` and the health checks.

Fed with the protocol's ``tel`` batches and ``evt`` events (``hub.listeners``, on the pipeline thread;
not thread-safe: use it from that thread only). Per ``(node, sensor)`` it keeps the newest (by node time) value and raw
count, the beam state (broken/clear), samples per second over the last ``window_us`` (the rate the
sensor really delivers), a load cell's raw counts of the last ``recent_us`` (for the zero-drift check) and the
last fault. Sequence-numbered messages per node are counted too (the denominator of the loss %).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from server.protocol import SensorEvent, TelemetryBatch

RATE_BUCKET_US = 50_000
"""Samples are counted per 50 ms of receipt time: the rate over a 5 s window is then within 1 % (one
bucket) of a per-message count, for one deque entry per bucket instead of one per message."""
RECENT_RAW_MAX = 256
"""The zero-drift check uses at most this many of a load cell's newest raw counts (a second of an
HX711 is 10 or 80): a flood of telemetry cannot make the check itself expensive."""


@dataclass
class Reading:
    node_id: str
    sensor_id: str
    kind: str = ""                           # telemetry kind (force, position) or "beam"
    value: float | None = None               # force_n or position_m as the node computed it
    raw: int | None = None                   # raw counts of the newest sample (by node time)
    t_us: int | None = None                  # node time of that sample
    beam: str | None = None                  # "broken" | "clear" (beams)
    breaks: int = 0
    rx_us: int = 0                           # hub time the last message arrived
    fault: str | None = None                 # last fault reason (load cell saturated, no data, ...)
    fault_rx_us: int = 0
    boot_id: str = ""
    _rate: deque = field(default_factory=deque, repr=False)     # [bucket, samples] per RATE_BUCKET_US of rx_us
    _rate_total: int = field(default=0, repr=False)             # the sum of _rate's samples
    _recent: deque = field(default_factory=deque, repr=False)   # (rx_us, samples) per force batch

    def samples_per_s(self, now_us: int, window_us: int) -> float:
        self._forget_rate(now_us, window_us)
        return self._rate_total / (window_us / 1e6)

    def _count_rate(self, rx_us: int, samples: int, window_us: int) -> None:
        bucket = rx_us // RATE_BUCKET_US
        rate = self._rate
        self._rate_total += samples
        if rate and rate[-1][0] == bucket:
            rate[-1][1] += samples
            return
        rate.append([bucket, samples])
        self._forget_rate(rx_us, window_us)

    def _forget_rate(self, now_us: int, window_us: int) -> None:
        """Drop the buckets wholly older than ``window_us`` before ``now_us``."""
        rate = self._rate
        oldest = (now_us - window_us) // RATE_BUCKET_US
        while rate and rate[0][0] < oldest:
            self._rate_total -= rate.popleft()[1]

    def recent_raw(self, now_us: int, recent_us: int) -> list[int]:
        """The raw counts of the last ``recent_us`` (at most ``RECENT_RAW_MAX``, the newest), oldest first."""
        out: list[int] = []
        for t, samples in reversed(self._recent):
            if now_us - t > recent_us or len(out) >= RECENT_RAW_MAX:
                break
            out.extend(sample[2] for sample in reversed(samples))
        del out[RECENT_RAW_MAX:]
        out.reverse()
        return out


class LiveReadings:
    """See the module docstring. ``changed`` holds the keys updated since the last :meth:`take_changed`."""

    def __init__(self, window_us: int = 5_000_000, recent_us: int = 1_000_000):
        self.window_us = window_us
        self.recent_us = recent_us
        self.sensors: dict[tuple[str, str], Reading] = {}
        self.seq_messages: dict[str, int] = {}
        self.changed: set[tuple[str, str]] = set()

    def _get(self, node: str, sensor: str) -> Reading:
        key = (node, sensor)
        reading = self.sensors.get(key)
        if reading is None:
            reading = self.sensors[key] = Reading(node, sensor)
        self.changed.add(key)
        return reading

    def on_batch(self, item: TelemetryBatch) -> None:
        self.seq_messages[item.node] = self.seq_messages.get(item.node, 0) + 1
        if not item.samples:
            return
        r = self._get(item.node, item.sensor)
        t_us, value, raw = item.samples[-1]
        # batches can arrive out of order: the value shown is the newest by node time (of this boot)
        if r.t_us is None or r.boot_id != item.boot_id or t_us >= r.t_us:
            r.value, r.raw, r.t_us = value, raw, t_us
        r.kind, r.rx_us, r.boot_id = item.kind, item.rx_us, item.boot_id
        r._count_rate(item.rx_us, len(item.samples), self.window_us)
        if item.kind == "force":  # the zero-drift check averages a load cell's last second of raw counts
            horizon = item.rx_us - self.recent_us
            recent = r._recent
            recent.append((item.rx_us, item.samples))  # per batch: flattened only when asked
            while recent[0][0] < horizon:
                recent.popleft()

    def on_event(self, item: SensorEvent) -> None:
        self.seq_messages[item.node] = self.seq_messages.get(item.node, 0) + 1
        r = self._get(item.node, item.sensor)
        r.rx_us, r.boot_id = item.rx_us, item.boot_id
        if item.kind in ("break", "restore"):
            r.kind = "beam"
            r.beam = "broken" if item.kind == "break" else "clear"
            r.breaks += item.kind == "break"
        elif item.kind == "fault":
            reason = (item.detail or {}).get("reason")
            r.fault, r.fault_rx_us = str(reason or "fault"), item.rx_us

    def forget_node(self, node: str) -> None:
        """A node rebooted: beam states and counts start afresh."""
        for key, r in self.sensors.items():
            if key[0] == node:
                r.beam, r.raw, r.value, r.fault, r.t_us = None, None, None, None, None
                r._recent.clear()
                self.changed.add(key)

    def get(self, node: str, sensor: str) -> Reading | None:
        return self.sensors.get((node, sensor))

    def take_changed(self) -> set[tuple[str, str]]:
        changed, self.changed = self.changed, set()
        return changed

    def view(self, node: str, sensor: str, now_us: int) -> dict[str, Any]:
        r = self.sensors.get((node, sensor))
        if r is None:
            return {"value": None, "raw": None, "beam": None, "age_s": None, "samples_per_s": 0.0, "breaks": 0}
        return {"kind": r.kind, "value": None if r.value is None else round(r.value, 3), "raw": r.raw,
                "beam": r.beam, "breaks": r.breaks, "age_s": round((now_us - r.rx_us) / 1e6, 2) if r.rx_us else None,
                "samples_per_s": round(r.samples_per_s(now_us, self.window_us), 1), "fault": r.fault}
