"""Live frames through the hub (message seam, injected hub clock, ticks by hand): a running sled's frame
shows the sample that just arrived, while the engine's watermark — which still decides states and
results — is the lateness bound behind."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from server.app import create_app
from server.config import Config
from server.store.stations import Binding, Station

ROOT = "sledhub/v1/node/n1"
OFFSET_US = 2_000_000   # t_hub = t_node + OFFSET_US
REST_M = 1.0
SPEED = 2.0             # m/s
DISTANCE_M = 3.0
TICK_US = 10_000


class Wall:
    """A page: records frames and acknowledges each at once."""

    def __init__(self):
        self.frames: list[dict] = []
        self.events: list[tuple[str, dict]] = []

    def emit(self, event, data, to=None, callback=None):
        if event == "frames":
            self.frames.append(data)
            if callback:
                callback()
        else:
            self.events.append((event, data))


@pytest.fixture
def hub(tmp_path):
    base = Config()
    now = [10_000_000]
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "h.db"))), connect_mqtt=False,
                     clock_us=lambda: now[0])
    app.hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": DISTANCE_M},
                                    (Binding("wheel", "n1", "w"), Binding("force", "n1", "f"))))
    app.hub.reload_stations()
    app.hub.clock_sync.restore({"n1": {"boot_id": "b1", "samples": [[0, 0, 400, 200 - OFFSET_US, 400, OFFSET_US]]}})
    wall = Wall()
    app.hub.broadcaster._emitter = wall
    app.hub.broadcaster.client_joined("wall")
    app.hub.now, app.hub.wall = now, wall
    yield app.hub
    app.stop()


class Sled:
    """A sled node pulled at SPEED from ``go_us`` on; one wheel and one force batch per tick."""

    def __init__(self, hub, go_us: int):
        self.hub, self.go_us, self.seq, self.sent_t = hub, go_us, 0, 0

    def position(self, t_us: int) -> float:
        return round(REST_M + max(0, t_us - self.go_us) / 1e6 * SPEED, 3)

    def publish(self, t_from_us: int, t_to_us: int) -> None:
        ts = list(range(t_from_us + 1_000, t_to_us + 1, 1_000))
        wheel = [[t - OFFSET_US, self.position(t), round(self.position(t) * 200)] for t in ts]
        force = [[t - OFFSET_US, (300.0 + (t % 7)) if t > self.go_us else 20.0, 0] for t in ts]
        for sensor, kind, samples in (("w", "position", wheel), ("f", "force", force)):
            body = {"v": 1, "boot_id": "b1", "seq": self.seq, "sensor": sensor, "kind": kind, "samples": samples}
            self.seq += 1
            self.hub._on_message(f"{ROOT}/tel", json.dumps(body).encode(), self.hub.now[0])
        self.sent_t = t_to_us


def tick(hub, sled: Sled | None = None) -> None:
    """10 ms pass: the node publishes what it measured meanwhile, then the pipeline's tickers run."""
    t0 = hub.now[0]
    hub.now[0] += TICK_US
    if sled is not None:
        sled.publish(t0, hub.now[0])
    hub._advance(hub.now[0])
    hub.broadcaster.flush(hub.now[0])


def armed_and_gone(hub):
    """Arm the sled, let the node report its rest position, GO (GO_COUNTDOWN: the signal 3 s later)."""
    sled = Sled(hub, go_us=1 << 62)
    (attempt,) = hub.arm([("sled1", "Kiwi", None, None)])
    for _ in range(10):
        tick(hub, sled)
    sled.go_us = hub.go(["sled1"]) + 3_000_000
    return attempt, sled


def test_a_frame_shows_the_sample_that_just_arrived_not_the_watermark(hub):
    attempt, sled = armed_and_gone(hub)
    go_us = sled.go_us
    while hub.now[0] < go_us + 1_000_000 and hub.engine.state_of("sled1").value != "FINISHED":
        tick(hub, sled)
    frames = [f["stations"]["sled1"] | {"sent_us": f["t_us"]} for f in hub.wall.frames if "sled1" in f["stations"]]
    assert frames, "no live frame"
    # the engine said RUNNING once its watermark passed GO (the lateness bound after it): frames from then on
    assert min(f["sent_us"] for f in frames) >= go_us + hub.engine.lateness_us
    assert all(f["attempt_id"] == attempt.attempt_id and f["provisional"] for f in frames)
    for f in frames:
        # every frame shows the newest sample the node had sent, at most one tick old …
        newest = min(sled.sent_t, f["sent_us"])
        assert f["t_us"] == newest and f["sent_us"] - f["t_us"] < TICK_US
        assert f["distance_m"] == round(sled.position(newest) - REST_M, 3)
        assert f["velocity_m_s"] == pytest.approx(SPEED, abs=0.05)
        assert f["force_n"] >= 300.0
        # … while the engine's watermark is the lateness bound behind it
        assert f["t_us"] - f["watermark_us"] >= hub.engine.lateness_us - 2 * TICK_US
        assert f["elapsed_s"] == round((f["sent_us"] - go_us) / 1e6, 3)
    # 25 frames/s, distance never back
    span_s = (frames[-1]["sent_us"] - frames[0]["sent_us"]) / 1e6
    assert len(frames) >= 24 * span_s
    assert all(b["distance_m"] >= a["distance_m"] for a, b in zip(frames, frames[1:]))


def test_the_finish_and_the_result_take_over_from_the_frames(hub):
    attempt, sled = armed_and_gone(hub)
    go_us = sled.go_us
    finish_us = go_us + round(DISTANCE_M / SPEED * 1e6)
    while hub.now[0] < finish_us + 1_000_000:
        tick(hub, sled if hub.now[0] < finish_us + 200_000 else None)
    finish = next(d for e, d in hub.wall.events if e == "finish")
    shown = next(i for i, (e, _) in enumerate(hub.wall.events) if e == "finish")
    result = next(d for e, d in hub.wall.events if e == "result")
    assert finish["attempt_id"] == result["id"] == attempt.attempt_id and result["status"] == "OK"
    # no frame of the attempt after its finish was shown: the last one came before it
    frames = [f for f in hub.wall.frames if "sled1" in f["stations"]]
    assert frames and frames[-1]["t_us"] <= finish["emit_us"]
    assert max(f["stations"]["sled1"]["distance_m"] for f in frames) < DISTANCE_M
    assert shown < [e for e, _ in hub.wall.events].index("result")
