"""``Protocol``: the hub's one gate for inbound MQTT messages.

``handle(topic, payload, rx_us)`` parses the topic, validates the payload, checks it against what the
node said about itself (its descriptor for that boot), dedupes ``evt``/``tel`` by
``(node, boot_id, seq)`` and counts gaps. It returns the typed message in a list (empty when the
message is rejected) and never raises: every message is counted once, as accepted or as rejected
with a reason, and each reason is logged at most once per ``log_interval_us`` of receipt time.

Per node it remembers the last ``boots_per_node`` boots (sequence trackers and descriptors), so a
backlog of an old boot that arrives after the node rebooted is still deduped and checked.
The *current* boot of a node is the one of its latest ``status: online``; before any, the first boot
heard of. A ``status: offline`` of another boot is a stale Last Will and is flagged ``stale``.

Thread-safe (one lock): ``handle`` may run on one thread while ``stats`` is read on another.
No I/O besides logging, no clock: the caller stamps ``rx_us``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from server.protocol.messages import (
    HUB_TO_NODE, MAX_NODES, TOPIC_ROOT, ClockPong, Inbound, NodeDescriptor, NodeHealth, NodeStatus, SensorEvent,
    TelemetryBatch, is_id,
)
from server.protocol.fast_tel import decode_tel
from server.protocol.sequence import DUPLICATE, LATE, SeqTracker
from server.protocol.validate import CHECKERS, Reject, parse_payload

log = logging.getLogger(__name__)

_PREFIX = TOPIC_ROOT + "/"
TOPIC_CACHE = 4096
"""Valid topics whose parse the protocol remembers (a node sends on a handful; more are dropped at once)."""
EXPORT_HOLES = 256
"""Holes per boot a saved sequence tracker keeps (:meth:`Protocol.export_seqs`): the save runs on the
pipeline thread every 5 s, so it stays small however much telemetry a node lost."""


def parse_topic(topic: Any) -> tuple[str, str]:
    """``sledhub/v1/node/<id>/<type>`` → ``(id, type)``; Reject ``unknown_topic`` or ``bad_node_id``."""
    if type(topic) is not str or not topic.startswith(_PREFIX):
        raise Reject("unknown_topic", repr(topic)[:80])
    node, sep, msg_type = topic[len(_PREFIX):].partition("/")
    if not sep or (msg_type not in CHECKERS and msg_type not in HUB_TO_NODE):
        raise Reject("unknown_topic", topic[:80])
    if not is_id(node):
        raise Reject("bad_node_id", node[:80])
    return node, msg_type


@dataclass(slots=True)
class _Boot:
    seqs: SeqTracker
    descriptor: NodeDescriptor | None = None
    sensor_kinds: dict[str, str] | None = None  # sensor id -> kind, from the descriptor


@dataclass(slots=True)
class _Node:
    boot_id: str | None = None  # the current boot
    state: str | None = None
    last_seen_rx_us: int | None = None
    msgs: int = 0
    accepted: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    forgotten_gaps: int = 0  # missing seqs of boots no longer tracked
    boots: OrderedDict[str, _Boot] = field(default_factory=OrderedDict)  # boot_id -> _Boot, least recently used first


class Protocol:
    """Validates, dedupes and counts inbound messages; see the module docstring."""

    def __init__(self, *, max_nodes: int = MAX_NODES, boots_per_node: int = 4, max_holes: int = 4096,
                 log_interval_us: int = 10_000_000, idle_us: int = 60_000_000):
        if boots_per_node < 2 or max_holes < 1:
            raise ValueError("boots_per_node must be >= 2 and max_holes >= 1")
        self._max_nodes = max_nodes
        self._idle_us = idle_us
        self.adopted: Callable[[str], bool] = lambda node_id: False
        """Whether a node is bound to a station (set by whoever knows; adopted nodes never count
        against ``max_nodes`` and are never dropped to make room)."""
        self._boots_per_node = boots_per_node
        self._max_holes = max_holes
        self._log_interval_us = log_interval_us
        self._lock = threading.Lock()
        self._nodes: dict[str, _Node] = {}
        self._accepted = 0
        self._accepted_by_type: Counter[str] = Counter()
        self._undescribed = 0
        self._rejected_by_reason: Counter[str] = Counter()
        self._topics: dict[str, tuple[str, str]] = {}  # valid topic -> parse_topic(topic), at most TOPIC_CACHE
        self._log_state: dict[str, tuple[int, int]] = {}  # reason -> (last logged rx_us, suppressed since)

    # the MQTT seam ------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, rx_us: int) -> list[Inbound]:
        """One received message → ``[message]`` if accepted, ``[]`` if rejected. Never raises."""
        with self._lock:
            node = None
            try:
                parsed = self._topics.get(topic) if type(topic) is str else None
                if parsed is None:
                    parsed = parse_topic(topic)  # rejects anything but a str
                    if len(self._topics) >= TOPIC_CACHE:
                        self._topics.clear()
                    self._topics[topic] = parsed
                node_id, msg_type = parsed
                node = self._node(node_id, rx_us)
                node.msgs += 1
                node.last_seen_rx_us = rx_us
                if msg_type in HUB_TO_NODE:
                    raise Reject("wrong_direction", msg_type)
                fast = decode_tel(node_id, payload, rx_us, _SensorCheck(node)) if msg_type == "tel" else None
                if fast is None:  # every other type, and what the fast path declined
                    msg = CHECKERS[msg_type](node_id, parse_payload(payload), rx_us, _SensorCheck(node))
                else:
                    msg = fast
                msg = self._apply(node, msg)
            except Reject as r:
                self._reject(node, r.reason, r.detail, topic, rx_us, exc=False)
                return []
            except Exception as exc:  # a bug here must not reach the MQTT thread
                self._reject(node, "internal_error", f"{type(exc).__name__}: {exc}"[:200], topic, rx_us, exc=True)
                return []
            self._accepted += 1
            self._accepted_by_type[msg_type] += 1
            node.accepted += 1
            if type(msg) in (SensorEvent, TelemetryBatch) and not msg.described:
                self._undescribed += 1
            return [msg]

    # read side ----------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters (a snapshot; safe from any thread). See docs/protocol.md, "Errors and counters"."""
        with self._lock:
            nodes = {nid: self._node_stats(n) for nid, n in self._nodes.items()}
            by_reason = dict(self._rejected_by_reason)
            return {
                "accepted": self._accepted,
                "rejected": sum(by_reason.values()),
                "rejected_by_reason": by_reason,
                "accepted_by_type": dict(self._accepted_by_type),
                "duplicates": by_reason.get("duplicate", 0),
                "late": by_reason.get("late", 0),
                "gaps": sum(n["gaps"] for n in nodes.values()),
                "undescribed": self._undescribed,
                "nodes": nodes,
            }

    def export_seqs(self) -> dict[str, dict[str, list[Any]]]:
        """Every node's sequence trackers (per boot) as plain data, to survive a hub restart: the node's
        current boot last, each with at most :data:`EXPORT_HOLES` holes (the older ones become the
        floor: a seq there is late after the restart, as when the tracker itself forgets a hole)."""
        with self._lock:
            return {nid: {bid: b.seqs.export(EXPORT_HOLES)
                          for bid, b in sorted(n.boots.items(), key=lambda kv: kv[0] == n.boot_id)}
                    for nid, n in self._nodes.items()}

    def restore_seqs(self, state: dict[str, dict[str, list[Any]]], now_us: int) -> int:
        """Take back :meth:`export_seqs` (at start, before any message; ``now_us`` hub clock): a copy of
        a message handled before the restart, delivered again after it, is still a duplicate. Malformed
        entries are skipped; returns how many trackers were restored."""
        restored = 0
        with self._lock:
            for node_id, boots in state.items():
                if not is_id(node_id) or not isinstance(boots, dict):
                    continue
                for boot_id, data in list(boots.items())[-self._boots_per_node:]:
                    try:
                        tracker = SeqTracker.restore(data, self._max_holes)
                        node = self._node(node_id, now_us)
                    except (Reject, TypeError, ValueError):
                        continue
                    self._boot(node, str(boot_id)).seqs = tracker
                    node.boot_id = str(boot_id)  # exported last: the node's current boot
                    restored += 1
        return restored

    def descriptor(self, node_id: str, boot_id: str | None = None) -> NodeDescriptor | None:
        """The latest descriptor of ``node_id`` for ``boot_id`` (default: its current boot), if known."""
        with self._lock:
            node = self._nodes.get(node_id)
            if node is None:
                return None
            boot = node.boots.get(boot_id or node.boot_id)  # type: ignore[arg-type]  # .get(None) is None
            return boot.descriptor if boot else None

    def forget(self, node_id: str) -> bool:
        """Drop everything known of ``node_id`` (an admin forgot it, or it expired); True if known.
        A later message from it makes it a new node again."""
        with self._lock:
            return self._nodes.pop(node_id, None) is not None

    # internals ----------------------------------------------------------------------------------
    def _node(self, node_id: str, rx_us: int) -> _Node:
        node = self._nodes.get(node_id)
        if node is None:
            if len(self._nodes) >= self._max_nodes and self._live_unadopted(rx_us) >= self._max_nodes:
                raise Reject("too_many_nodes", node_id)
            node = self._nodes[node_id] = _Node()
        return node

    def _live_unadopted(self, now_us: int) -> int:
        """At the cap: drop unadopted nodes silent for ``idle_us`` (e.g. a flood of fake announcements
        long gone) and count the unadopted ones left. ``max_nodes`` caps only these."""
        unadopted = [nid for nid in self._nodes if not self.adopted(nid)]
        for nid in unadopted:
            if now_us - (self._nodes[nid].last_seen_rx_us or 0) > self._idle_us:
                del self._nodes[nid]
        return sum(1 for nid in unadopted if nid in self._nodes)

    def _boot(self, node: _Node, boot_id: str) -> _Boot:
        boot = node.boots.get(boot_id)
        if boot is None:
            boot = node.boots[boot_id] = _Boot(SeqTracker(self._max_holes))
            if node.boot_id is None:
                node.boot_id = boot_id
            while len(node.boots) > self._boots_per_node:
                oldest = next(b for b in node.boots if b != node.boot_id)
                node.forgotten_gaps += node.boots.pop(oldest).seqs.missing
        else:
            node.boots.move_to_end(boot_id)
        return boot

    def _apply(self, node: _Node, msg: Any) -> Any:  # Any: mypy does not narrow through `kind = type(msg)`
        """Update the node's state with an otherwise valid message; Reject duplicates and late seqs."""
        kind = type(msg)
        if kind is SensorEvent or kind is TelemetryBatch:
            verdict = self._boot(node, msg.boot_id).seqs.add(msg.seq)
            if verdict is DUPLICATE or verdict is LATE:
                raise Reject(verdict, f"boot {msg.boot_id} seq {msg.seq}")
        elif kind is NodeStatus:
            if msg.state == "online" or node.boot_id in (None, msg.boot_id):
                node.boot_id, node.state = msg.boot_id, msg.state
                self._boot(node, msg.boot_id)
            else:
                msg = replace(msg, stale=True)
        elif kind is NodeDescriptor:
            boot = self._boot(node, msg.boot_id)
            boot.descriptor = msg
            boot.sensor_kinds = {s.id: s.kind for s in msg.sensors}
        elif kind is NodeHealth or kind is ClockPong:
            self._boot(node, msg.boot_id)
        return msg

    def _node_stats(self, node: _Node) -> dict[str, Any]:
        current = node.boots.get(node.boot_id) if node.boot_id else None
        return {
            "boot_id": node.boot_id,
            "state": node.state,
            "described": bool(current and current.descriptor),
            "last_seen_rx_us": node.last_seen_rx_us,
            "msgs": node.msgs,
            "accepted": node.accepted,
            "rejected": sum(node.rejected_by_reason.values()),
            "rejected_by_reason": dict(node.rejected_by_reason),
            "duplicates": node.rejected_by_reason.get("duplicate", 0),
            "late": node.rejected_by_reason.get("late", 0),
            "gaps": node.forgotten_gaps + sum(b.seqs.missing for b in node.boots.values()),
        }

    def _reject(self, node: _Node | None, reason: str, detail: str, topic: Any, rx_us: int, exc: bool) -> None:
        try:
            self._rejected_by_reason[reason] += 1
            if node is not None:
                node.rejected_by_reason[reason] += 1
            last = self._log_state.get(reason)
            if last is None or not 0 <= rx_us - last[0] < self._log_interval_us:
                suppressed = last[1] if last else 0
                self._log_state[reason] = (rx_us, 0)
                log.warning("rejected a message (%s) on %.80r: %s%s", reason, topic, detail,
                            f" [+{suppressed} more since the last report]" if suppressed else "",
                            exc_info=exc)
            else:
                self._log_state[reason] = (last[0], last[1] + 1)
        except Exception:  # counting must not fail either; keep the invariant as best we can
            log.exception("protocol: could not count a rejection")


class _SensorCheck:
    """The descriptor check handed to the validators for one node (see ``validate.SensorCheck``)."""

    __slots__ = ("_node",)

    def __init__(self, node: _Node):
        self._node = node

    def __call__(self, boot_id: str, sensor: str, allowed_kinds: frozenset[str] | None) -> bool:
        boot = self._node.boots.get(boot_id)
        if boot is None or boot.sensor_kinds is None:
            return False
        kind = boot.sensor_kinds.get(sensor)
        if kind is None:
            raise Reject("unknown_sensor", f"{sensor} (boot {boot_id})")
        if allowed_kinds is not None and kind not in allowed_kinds:
            raise Reject("kind_mismatch", f"{sensor} is a {kind}")
        return True
