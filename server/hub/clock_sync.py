"""Put every node on the hub clock: ping/pong offsets per node boot, min-RTT filtered, drift corrected.

The exchange (``docs/protocol.md``, "Clock exchange"): the hub sends ping ``n`` at hub time ``t1``;
the node stamps its clock ``t2`` when the ping arrives (and, optionally, ``t3`` when it answers); the
hub receives the pong at ``t4``::

    rtt    = (t4 - t1) - (t3 - t2)            # t3 = t2 when the node sends no t_tx_us
    offset = ((t1 - t2) + (t4 - t3)) / 2      # = (t1 + t4) / 2 - t2 when t3 = t2
    t_hub  = t_node + offset

Whatever the delays, the true offset at ``t2`` lies within ``rtt / 2`` of a sample's estimate, so the
*anchor* is the sample with the smallest ``rtt`` among the last ``samples_per_boot`` (queueing only
ever adds delay; ties: the most recent).

Drift: node crystals run up to ±100 ppm off the hub's (±6 ms per minute), so the offset is a line in
the node's time, not a constant. Over the last ``window_samples`` samples (≈ 256 s at one ping per
2 s) the hub takes the min-RTT sample of each of ``buckets`` consecutive groups and fits a line
through them (Theil–Sen: the median of the pairwise slopes, so one wrong sample cannot tilt it); its
slope is the drift (clamped to ±``MAX_DRIFT_PPM``). A time is placed with a level (below) plus the drift since it::

    offset(t_node) = level + drift · (t_node - t_level)

The samples are ranked by their error bound at the latest sample's time, ``rtt / 2 + u · age``: ``u``
is ``MAX_NODE_DRIFT`` (100 ppm) while the drift is unknown (the samples span less than
``min_fit_span_us``, 40 s, or the fit is no better than that; candidates: the last
``samples_per_boot``) and once fitted ``2 · spread / span`` (the points' median distance from the
line, at least ``FIT_NOISE_US``) but at least ``fitted_drift_error`` (5 ppm) (candidates: the whole
window). The offset is the mean of the best ``blend`` (4) of them,
each carried forward with the drift and weighted by ``1 / bound²``: a new best sample then moves
the offset by its share instead of making it jump (between two pings on a loaded machine the best
sample's error can differ by 1 ms; blended, a run's start and finish 3 s apart see nearly the same
offset). ``error_bound_us`` is the same weighted mean of the bounds. With ±100 ppm, pings every 2 s and links that queue
≈ 1 ms each way, times are placed within 1 ms after 16 exchanges and within ≈ 0.35 ms once the
drift is fitted, for an hour and more (``tests/protocol/test_clock_drift.py``); a constant offset
would be up to 3.2 ms off.

Held lines: a run timed on one node (its start and finish beams, a sled's whole pull) is exact on the
node's clock whatever the offset is, as long as all its times are placed with the same line. A young
estimate moves by a millisecond and more from one pong to the next (and a settled one by a tenth), so
the hub *holds* the nodes of stations with an attempt in progress whose time starts at a node's edge
(``hold_only``; ``Hub._hold_clocks``): from the first time placed for a held node, its boots keep the
line (level, drift) they had then, while new samples go on improving the live estimate; the held line is
let go when the node is released (no attempt left on its stations), early when the live estimate proves
it wrong (the two differ by more than both their bounds; counted in ``hold_breaks``), and renewed once
it is ``max_hold_us`` (2 min) old (a node serving stations whose attempts overlap, a station left armed;
``hold_renewals``): its bound grows with its age, and a run crossing the renewal sees the step between
the two lines (≈ 0.1 ms settled). A run's times then differ exactly as the node's clock says, times the
fitted drift; its absolute placement (what a start gate on another node or the GO signal is compared
with) is as good as the line held, and ``error_bound_us`` says how good that is.

Every boot keeps its own samples (the last ``boots_per_node`` boots of a node), so a repeated
``online`` of the same boot changes nothing and a backlog of an earlier boot, delivered after the node
rebooted, is still placed with that boot's offset. Unanswered pings expire after ``ping_timeout_us``;
a pong that matches no pending ping is ignored.

Pure: no I/O, no clock reads (the caller passes ``now_us``; a pong carries its receipt time ``rx_us``).
Not thread-safe: use it from one thread (the hub's pipeline).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from server.protocol import ClockPong, make_ping

MAX_NODE_DRIFT = 100e-6
"""How far (d offset / d t_node) a node's clock may drift before its drift is known: a crystal's ±100 ppm."""

MAX_DRIFT_PPM = 500.0
"""A fitted drift beyond this (ppm) is clamped: no crystal is that far off; the fit was fooled."""


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One answered ping: hub times ``t1_us``/``t4_us``, the node's ``t_node_us``, and what they give."""

    n: int
    t1_us: int
    t4_us: int
    t_node_us: int
    rtt_us: int
    offset_us: int


