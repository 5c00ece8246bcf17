"""The wall smooths corrections of live frames (web/static/live.js, ``LiveSmoother``): within an attempt
the distance never goes back, a jump further than the sled could have moved eases in, normal progress
shows at once, and the running clock never goes back."""

from __future__ import annotations

import re

import pytest

from tests.display.support import serving_hub
from tests.support.waiting import wait_for

SMOOTHER = """async () => {
  const { LiveSmoother } = await import("/static/live.js");
  let now = 1000;
  const queued = [], drawn = [];
  const s = new LiveSmoother((v) => drawn.push(v.distance_m), { easeMs: 200, now: () => now, raf: (fn) => queued.push(fn) });
  const frame = (ms, d, extra = {}) => {
    now = ms;
    return s.frame({ attempt_id: "a1", distance_m: d, velocity_m_s: 2, elapsed_s: ms / 1000, ...extra });
  };
  const run = (ms) => { now = ms; for (const fn of queued.splice(0)) fn(); };  // one animation frame
  const out = {};
  out.first = frame(1000, 1.0).distance_m;
  out.progress = frame(1040, 1.08).distance_m;               // moving on: shown at once
  out.back = frame(1080, 1.02).distance_m;                   // revised down: held
  out.backClock = frame(1120, 1.06, { elapsed_s: 0.5 }).elapsed_s;  // the clock does not go back either
  out.stillHeld = s.values(1120).distance_m;
  out.passes = frame(1160, 1.12).distance_m;                 // the real value passes the held one: shown
  out.jump = frame(1200, 3.12).distance_m;                   // 2 m in 40 ms: a correction, eased in
  out.queued = queued.length;
  out.midway = s.values(1300).distance_m;
  run(1300);
  out.drawnMidway = drawn.at(-1);
  run(1450);
  out.drawnEnd = drawn.at(-1);
  out.queuedAfter = queued.length;
  out.next = s.frame({ attempt_id: "a2", distance_m: 0.2, elapsed_s: 0.1 });  // a new attempt starts afresh
  return out;
}"""


@pytest.fixture
def wall(tmp_path, page):
    with serving_hub(tmp_path) as (app, base):
        page.goto(f"{base}/display")
        page.wait_for_selector("body[data-synced]", timeout=10_000)
        yield app, page


def test_live_smoother_rules(wall):
    _app, page = wall
    out = page.evaluate(SMOOTHER)
    assert out["first"] == 1.0 and out["progress"] == 1.08
    assert out["back"] == 1.08 and out["stillHeld"] == 1.08 and out["backClock"] == 1.08
    assert out["passes"] == 1.12
    assert out["jump"] == pytest.approx(1.12) and out["queued"] == 1      # starts where it was, animates
    assert 1.12 < out["midway"] < 3.12 and out["drawnMidway"] == pytest.approx(out["midway"])
    assert out["drawnEnd"] == 3.12 and out["queuedAfter"] == 0            # eased in, then it stops
    assert out["next"]["distance_m"] == 0.2 and out["next"]["elapsed_s"] == 0.1


def label(page) -> float:
    text = page.locator('[data-testid="tile-track-sled1"]').inner_text()
    m = re.match(r"([\d.]+)", text)
    assert m, text
    return float(m.group(1))


def test_a_tile_never_shows_the_distance_going_back(wall):
    app, page = wall
    (attempt,) = app.hub.arm([("sled1", "Kiwi", None, None)])
    wait_for(lambda: page.locator('[data-testid="tile-big-sled1"]').inner_text() == "READY", 5, what="armed tile")

    def push(distance_m: float, elapsed_s: float) -> None:
        before = page.evaluate("() => window.sledhub.stats.frames")
        frame = {"station_id": "sled1", "attempt_id": attempt.attempt_id, "distance_m": distance_m,
                 "elapsed_s": elapsed_s, "force_n": 300.0, "velocity_m_s": 2.0, "power_w": 600.0, "splits": []}
        app.hub.pipeline.run_sync(lambda: app.hub.broadcaster.progress("sled1", frame))
        wait_for(lambda: page.evaluate("() => window.sledhub.stats.frames") > before, 5, what="the frame on the wall")

    push(2.0, 1.0)
    assert label(page) == 2.0
    push(1.5, 0.9)                          # a correction down, and an older clock: neither goes back
    assert label(page) == 2.0
    assert page.locator('[data-testid="tile-big-sled1"]').inner_text() == "1.0 s"
    push(2.1, 1.1)
    assert label(page) == 2.1
    push(6.0, 1.2)                          # far more than the sled could have moved: eased in
    assert label(page) < 6.0
    wait_for(lambda: label(page) == 6.0, 3, what="the correction eased in")
