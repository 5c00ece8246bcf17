"""Through a real Mosquitto: the doc's hand-typed mosquitto_pub lines, every doc example, a real Last Will."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from server.protocol import Protocol
from tests.protocol.test_docs import examples, shell_commands
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


class HubListener:
    """A paho 2.x client on ``sledhub/v1/#`` that feeds every message into ``Protocol.handle``."""

    def __init__(self, broker):
        self.protocol = Protocol()
        self.accepted: list = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-hub")
        self.client.on_connect = lambda c, *_: c.subscribe("sledhub/v1/#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, what="the subscription")

    def _on_message(self, client, userdata, message):
        # the hub's MQTT thread: stamp the receipt time, hand over; Protocol.handle never raises
        self.accepted += self.protocol.handle(message.topic, message.payload, time.monotonic_ns() // 1000)

    def received(self) -> int:
        stats = self.protocol.stats()
        return stats["accepted"] + stats["rejected"]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def hub(broker):
    listener = HubListener(broker)
    try:
        yield listener
    finally:
        listener.close()


def at_broker(argv: list[str], broker) -> list[str]:
    """A doc command line aimed at the test broker instead of sledhub.local."""
    argv = list(argv)
    argv[argv.index("-h") + 1] = broker.host
    return argv[:1] + ["-p", str(broker.port)] + argv[1:]


def test_hand_typed_mosquitto_pub_lines_from_the_doc_are_accepted(broker, hub):
    commands = shell_commands("mosquitto_pub")
    for argv in commands:
        subprocess.run(at_broker(argv, broker), check=True, timeout=10, capture_output=True)
    wait_for(lambda: hub.received() == len(commands), 10, what="every message at the hub")
    stats = hub.protocol.stats()
    sent_clear = sum("-n" in argv for argv in commands)
    assert stats["accepted"] == len(commands) - sent_clear
    assert stats["rejected_by_reason"] == {"empty_payload": sent_clear}  # the doc's "take the node away"
    assert stats["nodes"]["demo1"]["boot_id"] == "b0001" and stats["gaps"] == 0
    kinds = [type(m).__name__ for m in hub.accepted]
    assert kinds == ["NodeStatus", "NodeDescriptor", "SensorEvent", "SensorEvent", "TelemetryBatch", "NodeHealth"]


def test_every_doc_example_goes_through_the_broker(broker, hub):
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-sled1")
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    try:
        node_examples = [(t, m) for t, mt, m in examples() if mt not in ("cmd", "clock/ping")]
        for topic, message in node_examples:
            sender.publish(topic, json.dumps(message), qos=1).wait_for_publish(10)
        wait_for(lambda: hub.received() == len(node_examples), 10, what="every example at the hub")
    finally:
        sender.disconnect()
        sender.loop_stop()
    stats = hub.protocol.stats()
    assert (stats["accepted"], stats["rejected"]) == (len(node_examples), 0)


def test_a_real_last_will_is_accepted_as_offline(broker, hub):
    offline = {"v": 1, "node": "gate7", "state": "offline", "boot_id": "b42"}
    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-gate7")
    node.will_set("sledhub/v1/node/gate7/status", json.dumps(offline), qos=1, retain=True)
    connected = threading.Event()
    node.on_connect = lambda *_: connected.set()
    node.connect(broker.host, broker.port, keepalive=10)

    def step() -> bool:  # drive the node's network loop by hand: no thread to leak
        node.loop(timeout=0.05)
        return connected.is_set()

    wait_for(step, 10, what="the node's CONNACK")
    node.publish("sledhub/v1/node/gate7/status", json.dumps(dict(offline, state="online")), qos=1, retain=True)
    wait_for(lambda: step() and hub.protocol.stats()["nodes"].get("gate7", {}).get("state") == "online", 10)
    node.socket().close()  # the node dies: no DISCONNECT, so the broker publishes the Last Will
    wait_for(lambda: hub.protocol.stats()["nodes"]["gate7"]["state"] == "offline", 10, what="the Last Will")
    assert [(m.state, m.stale) for m in hub.accepted] == [("online", False), ("offline", False)]
