"""Put every node on the hub clock: a ping/pong offset estimate per node boot, filtered by minimum RTT.

The exchange (``docs/protocol.md``, "Clock exchange"): the hub sends ping ``n`` at hub time ``t1``;
the node stamps its clock ``t2`` when the ping arrives (and, optionally, ``t3`` when it answers); the
hub receives the pong at ``t4``::

    rtt    = (t4 - t1) - (t3 - t2)            # t3 = t2 when the node sends no t_tx_us
    offset = ((t1 - t2) + (t4 - t3)) / 2      # = (t1 + t4) / 2 - t2 when t3 = t2
    t_hub  = t_node + offset

Whatever the delays, the true offset lies within ``rtt / 2`` of a sample's estimate, so the sample
with the smallest ``rtt`` among the last ``samples_per_boot`` is used (queueing only ever adds delay).
A new boot id starts afresh (the node's clock restarted). Unanswered pings expire after
``ping_timeout_us``; a pong that matches no pending ping is ignored.

Pure: no I/O, no clock reads (the caller passes ``now_us``; a pong carries its receipt time ``rx_us``).
Not thread-safe: use it from one thread (the hub's pipeline).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from server.protocol import ClockPong, make_ping


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
class _NodeClock:
    next_n: int = 0
    pending: OrderedDict = field(default_factory=OrderedDict)  # n -> t1_us, oldest first
    boot_id: str | None = None
    samples: deque = field(default_factory=deque)
    best: ClockSample | None = None
    pings: int = 0
    pongs: int = 0
    expired: int = 0
    unmatched: int = 0
    invalid: int = 0


class ClockSync:
    """Per-node clock offsets from ping/pong exchanges; see the module docstring."""

    def __init__(self, *, samples_per_boot: int = 16, ping_timeout_us: int = 2_000_000, max_pending: int = 8):
        if samples_per_boot < 1 or ping_timeout_us <= 0 or max_pending < 1:
            raise ValueError("samples_per_boot, ping_timeout_us and max_pending must be positive")
        self.samples_per_boot = samples_per_boot
        self.ping_timeout_us = ping_timeout_us
        self.max_pending = max_pending
        self._nodes: dict[str, _NodeClock] = {}

    def _clock(self, node: str) -> _NodeClock:
        clock = self._nodes.get(node)
        if clock is None:
            clock = self._nodes[node] = _NodeClock(samples=deque(maxlen=self.samples_per_boot))
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
        if pong.boot_id != clock.boot_id:
            clock.boot_id = pong.boot_id
            clock.samples.clear()
            clock.best = None
        sample = ClockSample(pong.n, t1, t4, t2, rtt, (t1 - t2 + t4 - t3) // 2)
        clock.samples.append(sample)
        clock.pongs += 1
        clock.best = min(reversed(clock.samples), key=lambda s: s.rtt_us)  # ties: the most recent
        return sample

    def reset(self, node: str) -> None:
        """Forget the node's samples and pending pings (e.g. it came online again)."""
        clock = self._nodes.get(node)
        if clock is not None:
            clock.pending.clear()
            clock.samples.clear()
            clock.best = None
            clock.boot_id = None

    def _best(self, node: str, boot_id: str | None) -> ClockSample | None:
        clock = self._nodes.get(node)
        if clock is None or clock.best is None or (boot_id is not None and boot_id != clock.boot_id):
            return None
        return clock.best

    def offset_us(self, node: str, boot_id: str | None = None) -> int | None:
        """``t_hub - t_node`` for ``node`` (of ``boot_id`` if given), from the min-RTT sample; None if unknown."""
        best = self._best(node, boot_id)
        return None if best is None else best.offset_us

    def error_bound_us(self, node: str, boot_id: str | None = None) -> int | None:
        """How far the offset can be from the truth: half the min RTT (rounded up)."""
        best = self._best(node, boot_id)
        return None if best is None else (best.rtt_us + 1) // 2

    def jitter_us(self, node: str) -> int | None:
        """Spread (max - min) of the offsets of the kept samples; None before the first."""
        clock = self._nodes.get(node)
        if clock is None or not clock.samples:
            return None
        offsets = [s.offset_us for s in clock.samples]
        return max(offsets) - min(offsets)

    def to_hub_us(self, node: str, t_node_us: int, boot_id: str | None = None) -> int | None:
        """A node time on the hub clock; None until the node (boot) has answered a ping."""
        off = self.offset_us(node, boot_id)
        return None if off is None else t_node_us + off

    def describe(self, node: str) -> dict[str, Any]:
        """What ``/api/nodes`` shows about the node's clock."""
        clock = self._nodes.get(node)
        if clock is None:
            return {}
        best = clock.best
        return {
            "boot_id": clock.boot_id,
            "offset_us": best.offset_us if best else None,
            "rtt_us": best.rtt_us if best else None,
            "error_bound_us": self.error_bound_us(node),
            "jitter_us": self.jitter_us(node),
            "samples": len(clock.samples),
            "pending": len(clock.pending),
            "pings": clock.pings,
            "pongs": clock.pongs,
            "expired": clock.expired,
            "unmatched": clock.unmatched,
            "invalid": clock.invalid,
        }
