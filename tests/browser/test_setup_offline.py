"""A node that drops off the network (no clean disconnect: its link just goes silent) is shown OFFLINE on
``/setup``, and the pre-class warnings report it, pushed to every page (the instructor's tablet), within
1.5 × its MQTT keepalive: the hub notices it stopped answering its clock pings; the broker's Last Will
follows (Mosquitto checks keepalives in whole seconds, so it may come a second or two after 1.5 ×)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import socketio

from tests.integration.conftest import make_hub
from tests.setup.simnodes import CuttableProxy, NewSled
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker, pytest.mark.browser]
WILL_GRACE_S = 10.0  # Mosquitto 2.0 sends the Will 1.2-1.9 s after 1.5 × keepalive (whole-second checks); more on a busy machine


def offline_warning(report: dict) -> bool:
    return any(w["code"] == "node_offline" and w["node_id"] == "gone-sled" for w in report["warnings"])


def test_a_silent_node_goes_offline_on_setup_and_warns_the_tablet(page, tmp_path, broker):
    app, port = make_hub(tmp_path, broker, demo=False)
    base = f"http://127.0.0.1:{port}"
    service = app.setup
    proxy = CuttableProxy((broker.host, broker.port))
    sled = NewSled("gone-sled", proxy.address)
    pushed: list[dict] = []
    tablet = socketio.Client(reconnection=False)
    tablet.on("setup:warnings", pushed.append)
    try:
        sled.start()
        keepalive_s = sled.node.config.mqtt.keepalive_s
        wait_for(lambda: service.call(lambda: app.hub.nodes.nodes.get("gone-sled") and
                                      app.hub.nodes.nodes["gone-sled"].sensors), 10, what="the node described")
        service.call(lambda: service.save_station({"kind": "sled", "name": "Sled 4", "config": {"distance_m": 10},
                                                   "bindings": [{"role": "force", "node_id": "gone-sled",
                                                                 "sensor_id": "force"},
                                                                {"role": "wheel", "node_id": "gone-sled",
                                                                 "sensor_id": "wheel"}]}))
        tablet.connect(base, transports=["websocket"], wait_timeout=10)
        page.goto(f"{base}/setup")
        state = page.locator('[data-testid="sensor-state-gone-sled-force"]')
        state.wait_for(timeout=10_000)
        assert state.inner_text() == "online"

        proxy.cut()
        cut_at = time.monotonic()
        page.wait_for_selector('[data-testid="sensor-state-gone-sled-force"]:has-text("OFFLINE")',
                               timeout=(1.5 * keepalive_s + 5) * 1000)
        shown_s = time.monotonic() - cut_at
        with urllib.request.urlopen(f"{base}/api/setup/warnings", timeout=5) as r:
            report = json.loads(r.read())
        assert offline_warning(report) and report["ready"] is False
        wait_for(lambda: any(offline_warning(p) for p in list(pushed)), 2, what="setup:warnings pushed to the tablet")
        warned_s = time.monotonic() - cut_at
        assert "OFFLINE" in page.inner_text('[data-testid="health-gone-sled-force"]')
        print(f"offline on /setup after {shown_s:.2f} s, warning pushed after {warned_s:.2f} s "
              f"(keepalive {keepalive_s} s)")
        assert shown_s <= 1.5 * keepalive_s, shown_s
        assert warned_s <= 1.5 * keepalive_s, warned_s
        # the Last Will: the hub's registry (and /api/nodes) says offline too
        wait_for(lambda: service.call(lambda: app.hub.nodes.nodes["gone-sled"].state) == "offline",
                 1.5 * keepalive_s + WILL_GRACE_S - (time.monotonic() - cut_at), what="the Last Will")
        assert state.inner_text() == "OFFLINE"
    finally:
        tablet.disconnect()
        sled.stop()
        proxy.close()
        app.stop()
