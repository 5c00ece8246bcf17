"""A running hub for integration and browser tests: real Mosquitto, real HTTP + Socket.IO server,
simulated nodes (the real bridge on mock pins) and a fast demo class."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.app import create_app
from server.config import Config
from server.sim.demo import attach_demo
from server.sim.demo_class import DemoTiming
from tests.support.waiting import wait_for

FAST_CLASS = DemoTiming(ready_s=1.0, countdown_s=3.0, cap_s=20.0, rest_s=1.0)


def make_hub(tmp_path, broker, *, demo: bool = True, autostart: bool = True, db_name: str = "hub.db"):
    base = Config()
    config = replace(base, store=replace(base.store, path=str(tmp_path / db_name)),
                     http=replace(base.http, ping_interval_s=1))
    app = create_app(config, broker=(broker.host, broker.port))
    if demo:
        attach_demo(app, (broker.host, broker.port), autostart=autostart, timing=FAST_CLASS)
    port = app.serve_in_thread("127.0.0.1", 0)
    app.start()
    wait_for(app.broker_connected, 10, what="hub connected to the broker")
    return app, port


@pytest.fixture
def demo_hub(tmp_path, broker):
    """A hub with the demo class running; yields ``(hub_app, base_url)``."""
    app, port = make_hub(tmp_path, broker)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        app.stop()
