"""Live frames on real parts: a sled node publishing over Mosquitto → the hub → a Socket.IO client. A frame
shows the sample the node has just sent, well within the lateness bound the results wait for.

The node's clock is the hub's (both CLOCK_MONOTONIC in this process), so a sample's node time is also
its publish time on the client's clock: latency = the client's receipt − the publish of the newest
sample the frame shows (the bench's definition, bench/analysis.py)."""

from __future__ import annotations

import json
import statistics
import threading

import paho.mqtt.client as mqtt
import socketio

from server.hub.service import monotonic_us
from server.store.stations import Binding, Station
from tests.integration.conftest import make_hub
from tests.support.waiting import wait_for

NODE = "lf1"
REST_M = 4.0
SPEED = 1.0          # m/s
PERIOD_S = 0.01      # the node publishes a wheel sample every 10 ms (100 Hz)
FRAMES = 40
COUNTS_PER_M = 200


def test_a_frame_shows_the_newest_sample_well_within_the_lateness_bound(tmp_path, broker):
    app, port = make_hub(tmp_path, broker, demo=False)
    hub = app.hub
    hub.stations.upsert(Station("sledL", "sled", "Sled L", {"distance_m": 50, "countdown_s": 1.0},
                                (Binding("wheel", NODE, "w"),)))
    hub.reload_stations()
    frames: list[tuple[int, dict]] = []     # (client receipt µs, the station's frame)
    client = socketio.Client(reconnection=False)

    @client.on("frames")
    def on_frames(payload):
        seen = monotonic_us()
        if "sledL" in payload["stations"]:
            frames.append((seen, payload["stations"]["sledL"]))
        return True                          # the acknowledgement: the hub sends the next frame after it

    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=NODE)
    node.connect(broker.host, broker.port)
    node.loop_start()
    published: dict[float, int] = {}         # distance from rest (m) -> the sample's time (= its publish)
    signal_us = [1 << 62]
    seq = [0]
    stop = threading.Event()

    def publish() -> None:
        t = monotonic_us()
        counts = round((REST_M + SPEED * max(0, t - signal_us[0]) / 1e6) * COUNTS_PER_M)  # an encoder's counts
        x = counts / COUNTS_PER_M
        published.setdefault(round(x - REST_M, 3), t)
        body = {"v": 1, "boot_id": "b1", "seq": seq[0], "sensor": "w", "kind": "position",
                "samples": [[t, x, counts]]}
        seq[0] += 1
        node.publish(f"sledhub/v1/node/{NODE}/tel", json.dumps(body), qos=0)

    def sensor() -> None:                    # the node: a sample every PERIOD_S, at rest until GO
        while not stop.wait(PERIOD_S):
            publish()

    sensing = threading.Thread(target=sensor, name="test-sled-node")
    try:
        client.connect(f"http://127.0.0.1:{port}", transports=["websocket"], wait_timeout=10)
        sensing.start()
        wait_for(lambda: seq[0] >= 20, 5, what="the node reporting its rest position")
        (attempt,) = hub.arm([("sledL", "Kiwi", None, None)])
        wait_for(lambda: hub.engine.state_of("sledL").value == "ARMED", 5, what="armed as of the watermark")
        signal_us[0] = hub.go(["sledL"]) + 1_000_000
        wait_for(lambda: len(frames) >= FRAMES, 30, what=f"{FRAMES} live frames of the pull")
    finally:
        stop.set()
        if sensing.ident is not None:
            sensing.join(5)
        client.disconnect()
        node.loop_stop()
        node.disconnect()
        app.stop()

    # what the wall sees: the publish of the newest sample shown → the client's receipt
    moving = []
    for seen, f in frames:
        assert f["attempt_id"] == attempt.attempt_id
        assert f["distance_m"] in published, f"frame shows {f['distance_m']} m, never published"
        if f["distance_m"] > 0.05:
            moving.append((seen - published[f["distance_m"]]) / 1000)
    assert len(moving) >= FRAMES // 2
    assert statistics.median(moving) < 100, f"publish → client latencies (ms): {sorted(moving)}"
    assert all(b[1]["distance_m"] >= a[1]["distance_m"] for a, b in zip(frames, frames[1:]))
    # the hub's stamps: the frame was made soon after the newest sample it shows, which is newer than
    # what the engine has confirmed (its watermark, the lateness bound behind)
    assert all(f.get("provisional") is True and 0 <= f["now_us"] - f["t_us"] < 300_000 for _, f in frames)
    assert statistics.median(f["t_us"] - f["watermark_us"] for _, f in frames) > 200_000
