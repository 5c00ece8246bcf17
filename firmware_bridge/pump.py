"""The node's sender: moves events through the outbox and telemetry through the ring to MQTT, in order.

Events (QoS 1) are appended to the :class:`~firmware_bridge.outbox.Outbox` first, then published in
row order while connected, at most ``max_inflight`` unacknowledged at once; a row is deleted when
paho reports its PUBACK (``on_publish`` with its ``mid``). Rows in flight when the link drops stay in
paho's session and paho re-sends them (DUP) after reconnecting; until they are all acknowledged no
newer row is published, so the broker receives events in order. Rows never handed to paho are sent
after reconnect, and rows left at a stop are sent on the next start.

Telemetry batches (QoS 0) go straight out while connected and wait in the
:class:`~firmware_bridge.outbox.TelemetryRing` otherwise.

Only the sender thread touches the outbox, the ring and the in-flight map; other threads hand it
work through thread-safe queues (paho calls ``on_publish`` while holding its own lock, so no lock is
taken there).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import paho.mqtt.client as mqtt

from firmware_bridge.outbox import Outbox, TelemetryRing

log = logging.getLogger("sledhub.bridge")


class Pump:
    """Sender state and steps; :class:`~firmware_bridge.node.Node` runs :meth:`step` in its thread."""

    def __init__(self, outbox: Outbox, ring: TelemetryRing, *, max_inflight: int = 20) -> None:
        self.outbox = outbox
        self.ring = ring
        self.max_inflight = max_inflight
        self.client: mqtt.Client | None = None
        self.connected = threading.Event()
        self._events: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, int] = {}  # mid -> outbox row id
        self._barrier: set[int] = set()  # mids in flight at the last link loss
        self._sent_upto = 0
        self._link_losses = 0
        self._seen_losses = 0

    # -- any thread -------------------------------------------------------------------------------
    def put_event(self, topic: str, payload: bytes) -> None:
        self._events.put((topic, payload))

    def on_ack(self, mid: int) -> None:
        """paho's ``on_publish`` (network thread): record only."""
        self._acks.put(mid)

    def on_link_down(self) -> None:
        self.connected.clear()
        self._link_losses += 1

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    # -- sender thread ----------------------------------------------------------------------------
    def persist(self) -> None:
        """Append queued events to the outbox (dropped and counted when it is full)."""
        while True:
            try:
                topic, payload = self._events.get_nowait()
            except queue.Empty:
                return
            if not self.outbox.append(topic, payload):
                log.warning("outbox full (%d events): event dropped", self.outbox.max_events)

    def settle_acks(self) -> None:
        """Delete acknowledged rows."""
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                return
            row_id = self._inflight.pop(mid, None)
            self._barrier.discard(mid)
            if row_id is not None:
                self.outbox.delete(row_id)

    def send_events(self) -> None:
        """Publish stored events in order, within the in-flight window, while connected."""
        if self._link_losses != self._seen_losses:
            self._seen_losses = self._link_losses
            self._barrier = set(self._inflight)
        if self.client is None or not self.connected.is_set() or self._barrier:
            return
        room = self.max_inflight - len(self._inflight)
        if room <= 0:
            return
        for row in self.outbox.after(self._sent_upto, room):
            info = self.client.publish(row.topic, row.payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish of event row %d failed: %s", row.row_id, mqtt.error_string(info.rc))
                return
            # NO_CONN: paho keeps the message queued and sends it after reconnecting.
            self._inflight[info.mid] = row.row_id
            self._sent_upto = row.row_id

    def send_telemetry(self, batches: list[tuple[str, bytes, int]]) -> None:
        """Publish the ring's backlog then ``batches`` while connected; otherwise keep them in the ring."""
        for topic, payload, n in batches:
            self.ring.push(topic, payload, n)
        if self.client is None or not self.connected.is_set():
            return
        while True:
            item = self.ring.pop()
            if item is None:
                return
            self.client.publish(item[0], item[1], qos=0)

    def drain(self, timeout_s: float) -> None:
        """At a stop: keep sending stored events until none is left or in flight, or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.connected.is_set():
            self.persist()
            self.settle_acks()
            self.send_events()
            if not self._inflight and not self.outbox.after(self._sent_upto, 1):
                return
            time.sleep(0.005)
