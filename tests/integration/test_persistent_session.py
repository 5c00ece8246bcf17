"""The hub's MQTT session outlives the hub's connection and the broker: what nodes publish while the hub
is away (stopped, or the broker restarting) reaches it when it is back (real Mosquitto)."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest

from server.hub import monotonic_us
from server.mqtt_link import MqttLink
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker

ROOT = "sledhub/v1/node/n1"


class Inbox:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: list[tuple[str, dict]] = []

    def __call__(self, topic: str, payload: bytes, rx_us: int) -> None:
        with self.lock:
            self.items.append((topic, json.loads(payload) if payload else {}))

    def seqs(self, suffix: str) -> list[int]:
        with self.lock:
            return [p["seq"] for t, p in self.items if t == f"{ROOT}/{suffix}"]


def hub_link(broker, inbox: Inbox) -> MqttLink:
    link = MqttLink(broker.host, broker.port, inbox, monotonic_us)
    link.start()
    wait_for(link.connected.is_set, 10, what="hub connected")
    return link


def node_publish(broker, messages: list[tuple[str, dict, int]]) -> None:
    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-n1")
    node.connect(broker.host, broker.port)
    node.loop_start()
    try:
        infos = [node.publish(f"{ROOT}/{suffix}", json.dumps(body), qos=qos) for suffix, body, qos in messages]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        node.disconnect()
        node.loop_stop()


def evt(seq: int) -> dict:
    return {"v": 1, "boot_id": "b1", "seq": seq, "sensor": "f", "kind": "break", "t_us": 1000 + seq}


def tel(seq: int) -> dict:
    return {"v": 1, "boot_id": "b1", "seq": seq, "sensor": "w", "kind": "position", "samples": [[seq, 0.1, 40]]}


def test_events_and_telemetry_published_while_the_hub_is_stopped_arrive_when_it_is_back(broker):
    first = Inbox()
    link = hub_link(broker, first)
    link.stop()  # the hub stops (or crashes): its session stays with the broker
    node_publish(broker, [("evt", evt(0), 1), ("tel", tel(1), 0), ("evt", evt(2), 1)])
    again = Inbox()
    link = hub_link(broker, again)
    try:
        wait_for(lambda: again.seqs("evt") == [0, 2] and again.seqs("tel") == [1], 10,
                 what="the queued finish and telemetry delivered to the restarted hub")
    finally:
        link.stop()


def test_a_broker_restart_keeps_the_hubs_session(broker):
    inbox = Inbox()
    link = hub_link(broker, inbox)
    try:
        link.stop()
        broker.restart()  # the session (subscriptions) was saved on the broker's clean shutdown
        node_publish(broker, [("evt", evt(5), 1), ("tel", tel(6), 0)])
        link = hub_link(broker, inbox)
        wait_for(lambda: inbox.seqs("evt") == [5] and inbox.seqs("tel") == [6], 10,
                 what="what was published before the hub re-subscribed")
    finally:
        link.stop()


def test_queued_events_are_not_held_back_by_queued_telemetry(broker):
    """Mosquitto 2.0 with queued QoS 0 messages and an inflight limit delivered only the first few
    queued QoS 1 events after the reconnect (3 of 10 here); the brokers run without an inflight limit."""
    inbox = Inbox()
    link = hub_link(broker, inbox)
    link.stop()
    messages = []
    for i in range(2000):
        messages.append(("tel", tel(i), 0))
        if i % 200 == 0:
            messages.append(("evt", evt(i), 1))
    node_publish(broker, messages)
    again = Inbox()
    link = hub_link(broker, again)
    try:
        wait_for(lambda: len(again.seqs("evt")) == 10 and len(again.seqs("tel")) == 2000, 20,
                 what="every queued event and sample delivered")
    finally:
        link.stop()