@dataclass(slots=True)
class _BootClock:
    window: deque                       # the last window_samples samples, oldest first
    best: ClockSample | None = None     # the anchor: min rtt among the last samples_per_boot
    drift: float = 0.0                  # d offset / d t_node (1e-6 = 1 ppm)
    unsure: float = MAX_NODE_DRIFT      # how far the drift may be off (same unit)

    level_us: float = 0.0               # the offset at node time level_t_us (blend of the best samples)
    level_t_us: int = 0
    bound_us: int = 0                   # how far level_us can be off (the blend of the samples' bounds)
    held: _Line | None = None           # the line times are placed with while the node is held

    def line(self) -> _Line:
        return _Line(self.level_us, self.level_t_us, self.drift, self.bound_us, self.unsure)

    def offset_at(self, t_node_us: int | None) -> int | None:
        if self.best is None:
            return None
        held = self.held
        if held is not None:
            if t_node_us is None:
                t_node_us = held.t_us
            return round(held.level_us + held.drift * (t_node_us - held.t_us))
        if t_node_us is None:
            t_node_us = self.level_t_us
        return round(self.level_us + self.drift * (t_node_us - self.level_t_us))


@dataclass(frozen=True, slots=True)
class _Line:
    """An offset line: ``level_us`` at node time ``t_us``, sloping by ``drift``; within ``bound_us`` there,
    plus ``unsure`` per µs of node time away from it."""

    level_us: float
    t_us: int
    drift: float
    bound_us: int
    unsure: float

    def at(self, t_node_us: int) -> float:
        return self.level_us + self.drift * (t_node_us - self.t_us)

    def bound_at(self, t_node_us: int) -> int:
        return math.ceil(self.bound_us + self.unsure * abs(t_node_us - self.t_us))


@dataclass(slots=True)
class _NodeClock:
    next_n: int = 0
    pending: OrderedDict = field(default_factory=OrderedDict)  # n -> t1_us, oldest first
    boot_id: str | None = None                                  # the boot of the latest pong
    boots: OrderedDict = field(default_factory=OrderedDict)    # boot_id -> _BootClock, oldest first
    pings: int = 0
    pongs: int = 0
    expired: int = 0
    unmatched: int = 0
    invalid: int = 0
    hold_breaks: int = 0
    hold_renewals: int = 0


FIT_NOISE_US = 400
"""The least sample error assumed when judging how well a span fits the drift (µs)."""

SLACK_US = 100
"""Added to every sample's bound when checking samples against each other (hub and node stamping)."""


def consistent(samples: list[ClockSample], t_now_us: int, drift: float, unsure: float) -> list[ClockSample]:
    """The samples that agree with the most others (Marzullo's intersection): each says the offset at
    ``t_now_us`` lies within ``offset + drift·age ± (rtt/2 + unsure·age + SLACK_US)``; the point most of
    those intervals share is found and the samples whose interval misses it are dropped. A sample with
    a small RTT but a wrong node time (a node that stamped late, a pong matched to the wrong ping)
    would otherwise outweigh every good one."""
    if len(samples) < 3:
        return samples
    spans = []
    for s in samples:
        age = t_now_us - s.t_node_us
        mid = s.offset_us + drift * age
        half = s.rtt_us / 2 + unsure * abs(age) + SLACK_US
        spans.append((mid - half, mid + half))
    edges = sorted([(lo, 0) for lo, _ in spans] + [(hi, 1) for _, hi in spans])
    depth = best = 0
    point = spans[0][0]
    for x, is_end in edges:
        if is_end:
            depth -= 1
        else:
            depth += 1
            if depth > best:
                best, point = depth, x
    return [s for s, (lo, hi) in zip(samples, spans) if lo <= point <= hi]


