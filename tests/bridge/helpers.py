"""Helpers of the bridge tests: node configs, an MQTT spy (and the fakes' stepping ns clock)."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.config import NodeConfig, parse_config
from firmware_bridge.fakes import StepClock  # noqa: F401 - re-exported for the tests
from tests.support.waiting import wait_for


def node_config(broker=None, sensors: list[dict[str, Any]] | None = None, **sections: dict[str, Any]) -> NodeConfig:
    """A NodeConfig for node ``n1`` on ``broker`` (fast reconnects, in-memory outbox) with ``sensors``."""
    data: dict[str, Any] = {
        "node": {"id": "n1"},
        "mqtt": {"host": broker.host if broker else "127.0.0.1", "port": broker.port if broker else 1,
                 "reconnect_min_s": 0.05, "reconnect_max_s": 0.2, "keepalive_s": 5},
        "outbox": {"path": ":memory:"},
        "sensor": sensors or [],
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return parse_config(data)


class Spy:
    """A plain paho client subscribed to ``sledhub/v1/#`` at QoS 1 recording ``(topic, payload, retain)``.

    ``persistent=True`` uses a fixed client id and a persistent session, so messages published while
    it is away (e.g. across a broker restart) are queued for it by the broker."""

    def __init__(self, broker, *, persistent: bool = False, client_id: str = "spy") -> None:
        self.messages: list[tuple[str, Any, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent, protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(0.05, 0.2)  # type: ignore[arg-type]
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("sledhub/v1/#", 1)
        self.connected = threading.Event()
        self.client.on_subscribe = lambda *a: self.connected.set()
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()
        wait_for(self.connected.is_set, 5, what="spy subscribed")

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))

    def of(self, suffix: str, node: str = "n1") -> list[Any]:
        """Payloads received on ``sledhub/v1/node/<node>/<suffix>``, in arrival order."""
        want = f"sledhub/v1/node/{node}/{suffix}"
        with self._lock:
            return [p for t, p, _ in self.messages if t == want]

    def publish(self, topic: str, body: dict[str, Any], qos: int = 1) -> None:
        self.client.publish(topic, json.dumps(body), qos=qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
