"""The whole chain on real parts: simulated node → Mosquitto → hub pipeline → engine → SQLite →
Socket.IO client, and the same result in ``/api/results``."""

from __future__ import annotations

import json
import threading
import urllib.request

import socketio

from tests.support.waiting import wait_for


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_a_result_reaches_a_socketio_client_and_the_api(demo_hub):
    app, base = demo_hub
    received: list[dict] = []
    lock = threading.Lock()
    client = socketio.Client(reconnection=False)

    @client.on("result")
    def on_result(data):
        with lock:
            received.append(data)

    client.connect(base, transports=["websocket"], wait_timeout=10)
    try:
        first = wait_for(lambda: list(received), 60, what="a result pushed over Socket.IO")[0]
    finally:
        client.disconnect()
    assert first["station_id"] in {"sled1", "sled2", "lane1", "lane2"}
    assert first["athlete"]
    stored = _get(f"{base}/api/results")
    assert first["id"] in [r["id"] for r in stored]
    row = next(r for r in stored if r["id"] == first["id"])
    assert row["status"] == first["status"] and row["time_s"] == first["time_s"]
    health = _get(f"{base}/api/health")
    assert health["broker_connected"] is True
    assert health["nodes_online"] == 4
    assert health["messages_accepted"] > 0 and health["messages_rejected"] == 0