def fit_drift(samples: list[ClockSample], buckets: int) -> tuple[float, float]:
    """The drift (d offset / d t_node) of ``samples`` (oldest first): the Theil–Sen slope (the median of
    the slopes between every two points) of the min-RTT sample of each of ``buckets`` consecutive
    groups. A sample with a small RTT but a wrong offset (a node that stamped late) cannot tilt it, not
    even at the end of the window. Clamped to ±MAX_DRIFT_PPM. Returns ``(drift, spread_us)``: the
    median distance (µs) of the points from the line, what the fit's slope can be trusted to."""
    k = max(2, min(buckets, len(samples) // 2))
    size = len(samples) / k
    points = []
    for i in range(k):
        group = samples[round(i * size):round((i + 1) * size)]
        s = min(reversed(group), key=lambda x: x.rtt_us)
        points.append((s.t_node_us, s.offset_us))
    slopes = sorted((o2 - o1) / (t2 - t1) for i, (t1, o1) in enumerate(points)
                    for t2, o2 in points[i + 1:] if t2 != t1)
    if not slopes:
        return 0.0, float("inf")
    n = len(slopes)
    slope = slopes[n // 2] if n % 2 else (slopes[n // 2 - 1] + slopes[n // 2]) / 2
    level = sorted(o - slope * t for t, o in points)[len(points) // 2]
    spread = sorted(abs(o - slope * t - level) for t, o in points)[len(points) // 2]
    limit = MAX_DRIFT_PPM * 1e-6
    return max(-limit, min(limit, slope)), spread


class ClockSync:
    """Per-node clock offsets from ping/pong exchanges; see the module docstring."""

    def __init__(self, *, samples_per_boot: int = 16, ping_timeout_us: int = 2_000_000, max_pending: int = 8,
                 window_samples: int = 128, buckets: int = 8, min_fit_span_us: int = 40_000_000,
                 boots_per_node: int = 4, fitted_drift_error: float = 5e-6, blend: int = 4,
                 max_hold_us: int = 120_000_000):
        if min(samples_per_boot, ping_timeout_us, max_pending, buckets, boots_per_node) < 1:
            raise ValueError("samples_per_boot, ping_timeout_us, max_pending, buckets and boots_per_node "
                             "must be positive")
        self.samples_per_boot = samples_per_boot
        self.ping_timeout_us = ping_timeout_us
        self.max_pending = max_pending
        self.window_samples = max(window_samples, samples_per_boot)
        self.buckets = buckets
        self.min_fit_span_us = min_fit_span_us
        self.boots_per_node = boots_per_node
        self.fitted_drift_error = fitted_drift_error
        self.blend = max(1, blend)
        self.max_hold_us = max_hold_us
        self._nodes: dict[str, _NodeClock] = {}
        self._held: frozenset[str] = frozenset()

    def _clock(self, node: str) -> _NodeClock:
        clock = self._nodes.get(node)
        if clock is None:
            clock = self._nodes[node] = _NodeClock()
        return clock

    def _expire(self, clock: _NodeClock, now_us: int) -> None:
        pending = clock.pending
        while pending:
            n, t1 = next(iter(pending.items()))
            if now_us - t1 <= self.ping_timeout_us and len(pending) <= self.max_pending:
                break
            del pending[n]
            clock.expired += 1

    def ping(self, node: str, now_us: int) -> tuple[str, bytes]:
        """A new ping for ``node`` sent at hub time ``now_us``: ``(topic, payload)`` to publish (QoS 0)."""
        n = self._nodes[node].next_n if node in self._nodes else 0
        message = make_ping(node, n)  # ValueError on a bad node id, before any state changes
        clock = self._clock(node)
        clock.next_n += 1
        clock.pings += 1
        clock.pending[n] = now_us
        self._expire(clock, now_us)
        return message

    def pending_n(self, node: str) -> int:
        """The number of the node's latest ping."""
        return self._nodes[node].next_n - 1

    def sent(self, node: str, n: int, t1_us: int) -> None:
        """Ping ``n`` left the hub at ``t1_us`` (later than the time given to ``ping``: the time read just
        before it was written to the socket; it must not be later than that, or the sample's ``rtt / 2``
        no longer bounds its error). Ignored when no longer pending or not later."""
        clock = self._nodes.get(node)
        if clock is not None and n in clock.pending and t1_us > clock.pending[n]:
            clock.pending[n] = t1_us

    def samples(self, node: str, boot_id: str | None = None) -> int:
        """How many samples the node (boot; default its latest) has in the window."""
        boot = self._boot(node, boot_id)
        return 0 if boot is None else len(boot.window)

    def pong(self, pong: ClockPong) -> ClockSample | None:
        """Record the answer to a ping; returns the sample, or None if it matched no live ping."""
        clock = self._nodes.get(pong.node)
        t1 = clock.pending.pop(pong.n, None) if clock else None
        if clock is None or t1 is None:
            if clock:
                clock.unmatched += 1
            return None
        t4 = pong.rx_us
        if t4 - t1 > self.ping_timeout_us:
            clock.expired += 1
            return None
        t2 = pong.t_node_us
        t3 = t2 if pong.t_node_tx_us is None else pong.t_node_tx_us
        rtt = (t4 - t1) - (t3 - t2)
        if rtt < 0 or t3 < t2:
            clock.invalid += 1
            return None
        sample = ClockSample(pong.n, t1, t4, t2, rtt, (t1 - t2 + t4 - t3) // 2)
        self._add(clock, pong.boot_id, sample)
        clock.pongs += 1
        return sample

    def _add(self, clock: _NodeClock, boot_id: str, sample: ClockSample) -> None:
        boot = clock.boots.get(boot_id)
        if boot is None:
            boot = clock.boots[boot_id] = _BootClock(deque(maxlen=self.window_samples))
            while len(clock.boots) > self.boots_per_node:
                clock.boots.popitem(last=False)
        else:
            clock.boots.move_to_end(boot_id)
        clock.boot_id = boot_id
        window = boot.window
        window.append(sample)
        span_us = window[-1].t_node_us - window[0].t_node_us
        fitted = False
        if len(window) >= 4 and span_us >= self.min_fit_span_us:
            drift, spread_us = fit_drift(list(window), self.buckets)
            # how far the slope may be off: the points' spread (at least FIT_NOISE_US) over the span;
            # a fit no better than knowing nothing (noisy links, a short span) is not used
            unsure = max(self.fitted_drift_error, 2 * max(spread_us, FIT_NOISE_US) / span_us)
            fitted = unsure < MAX_NODE_DRIFT
        if fitted:
            boot.drift, candidates = drift, len(window)
        else:
            boot.drift = 0.0
            unsure, candidates = MAX_NODE_DRIFT, self.samples_per_boot
        # the anchor: the least error bound at any later time, rtt/2 + (what drift may add since it)
        recent = [window[i] for i in range(max(0, len(window) - candidates), len(window))]
        t_now = window[-1].t_node_us
        recent = consistent(recent, t_now, boot.drift, unsure)
        ranked = sorted(recent, key=lambda s: (s.rtt_us / 2 + unsure * (t_now - s.t_node_us), -s.t_node_us))
        boot.best = ranked[0]
        boot.unsure = unsure
        # the level: the best few samples, each carried to now with the drift, weighted by 1 / bound²,
        # so a new best sample moves the offset by its share instead of making it jump
        top = ranked[:self.blend]
        weights = [1.0 / (s.rtt_us / 2 + unsure * (t_now - s.t_node_us) + 50.0) ** 2 for s in top]
        bounds = [s.rtt_us / 2 + unsure * (t_now - s.t_node_us) for s in top]
        boot.level_t_us = t_now
        boot.level_us = sum(w * (s.offset_us + boot.drift * (t_now - s.t_node_us))
                            for w, s in zip(weights, top)) / sum(weights)
        boot.bound_us = math.ceil(sum(w * b for w, b in zip(weights, bounds)) / sum(weights))
        held = boot.held
        if held is not None and abs(held.at(t_now) - boot.level_us) > held.bound_at(t_now) + boot.bound_us:
            boot.held = None  # the held line is proved wrong: the next time placed takes the live one
            clock.hold_breaks += 1
        elif held is not None and t_now - held.t_us > self.max_hold_us:
            boot.held = None  # held for long (a node shared by overlapping attempts, a station left armed):
            clock.hold_renewals += 1  # the next time placed takes the live line, a run on it sees the step

    def hold_only(self, nodes: frozenset[str] | set[str]) -> None:
        """Hold the lines of exactly ``nodes`` (the nodes of stations with an attempt in progress): a held
        node's boot keeps the line of the first time placed from now on; a node no longer held lets it
        go (the live estimate places its next time). See the module docstring."""
        nodes = frozenset(nodes)
        for node in self._held - nodes:
            clock = self._nodes.get(node)
            if clock is not None:
                for boot in clock.boots.values():
                    boot.held = None
        self._held = nodes

    def held(self, node: str) -> bool:
        """Whether ``node`` is held (see ``hold_only``)."""
        return node in self._held

    def export(self) -> dict[str, Any]:
        """Every node's samples of its latest boot, as plain JSON-able data (for ``restore``)."""
        out: dict[str, Any] = {}
        for node, clock in self._nodes.items():
            boot = clock.boots.get(clock.boot_id) if clock.boot_id else None
            if boot is not None and boot.window:
                out[node] = {"boot_id": clock.boot_id,
                             "samples": [[s.n, s.t1_us, s.t4_us, s.t_node_us, s.rtt_us, s.offset_us]
                                         for s in boot.window]}
        return out

    def restore(self, state: dict[str, Any]) -> int:
        """Take back what ``export`` gave (the hub restarted on the same machine boot: the hub clock went
        on, and so did the clocks of nodes that did not reboot). Returns how many nodes were restored;
        malformed entries are skipped."""
        restored = 0
        for node, entry in state.items():
            try:
                samples = [ClockSample(*(int(v) for v in row)) for row in entry["samples"]]
                boot_id = str(entry["boot_id"])
            except (KeyError, TypeError, ValueError):
                continue
            clock = self._clock(node)
            for sample in samples:
                self._add(clock, boot_id, sample)
            restored += 1
        return restored

    def reset(self, node: str) -> None:
        """Forget everything about the node's clock (every boot's samples, pending pings)."""
        clock = self._nodes.get(node)
        if clock is not None:
            clock.pending.clear()
            clock.boots.clear()
            clock.boot_id = None

    def _boot(self, node: str, boot_id: str | None) -> _BootClock | None:
        clock = self._nodes.get(node)
        if clock is None:
            return None
        return clock.boots.get(clock.boot_id if boot_id is None else boot_id)

    def offset_us(self, node: str, boot_id: str | None = None, t_node_us: int | None = None) -> int | None:
        """``t_hub - t_node`` for ``node`` (of ``boot_id``, default the latest boot answering pings) at
        node time ``t_node_us`` (drift corrected; None: at the anchor sample); None if unknown."""
        boot = self._boot(node, boot_id)
        if boot is None:
            return None
        if boot.held is None and boot.best is not None and node in self._held:
            boot.held = boot.line()
        return boot.offset_at(t_node_us)

    def error_bound_us(self, node: str, boot_id: str | None = None) -> int | None:
        """How far a time placed now can be off: each blended sample is within its ``rtt / 2`` plus what
        the drift may have added since it, so their weighted mean is within the same mean of those."""
        boot = self._boot(node, boot_id)
        if boot is None or boot.best is None:
            return None
        if boot.held is not None:  # the line times are placed with, aged to the latest sample
            return boot.held.bound_at(boot.window[-1].t_node_us)
        return boot.bound_us

    def drift_ppm(self, node: str, boot_id: str | None = None) -> float | None:
        """How fast the node's clock runs against the hub's (ppm, positive: the node's runs fast; 0 until
        the samples span ``min_fit_span_us``). The offset falls by this much per node µs."""
        boot = self._boot(node, boot_id)
        return None if boot is None else round(-boot.drift * 1e6, 3) + 0.0

    def jitter_us(self, node: str) -> int | None:
        """Spread (max - min) of the offsets of the last ``samples_per_boot`` samples; None before the first."""
        boot = self._boot(node, None)
        if boot is None or not boot.window:
            return None
        offsets = [s.offset_us for s in list(boot.window)[-self.samples_per_boot:]]
        return max(offsets) - min(offsets)

    def to_hub_us(self, node: str, t_node_us: int, boot_id: str | None = None) -> int | None:
        """A node time on the hub clock; None until the node (boot) has answered a ping."""
        off = self.offset_us(node, boot_id, t_node_us)
        return None if off is None else t_node_us + off

    @staticmethod
    def _placing_us(boot: _BootClock | None) -> int | None:
        """The offset a time placed now gets (the held line while held, else the live level), at the
        latest sample; without taking a hold (``offset_us`` would)."""
        if boot is None or boot.best is None:
            return None
        t_us = boot.window[-1].t_node_us
        line = boot.held if boot.held is not None else boot.line()
        return round(line.at(t_us))

    def describe(self, node: str) -> dict[str, Any]:
        """What ``/api/nodes`` shows about the node's clock."""
        clock = self._nodes.get(node)
        if clock is None:
            return {}
        boot = self._boot(node, None)
        best = boot.best if boot else None
        return {
            "boot_id": clock.boot_id,
            "offset_us": self._placing_us(boot),
            "rtt_us": best.rtt_us if best else None,
            "error_bound_us": self.error_bound_us(node),
            "jitter_us": self.jitter_us(node),
            "drift_ppm": self.drift_ppm(node),
            "samples": min(len(boot.window), self.samples_per_boot) if boot else 0,
            "pending": len(clock.pending),
            "pings": clock.pings,
            "pongs": clock.pongs,
            "expired": clock.expired,
            "unmatched": clock.unmatched,
            "invalid": clock.invalid,
            "held": node in self._held,
            "hold_breaks": clock.hold_breaks,
            "hold_renewals": clock.hold_renewals,
        }
