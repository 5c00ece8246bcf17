"""Hub control on a real engine and store (no broker): GO delays, circuit overrides, the go event."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.app import create_app
from server.config import Config
from server.store.stations import Binding, Station


class Recorder:
    def __init__(self):
        self.events = []

    def emit(self, event, data, to=None, callback=None):
        self.events.append((event, data))


@pytest.fixture
def hub(tmp_path):
    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "h.db"))), connect_mqtt=False)
    rec = Recorder()
    app.hub.broadcaster._emitter = rec
    app.hub.stations.upsert(Station("lane1", "lane", "Lane 1", {"start_mode": "REACTION_RANDOM",
                                                                 "reaction_window_s": [1.0, 2.0]},
                                    (Binding("start", "n1", "s"), Binding("finish", "n1", "f"))))
    app.hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15}))
    app.hub.reload_stations()
    app.hub.start()
    app.hub.recorder = rec
    yield app.hub
    app.stop()


def test_reaction_start_gets_a_drawn_delay_and_screens_get_the_signal_time(hub):
    hub.arm([("lane1", "Kiwi", None, None), ("sled1", "Moose", None, None)])
    t = hub.go(["lane1", "sled1"])
    go = [d for e, d in hub.recorder.events if e == "go"][-1]
    lane_delay = go["signals"]["lane1"] - t - 3_000_000  # countdown 3 s, then the drawn delay
    assert 1_000_000 <= lane_delay <= 2_000_000
    assert go["signals"]["sled1"] - t == 3_000_000  # GO_COUNTDOWN: no random delay


def test_circuit_overrides_apply_and_are_checked_first(hub):
    hub.set_station_overrides({"sled1": {"distance_m": 10}})
    assert hub.engine.stations["sled1"].distance_m == 10
    with pytest.raises(ValueError, match="unknown option"):
        hub.set_station_overrides({"sled1": {"distanse_m": 10}})
    assert hub.engine.stations["sled1"].distance_m == 10  # nothing changed by the refused call
    with pytest.raises(ValueError, match="unknown station"):
        hub.set_station_overrides({"sled9": {}})
    hub.set_station_overrides({})
    assert hub.engine.stations["sled1"].distance_m == 15


def test_arming_an_unknown_station_is_refused(hub):
    with pytest.raises(ValueError, match="unknown station"):
        hub.arm([("sled9", "X", None, None)])


def test_overrides_for_a_running_station_wait_until_its_attempt_has_ended(hub):
    hub.arm([("sled1", "Moose", None, None)])
    hub.go(["sled1"])
    # let the engine's watermark pass the commands (the pipeline ticks on the hub clock)
    from tests.support.waiting import wait_for
    wait_for(lambda: hub.pipeline.run_sync(lambda: hub.engine.state_of("sled1")) == "COUNTDOWN", 5)
    hub.set_station_overrides({"sled1": {"distance_m": 20}})  # no error although sled1 is busy
    assert hub.engine.stations["sled1"].distance_m == 15
    hub.abort("sled1", "class finished")
    wait_for(lambda: hub.pipeline.run_sync(lambda: hub.engine.stations["sled1"].distance_m) == 20, 5,
             what="the new distance once the aborted attempt has ended")


def test_the_watermark_waits_for_a_backlog_the_hub_is_working_off(tmp_path):
    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "w.db"))), connect_mqtt=False)
    try:
        hub, lateness = app.hub, app.hub.engine.lateness_us
        hub.pipeline.behind_rx_us = 5_000_000    # queued messages were received after 5 s
        hub._advance(9_000_000)
        assert hub.engine.watermark_us == 5_000_000 - lateness
        hub.pipeline.behind_rx_us = None         # the queue is drained: back to the clock (in steps)
        for _ in range(50):
            hub._advance(9_000_000)
        assert hub.engine.watermark_us == 9_000_000 - lateness
    finally:
        app.stop()


def test_after_a_stall_the_engine_clock_catches_up_in_steps(tmp_path):
    """The process froze for 2 s: the messages sent meanwhile are still in the broker and the kernel.
    The watermark must not jump past them at the first tick after the stall: it waits where the freeze
    began for BROKER_GRACE_US (the backlog comes in meanwhile), then catches up in steps."""
    from server.hub.service import BROKER_GRACE_US, CATCH_UP_STEP_US
    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "s.db"))), connect_mqtt=False)
    try:
        hub, lateness = app.hub, app.hub.engine.lateness_us
        hub._advance(10_000_000)
        hub._advance(10_010_000)                 # a normal tick: the clock
        assert hub.engine.watermark_us == 10_010_000 - lateness
        hub._advance(12_010_000)                 # 2 s later: held where the freeze began
        assert hub.engine.watermark_us == 10_010_000 - lateness
        hub._advance(12_010_000 + BROKER_GRACE_US - 10_000)
        assert hub.engine.watermark_us == 10_010_000 - lateness
        end = 12_010_000 + BROKER_GRACE_US      # the grace is over: steps
        hub._advance(end)
        assert hub.engine.watermark_us == 10_010_000 + CATCH_UP_STEP_US - lateness
        for _ in range(60):
            hub._advance(end)
        assert hub.engine.watermark_us == end - lateness   # caught up, never past the clock
    finally:
        app.stop()


@pytest.mark.parametrize("frame_ms, tick_ms", [(10, 20), (25, 25), (40, 40), (100, 40)])
def test_the_pipeline_ticks_once_per_frame_slot_within_its_bounds_and_catches_up_ten_ticks_a_tick(
        tmp_path, frame_ms, tick_ms):
    base = Config()
    cfg = replace(base, store=replace(base.store, path=str(tmp_path / "s.db")),
                  timing=replace(base.timing, frame_interval_ms=frame_ms))
    app = create_app(cfg, connect_mqtt=False)
    try:
        assert round(app.hub.pipeline._tick_s * 1000) == tick_ms
        assert app.hub._catch_up_us == 10 * tick_ms * 1000
    finally:
        app.stop()


def test_an_app_bound_but_never_served_stops_at_once(tmp_path):
    """An error between bind and serve (sledhub serve's start-up) must not hang the stop: shutdown()
    waits for a serve_forever that never started."""
    import threading
    from dataclasses import replace

    from server.app import create_app
    from server.config import Config
    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "h.db"))), connect_mqtt=False)
    app.bind("127.0.0.1", 0)
    app.start()
    stopper = threading.Thread(target=app.stop, daemon=True)
    stopper.start()
    stopper.join(10)
    assert not stopper.is_alive(), "HubApp.stop() hung"
