"""paho's cost per received message: the plain client against the hub's buffered one.

    .venv/bin/python -m bench.paho_bench [--messages 60000]

A private Mosquitto; a publisher process sends ``--messages`` telemetry batches (15 wheel samples,
like a bench sled) at QoS 0 as fast as it can; a subscriber in this process, alone, runs paho's
loop in the main thread and counts them. Reported: the subscriber's CPU time per message (µs), for
``paho.mqtt.client.Client``, for ``server.mqtt.buffered_socket.BufferedClient`` and for the latter's
QoS 0 fast path (``on_qos0_messages``, as the hub uses it). No hub code runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from firmware_bridge.wire import TOPIC_ROOT, topic
from server.mqtt.broker import ManagedBroker
from server.mqtt.buffered_socket import BufferedClient

TOPIC = topic("bench-sled1", "tel")
PAYLOAD = json.dumps({"v": 1, "boot_id": "b1", "seq": 1, "sensor": "wheel", "kind": "position",
                      "samples": [[1_000_000 + i * 2500, 1.234567 + i * 0.005, 1234 + i] for i in range(15)]}).encode()


def _publish(host: str, port: int, n: int) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-bench-pub")
    c.connect(host, port)
    for i in range(n):
        c.publish(TOPIC, PAYLOAD, qos=0)
        if i % 50 == 0:
            c.loop_write()
            c.loop_read()
    for _ in range(200):  # let the last packets out
        c.loop(0.01)
    c.disconnect()


def measure(cls: type[mqtt.Client], n: int, timeout_s: float = 60.0, fast: bool = False) -> dict[str, Any]:
    """Receive ``n`` messages (≥ 98 % of them: QoS 0 on a flood) with ``cls``; CPU µs per message.
    ``fast``: through :attr:`BufferedClient.on_qos0_messages` (the hub's path) instead of ``on_message``."""
    with ManagedBroker(persistence=False) as broker:
        got = [0]
        done, subscribed = threading.Event(), threading.Event()

        def count(k: int) -> None:
            got[0] += k
            if got[0] >= n * 0.98:
                done.set()

        def on_message(client, userdata, message) -> None:
            _ = message.topic  # what the hub reads of every message (paho decodes it on access)
            count(1)

        sub = cls(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-bench-sub", protocol=mqtt.MQTTv311)
        sub.on_message = on_message
        if fast:  # topics come decoded already; one call per kernel read, as in the hub
            sub.on_qos0_messages = lambda messages: count(len(messages))  # type: ignore[attr-defined]
        sub.on_subscribe = lambda *args: subscribed.set()
        sub.on_connect = lambda client, u, f, rc, p: client.subscribe(f"{TOPIC_ROOT}/+/tel", 0)
        sub.connect(broker.host, broker.port)
        deadline = time.monotonic() + 10
        while not subscribed.is_set() and time.monotonic() < deadline:
            sub.loop(0.05)
        pub = mp.get_context("spawn").Process(target=_publish, args=(broker.host, broker.port, n))
        pub.start()
        cpu0, deadline = time.process_time(), time.monotonic() + timeout_s
        while not done.is_set() and time.monotonic() < deadline:
            sub.loop(0.05)
        cpu = time.process_time() - cpu0
        pub.join(30)
        sub.disconnect()
    return {"client": cls.__name__ + (" (on_qos0_messages)" if fast else ""), "received": got[0],
            "cpu_us_per_message": round(cpu / max(1, got[0]) * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.paho_bench", description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=60_000)
    args = p.parse_args(argv)
    for cls, fast in ((mqtt.Client, False), (BufferedClient, False), (BufferedClient, True)):
        print(measure(cls, args.messages, fast=fast))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
