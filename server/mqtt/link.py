"""The hub's MQTT connection (paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``).

paho's network thread calls :meth:`MqttLink._on_message`, which stamps the receipt time on the hub
clock and hands ``(topic, payload, rx_us)`` to ``sink`` (the pipeline's queue ``put``); QoS 0 packets
read together (``server/mqtt/buffered_socket.py``) come to :meth:`MqttLink._on_qos0_messages` as a
list, stamped once, for ``batch_sink(messages, rx_us)`` (one queue item; without one, ``sink`` per
message). It never parses, never blocks and never raises: all work happens on the pipeline thread.

Subscriptions: every node → hub topic of the protocol (``server.protocol.SUBSCRIPTIONS``), not the
hub's own commands and pings, plus ``extra_subscriptions`` (a hub in a chain: the other gyms' results,
``server/chain/receiver.py``). The hub publishes commands with :meth:`publish` and clock pings with
:meth:`publish_stamped` (which reports the time just before each was written: the ping's ``t1``).

Session: persistent (``clean_session=False`` under the fixed client id): while the hub is away (a
restart, a stall past the keepalive, the broker restarting with persistence), the broker keeps its
subscriptions and queues what nodes publish for it (QoS 1 always; QoS 0 telemetry too when the broker
sets ``queue_qos0_messages``, as ``server/mqtt/broker.py`` and the deploy drop-in do), and delivers it all
when the hub reconnects. The hub subscribes again on every connect anyway (a new broker, or one
without persistence, has no session), which also brings the retained statuses.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import OrderedDict
from typing import Callable

import paho.mqtt.client as mqtt

from server.mqtt.buffered_socket import BufferedClient
from server.protocol import SUBSCRIPTIONS

log = logging.getLogger(__name__)

Sink = Callable[[str, bytes, int], None]
BatchSink = Callable[[list[tuple[str, bytes]], int], None]

MAX_WAITING = 256
"""Stamped publishes waiting for their write (``MqttLink.publish_stamped``) kept at most: one that paho
drops unsent (its queue is cleared at a reconnect) never reports, and would otherwise stay for ever. A
write comes within milliseconds, so only those are ever dropped from it."""


class MqttLink:
    """One paho client for the hub; reconnects by itself (paho's ``loop_start`` thread)."""

    def __init__(self, host: str, port: int, sink: Sink, clock_us: Callable[[], int], *,
                 client_id: str = "hub", username: str = "", password: str | None = None,
                 keepalive_s: int = 10, extra_subscriptions: tuple[tuple[str, int], ...] = (),
                 batch_sink: BatchSink | None = None):
        self.host, self.port = host, port
        self._sink = sink
        self._batch_sink = batch_sink
        self._clock_us = clock_us
        self.connected = threading.Event()
        self.connects = 0
        self.client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                     protocol=mqtt.MQTTv311, clean_session=False)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.max_queued_messages_set(10000)
        self.client.send_clock_us = clock_us  # a stamped publish's time: just before its write (publish_stamped)
        self._waiting: dict[int, Callable[[int], None]] = {}   # mid -> on_sent (publish_stamped)
        self._sent: OrderedDict[int, int] = OrderedDict()       # mid -> tx_us, sent before it was waited for
        self.client.on_publish = self._on_publish
        self.client.on_socket_open = self._on_socket_open
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_qos0_messages = self._on_qos0_messages  # telemetry: the buffered fast path
        self._keepalive_s = keepalive_s
        self._subscriptions = list(SUBSCRIPTIONS) + list(extra_subscriptions)
        self._started = False
        self.state_listeners: list[Callable[[bool], None]] = []
        """Called with True on every connect and False on every loss of the broker (paho's thread)."""

    def start(self) -> None:
        """Connect asynchronously and start paho's network thread (it retries until the broker is up)."""
        self.client.connect_async(self.host, self.port, keepalive=self._keepalive_s)
        self.client.loop_start()
        self._started = True

    def stop(self) -> None:
        """Disconnect and join paho's thread; safe to call twice."""
        if self._started:
            self._started = False
            self.client.disconnect()
            self.client.loop_stop()
            self.connected.clear()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Queue one message; False when paho refused it (e.g. queue full)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS or info.rc == mqtt.MQTT_ERR_NO_CONN

    def publish_stamped(self, topic: str, payload: bytes, on_sent: Callable[[int], None]) -> bool:
        """Publish at QoS 0 and call ``on_sent(tx_us)`` with the hub time just before paho handed it to
        the kernel (:meth:`BufferedSocket.send`; a clock ping's real ``t1``: the caller's thread, the
        pipeline's tick and paho's wake-up all come between deciding to send and sending, and a time
        read after the write would be late by however long paho's thread then waited for the GIL).
        ``tx_us`` is 0 on a connection whose writes are not timed (TLS, WebSocket): the caller keeps
        its own earlier time. ``on_sent`` runs on paho's thread or, when the write was done before
        this returns, on the caller's; never twice, never when not sent."""
        info = self.client.publish(topic, payload, qos=0)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return info.rc == mqtt.MQTT_ERR_NO_CONN
        waiting = self._waiting
        waiting[info.mid] = on_sent
        if len(waiting) > MAX_WAITING:  # pings paho dropped unsent (a reconnect clears its queue)
            for mid in list(waiting)[:len(waiting) - MAX_WAITING]:  # list(): one C-level copy, no race
                waiting.pop(mid, None)
        tx_us = self._sent.pop(info.mid, None)
        if tx_us is not None and waiting.pop(info.mid, None) is on_sent:  # sent already
            on_sent(tx_us)
        return True

    # paho callbacks (network thread) -------------------------------------------------------------
    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        tx_us = self.client.send_started_us() or 0  # the write that finished it just returned, on this thread
        on_sent = self._waiting.pop(mid, None)
        if on_sent is None:  # not (yet) waited for: whichever side pops ``_waiting`` calls it (atomic pops)
            self._sent[mid] = tx_us
            while len(self._sent) > 256:
                self._sent.popitem(last=False)
            on_sent = self._waiting.pop(mid, None)
            if on_sent is None:
                return
            self._sent.pop(mid, None)
        try:
            on_sent(tx_us)
        except Exception:  # never let anything escape into paho's thread
            log.exception("on_sent callback failed")

    def _on_socket_open(self, client, userdata, sock) -> None:
        """No Nagle delay on the hub's socket: a clock ping must leave at once, not wait for an ACK."""
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # not TCP (a Unix socket, a WebSocket transport)
            pass

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s:%s refused the hub: %s", self.host, self.port, reason_code)
            return
        self.connects += 1
        client.subscribe(self._subscriptions)
        self.connected.set()
        self._tell(True)
        log.info("connected to broker %s:%s", self.host, self.port)

    def _tell(self, connected: bool) -> None:
        for listener in self.state_listeners:
            try:
                listener(connected)
            except Exception:  # never let anything escape into paho's thread
                log.exception("broker state listener failed")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self._tell(False)
        if self._started:
            log.warning("lost the broker %s:%s (%s); reconnecting", self.host, self.port, reason_code)

    def _on_message(self, client, userdata, message) -> None:
        try:
            self._sink(message.topic, message.payload, self._clock_us())
        except Exception:  # never let anything escape into paho's thread
            log.exception("could not hand a message to the pipeline")

    def _on_qos0_messages(self, messages: list[tuple[str, bytes]]) -> None:
        rx_us = self._clock_us()  # they came in one read
        try:
            if self._batch_sink is not None:
                self._batch_sink(messages, rx_us)
            else:
                for topic, payload in messages:
                    self._sink(topic, payload, rx_us)
        except Exception:  # never let anything escape into paho's thread
            log.exception("could not hand messages to the pipeline")
