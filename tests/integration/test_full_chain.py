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


def test_a_finish_is_pushed_before_its_result_of_record(demo_hub):
    app, base = demo_hub
    events: list[tuple[str, dict]] = []
    client = socketio.Client(reconnection=False)
    client.on("finish", lambda d: events.append(("finish", d)))
    client.on("result", lambda d: events.append(("result", d)))
    client.connect(base, transports=["websocket"], wait_timeout=10)
    try:
        def a_confirmed_finish():
            finishes = {d["attempt_id"]: d for kind, d in list(events) if kind == "finish"}
            return next((d for kind, d in list(events) if kind == "result" and d["id"] in finishes), None)
        result = wait_for(a_confirmed_finish, 60, what="a finish followed by its result")
    finally:
        client.disconnect()
    order = [(kind, d.get("attempt_id", d.get("id"))) for kind, d in events]
    assert order.index(("finish", result["id"])) < order.index(("result", result["id"]))
    finish = next(d for kind, d in events if kind == "finish" and d["attempt_id"] == result["id"])
    assert finish["provisional"] is True and finish["athlete"] == result["athlete"]
    assert abs(finish["time_s"] - result["time_s"]) < 0.02  # sleds: first sample past the line vs interpolated
