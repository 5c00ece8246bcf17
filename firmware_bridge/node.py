"""The sensor-node runtime: sensors from a config on a pin factory, speaking sledhub/v1 over MQTT.

``Node(config, pin_factory=..., clock_us=...)``, ``.start()``, ``.stop()``; several can run in one
process (the hub's simulator does). Threads: paho's network thread, one sender thread, one reader
thread per HX711; ``stop()`` joins them all.

On every connect the node publishes ``status`` online and ``desc`` (both retained, QoS 1) and
subscribes to ``cmd`` and ``clock/ping``; its Last Will is ``status`` offline (retained, QoS 1), which
it also publishes itself on a clean stop. Events go out at QoS 1 through the outbox, telemetry at QoS 0
in batches (``batch_s`` / ``batch_max_samples``), ``health`` (retained, QoS 0) every
``health_interval_s``. One ``seq`` counter per boot numbers ``evt`` and ``tel`` messages together,
from 0; ``boot_id`` is random per start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from firmware_bridge import messages as msg
from firmware_bridge.clock import as_node_clock
from firmware_bridge.config import ID_PATTERN, NodeConfig
from firmware_bridge.outbox import Outbox, TelemetryRing
from firmware_bridge.pump import Pump
from firmware_bridge.sensors import CommandError, Sensor, build_sensors

log = logging.getLogger("sledhub.bridge")

SENSOR_COMMANDS = ("tare", "calibrate", "set_rate", "configure")


class Node:
    """One sensor node.

    ``pin_factory``: gpiozero factory the drivers use (``MockFactory`` for tests and the simulator).
    ``clock_us``: the node clock (integer µs); default :class:`~firmware_bridge.clock.NodeClock` on the
    factory's ticks. Pass a ``NodeClock(factory, offset_us=...)`` to give a simulated node its own clock
    origin; any other callable is mapped onto pin ticks by an offset measured once.
    ``clock_ns``: high-resolution clock timing HX711 clock pulses. ``outbox_path`` overrides the
    config's (e.g. ``":memory:"``). ``drain_s``: how long ``stop()`` waits for unacknowledged events.
    """

    def __init__(
        self,
        config: NodeConfig,
        *,
        pin_factory: Any,
        clock_us: Callable[[], int] | None = None,
        clock_ns: Callable[[], int] = time.perf_counter_ns,
        outbox_path: str | None = None,
        drain_s: float = 1.0,
    ) -> None:
        self.config = config
        self.node_id = config.node_id
        self.boot_id = uuid.uuid4().hex
        self.clock = as_node_clock(pin_factory, clock_us)
        self.drain_s = drain_s
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._tel_lock = threading.Lock()
        self._pending: dict[str, tuple[str, list[list[Any]]]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_s: float | None = None
        self._health_due = False
        self._stopped = False
        self.bad_messages = 0
        self.sensors: list[Sensor] = build_sensors(
            config.sensors, pin_factory=pin_factory, clock=self.clock, sink=self, clock_ns=clock_ns)
        try:
            outbox = Outbox(outbox_path or config.outbox.path, config.outbox.max_events)
        except Exception:
            for sensor in self.sensors:
                sensor.close()
            raise
        self.pump = Pump(outbox, TelemetryRing(config.outbox.max_telemetry))
        self._client: mqtt.Client | None = None

    # -- sink (driver threads) --------------------------------------------------------------------
    def _next_seq(self) -> int:
        seq, self._seq = self._seq, self._seq + 1
        return seq

    def sample(self, sensor_id: str, kind: str, sample: list[Any]) -> None:
        """Queue one telemetry sample; it goes out in the next batch."""
        with self._tel_lock:
            entry = self._pending.setdefault(sensor_id, (kind, []))
            entry[1].append(sample)
            full = len(entry[1]) >= self.config.batch_max_samples
        if full:
            self._wake.set()

    def event(self, sensor_id: str, kind: str, t_us: int, detail: dict[str, Any] | None = None) -> None:
        """Number and queue one event for the outbox."""
        with self._seq_lock:
            payload = msg.encode(msg.event(self.boot_id, self._next_seq(), sensor_id, kind, t_us, detail))
            self.pump.put_event(msg.topic(self.node_id, "evt"), payload)
        self._wake.set()

    def _take_batches(self) -> list[tuple[str, bytes, int]]:
        with self._tel_lock:
            pending, self._pending = self._pending, {}
        batches = []
        limit = self.config.batch_max_samples
        for sensor_id, (kind, samples) in pending.items():
            samples.sort(key=lambda s: s[0])
            for i in range(0, len(samples), limit):
                chunk = samples[i:i + limit]
                with self._seq_lock:
                    body = msg.telemetry(self.boot_id, self._next_seq(), sensor_id, kind, chunk)
                batches.append((msg.topic(self.node_id, "tel"), msg.encode(body), len(chunk)))
        return batches

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.pump.connected.is_set()

    def start(self) -> None:
        """Connect (in the background, retrying), start the sensors and the sender thread."""
        if self._started_s is not None:
            raise RuntimeError("a Node starts once; make a new Node to start again")
        self._started_s = time.monotonic()
        self._client = self._make_client()
        self.pump.client = self._client
        for sensor in self.sensors:
            sensor.start()
        self._thread = threading.Thread(target=self._run, name=f"node-{self.node_id}-sender", daemon=True)
        self._thread.start()
        mq = self.config.mqtt
        self._client.connect_async(mq.host, mq.port, keepalive=mq.keepalive_s)
        self._client.loop_start()

    def _make_client(self) -> mqtt.Client:
        mq = self.config.mqtt
        # client id = node id = broker username (what the hub's drop-in enforces, docs/deploy.md)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.node_id,
                             clean_session=True, protocol=mqtt.MQTTv311)
        if mq.username is not None:
            client.username_pw_set(mq.username, mq.password)
        client.will_set(msg.topic(self.node_id, "status"),
                        msg.encode(msg.status(self.node_id, "offline", self.boot_id)), qos=1, retain=True)
        client.reconnect_delay_set(mq.reconnect_min_s, mq.reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(self.pump.max_inflight + 10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def stop(self) -> None:
        """Stop sensors, deliver what can be delivered, publish ``status`` offline, disconnect, join.

        Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for sensor in self.sensors:
            sensor.stop()
        for sensor in self.sensors:
            sensor.close()
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join()
            self._thread = None
        client, self._client = self._client, None
        if client is not None:
            self._say_offline(client)
            client.disconnect()
            client.loop_stop()
            self.pump.settle_acks()
        self.pump.outbox.close()

    def _say_offline(self, client: mqtt.Client) -> None:
        if not self.connected:
            return
        info = client.publish(msg.topic(self.node_id, "status"),
                              msg.encode(msg.status(self.node_id, "offline", self.boot_id)), qos=1, retain=True)
        try:
            info.wait_for_publish(timeout=1.0)
        except (RuntimeError, ValueError):
            pass

    def __enter__(self) -> "Node":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- sender thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        now = time.monotonic()
        next_batch = now + self.config.batch_s
        next_health = now + self.config.health_interval_s
        while not self._stopping.is_set():
            self._wake.wait(max(0.0, min(next_batch, next_health) - time.monotonic()))
            self._wake.clear()
            now = time.monotonic()
            self.pump.persist()
            self.pump.settle_acks()
            if now >= next_batch or self._wake_for_batch():
                self.pump.send_telemetry(self._take_batches())
                next_batch = now + self.config.batch_s
            self.pump.send_events()
            if now >= next_health or self._health_due:
                self._health_due = False
                self._publish_health()
                next_health = now + self.config.health_interval_s
            for sensor in self.sensors:
                sensor.poll(now)
        self.pump.persist()
        self.pump.send_telemetry(self._take_batches())
        self.pump.drain(self.drain_s)

    def _wake_for_batch(self) -> bool:
        with self._tel_lock:
            return any(len(s) >= self.config.batch_max_samples for _, s in self._pending.values())

    def stats(self) -> dict[str, int]:
        """Counters since boot (the health message's), plus the outbox depth now."""
        out = {"dropped_events": self.pump.outbox.dropped, "dropped_samples": self.pump.ring.dropped_samples,
               "outbox_depth": self.pump.outbox.depth}
        for sensor in self.sensors:
            for key, value in sensor.counters().items():
                out[key] = out.get(key, 0) + value
        return out

    def _publish_health(self) -> None:
        client = self._client
        if client is None or not self.connected or self._started_s is None:
            return
        uptime = time.monotonic() - self._started_s
        body = msg.health(self.node_id, self.boot_id, uptime, self.stats())
        client.publish(msg.topic(self.node_id, "health"), msg.encode(body), qos=0, retain=True)

    # -- paho callbacks (network thread) ----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason_code: ReasonCode,
                    properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.warning("node %s: broker refused the connection: %s", self.node_id, reason_code)
            return
        client.subscribe([(msg.topic(self.node_id, "cmd"), 1), (msg.topic(self.node_id, "clock/ping"), 0)])
        self._publish_birth(client)
        self.pump.connected.set()
        self._health_due = True
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags,
                       reason_code: ReasonCode, properties: Properties | None) -> None:
        self.pump.on_link_down()
        self._wake.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: ReasonCode,
                    properties: Properties) -> None:
        self.pump.on_ack(mid)
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        t_rx_us = self.clock()
        try:
            if message.topic.endswith("/clock/ping"):
                self._on_ping(client, message.payload, t_rx_us)
            elif message.topic.endswith("/cmd"):
                self._on_command(message.payload)
        except Exception:  # a bad message must never stop paho's network thread
            self.bad_messages += 1
            log.exception("node %s: failed to handle a message on %s", self.node_id, message.topic)

    def _publish_birth(self, client: mqtt.Client | None = None) -> None:
        client = client or self._client
        if client is None:
            return
        client.publish(msg.topic(self.node_id, "status"),
                       msg.encode(msg.status(self.node_id, "online", self.boot_id)), qos=1, retain=True)
        self._publish_desc(client)

    def _publish_desc(self, client: mqtt.Client | None = None) -> None:
        client = client or self._client
        if client is None:
            return
        body = msg.desc(self.node_id, self.boot_id, self.config.fw, [s.describe() for s in self.sensors])
        client.publish(msg.topic(self.node_id, "desc"), msg.encode(body), qos=1, retain=True)

    def _on_ping(self, client: mqtt.Client, payload: bytes | bytearray, t_rx_us: int) -> None:
        body = json.loads(payload)
        n = body.get("n") if isinstance(body, dict) else None
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            self.bad_messages += 1
            return
        out = msg.encode(msg.pong(self.boot_id, n, t_rx_us, self.clock()))
        client.publish(msg.topic(self.node_id, "clock/pong"), out, qos=0)

    # -- commands ---------------------------------------------------------------------------------
    def _ack(self, cmd_id: str, ok: bool, result: dict[str, Any] | None, error: str | None) -> None:
        client = self._client
        if client is not None:
            client.publish(msg.topic(self.node_id, "ack"), msg.encode(msg.ack(cmd_id, ok, result, error)), qos=1)

    def _on_command(self, payload: bytes | bytearray) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        cmd_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(cmd_id, str) or not ID_PATTERN.match(cmd_id):
            self.bad_messages += 1
            log.warning("node %s: command without a valid id ignored", self.node_id)
            return
        try:
            self._dispatch(cmd_id, body)
        except CommandError as exc:
            self._ack(cmd_id, False, None, exc.ack_error())

    def _dispatch(self, cmd_id: str, body: dict[str, Any]) -> None:
        if body.get("v") != 1:
            raise CommandError("protocol version (expected v 1)", "unsupported")
        cmd = body.get("cmd")
        params = body.get("params") if body.get("params") is not None else {}
        if not isinstance(params, dict):
            raise CommandError("'params' must be an object")
        if cmd == "rebirth":
            self._publish_birth()
            self._ack(cmd_id, True, {"boot_id": self.boot_id}, None)
            return
        if cmd not in SENSOR_COMMANDS:
            raise CommandError(f"unknown command {cmd!r}", "unsupported")
        sensor = self._sensor_for(cmd, body.get("sensor"))

        def reply(ok: bool, result: dict[str, Any] | None, error: str | None) -> None:
            if ok:
                self._publish_desc()
            self._ack(cmd_id, ok, result, error)

        result = sensor.command(cmd, params, reply)
        if result is not None:
            reply(True, result, None)

    def _sensor_for(self, cmd: str, sensor_id: Any) -> Sensor:
        if sensor_id is None:
            able = [s for s in self.sensors if cmd in s.commands]
            if len(able) == 1:
                return able[0]
            raise CommandError(f"'{cmd}' needs a 'sensor' ({len(able)} sensors take it)")
        for sensor in self.sensors:
            if sensor.id == sensor_id:
                return sensor
        raise CommandError(f"no sensor {sensor_id!r} on node {self.node_id!r}", "unknown_sensor")
