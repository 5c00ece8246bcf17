"""Live progress from the newest samples (server/hub/live_progress.py): pure, fed plain values."""

from __future__ import annotations

import itertools

from server.engine import AttemptState, AttemptStateChanged, Progress
from server.hub.live_progress import LiveProgress

WINDOW_S = 0.05
START_US = 10_000_000
REST_M = 2.0          # the wheel's position at rest (counts since the node booted, in m)
SPEED = 2.0           # m/s


def change(state: AttemptState, t_us: int = START_US, attempt: str = "a1") -> AttemptStateChanged:
    return AttemptStateChanged("sled1", attempt, state, t_us, "r")


def progress(wm_us: int, distance_m: float | None, attempt: str = "a1", splits=()) -> Progress:
    return Progress("sled1", attempt, wm_us, (wm_us - START_US) / 1e6, distance_m, None, None, None, list(splits))


def wheel(t0_us: int, n: int, step_us: int = 5_000) -> list[tuple[int, float, int]]:
    """``n`` wheel samples from ``t0_us`` on (node clock = hub clock - OFFSET), the sled at SPEED."""
    out = []
    for i in range(n):
        t = t0_us + i * step_us
        x = REST_M + max(0, t - START_US) / 1e6 * SPEED
        out.append((t - OFFSET_US, round(x, 4), round(x * 200)))
    return out


OFFSET_US = 3_000_000  # t_hub = t_node + OFFSET_US


def running(live: LiveProgress | None = None, cap_s: float | None = 60.0) -> LiveProgress:
    live = live or LiveProgress(retain_us=1_000_000)
    live.state(change(AttemptState.ARMED, START_US - 5_000_000), WINDOW_S, cap_s)
    live.samples("sled1", "wheel", "position", wheel(START_US - 200_000, 41), OFFSET_US)  # at rest, up to GO
    live.state(change(AttemptState.RUNNING), WINDOW_S, cap_s)
    return live


def test_a_frame_shows_the_newest_sample_not_the_watermark():
    live = running()
    live.watermark(progress(START_US, 0.0))                      # the engine: at GO, distance 0
    live.samples("sled1", "wheel", "position", wheel(START_US + 5_000, 60), OFFSET_US)  # 0.3 s of pulling
    live.samples("sled1", "force", "force", [(START_US + 299_000 - OFFSET_US, 412.34, 0)], OFFSET_US)
    now = START_US + 310_000
    (frame,) = live.frames(now).values()
    newest_t = START_US + 300_000
    assert frame["t_us"] == newest_t                             # the newest sample, 300 ms past the watermark
    assert frame["distance_m"] == 0.6                            # 0.3 s at 2 m/s
    assert frame["velocity_m_s"] == SPEED
    assert frame["force_n"] == 412.3 and frame["power_w"] == round(412.3 * SPEED, 1)
    assert frame["elapsed_s"] == 0.31                            # the running clock: now minus the start
    assert frame["watermark_us"] == START_US and frame["provisional"] is True
    assert frame["attempt_id"] == "a1" and frame["now_us"] == now
    (later,) = live.frames(now + 40_000).values()                # no sample since: the clock moves on
    assert later["elapsed_s"] == 0.35 and later["distance_m"] == 0.6 and later["t_us"] == newest_t


def test_reordered_batches_give_the_same_frame_as_in_order():
    batches = [wheel(START_US + 5_000 + k * 50_000, 10) for k in range(6)]
    frames = []
    for order in ([0, 1, 2, 3, 4, 5], [0, 1, 2, 5, 3, 4], [0, 5, 4, 3, 2, 1], [1, 0, 3, 2, 5, 4]):
        live = running()
        live.watermark(progress(START_US, 0.0))
        for k in order:
            live.samples("sled1", "wheel", "position", batches[k], OFFSET_US)
        frames.append(live.frames(START_US + 310_000)["sled1"])
    assert all(f == frames[0] for f in frames)
    assert frames[0]["distance_m"] == 0.6 and frames[0]["velocity_m_s"] == SPEED


def test_a_late_older_batch_does_not_move_the_distance_back_and_repeats_change_nothing():
    live = running()
    live.watermark(progress(START_US, 0.0))
    live.samples("sled1", "wheel", "position", wheel(START_US + 200_000, 11), OFFSET_US)
    first = live.frames(START_US + 260_000)["sled1"]
    assert first["distance_m"] == 0.5
    live.samples("sled1", "wheel", "position", wheel(START_US + 200_000, 11), OFFSET_US)  # a repeat
    same = live.frames(START_US + 260_000)["sled1"]
    assert same == first
    live.samples("sled1", "wheel", "position", wheel(START_US + 5_000, 39), OFFSET_US)    # older, late
    later = live.frames(START_US + 300_000)["sled1"]
    assert later["distance_m"] == 0.5 and later["t_us"] == first["t_us"]
    # a sample older than what is kept (retain_us behind the newest) is dropped, not inserted
    held = list(live._runs["sled1"].wheel_t)
    live.samples("sled1", "wheel", "position", [(START_US + 250_000 - 2_000_000 - OFFSET_US, 1.0, 200)], OFFSET_US)
    assert live._runs["sled1"].wheel_t == held and live.frames(START_US + 300_000)["sled1"] == later


def test_the_rest_position_comes_from_the_engines_distance_at_its_watermark():
    live = running()
    live.samples("sled1", "wheel", "position", wheel(START_US + 5_000, 40), OFFSET_US)
    # before the engine's progress names the distance of a sample held: the engine's own distance
    live.watermark(progress(START_US - 1_000_000, 0.25))   # (its sample is older than anything held)
    assert live.frames(START_US + 210_000)["sled1"]["distance_m"] == 0.25
    # the engine at 100 ms measured 0.2 m from the sample at 100 ms: rest = x(100 ms) - 0.2
    live.watermark(progress(START_US + 100_000, 0.2))
    assert live.frames(START_US + 220_000)["sled1"]["distance_m"] == 0.4
    # a millimetre of rounding in the engine's distance does not move the rest position
    live.watermark(progress(START_US + 100_000, 0.201))
    assert live.frames(START_US + 230_000)["sled1"]["distance_m"] == 0.4
    # a real correction (the engine took another rest position) does
    live.watermark(progress(START_US + 100_000, 0.25))
    assert live.frames(START_US + 240_000)["sled1"]["distance_m"] == 0.45


def test_no_frames_before_running_and_the_end_gives_way_to_the_result():
    live = LiveProgress()
    live.state(change(AttemptState.ARMED), WINDOW_S, 60.0)
    live.samples("sled1", "wheel", "position", wheel(START_US, 5), OFFSET_US)
    assert live.frames(START_US + 100_000) == {} and live.running_attempt("sled1") is None
    live.state(change(AttemptState.RUNNING), WINDOW_S, 60.0)
    assert set(live.frames(START_US + 110_000)) == {"sled1"}
    live.state(change(AttemptState.FINISHED, START_US + 5_000_000), WINDOW_S, 60.0)
    live.watermark(progress(START_US + 5_100_000, 10.0))          # a late progress of the ended attempt
    live.samples("sled1", "wheel", "position", wheel(START_US + 5_200_000, 5), OFFSET_US)
    assert live.frames(START_US + 5_300_000) == {} and live.running_attempt("sled1") is None
    live.state(change(AttemptState.RUNNING), WINDOW_S, 60.0)      # nor does a repeated state change
    assert live.frames(START_US + 5_400_000) == {}


def test_a_provisional_finish_ends_the_frames_and_the_next_attempt_starts_afresh():
    live = running()
    live.watermark(progress(START_US, 0.0))
    assert live.frames(START_US + 50_000)
    live.end("sled1", "a1")                                        # the hub saw the finishing sample
    live.samples("sled1", "wheel", "position", wheel(START_US + 100_000, 5), OFFSET_US)
    live.watermark(progress(START_US + 100_000, 0.2))
    assert live.frames(START_US + 150_000) == {}
    live.state(change(AttemptState.RUNNING, START_US, "a1"), WINDOW_S, 60.0)
    assert live.frames(START_US + 160_000) == {}
    live.state(change(AttemptState.ARMED, START_US + 1_000_000, "a2"), WINDOW_S, 60.0)
    live.state(change(AttemptState.RUNNING, START_US + 2_000_000, "a2"), WINDOW_S, 60.0)
    frame = live.frames(START_US + 2_500_000)["sled1"]
    assert frame["attempt_id"] == "a2" and frame["elapsed_s"] == 0.5


def test_a_stopped_wheel_reads_zero_speed_and_the_clock_stops_at_the_cap():
    live = running(cap_s=1.0)
    live.watermark(progress(START_US, 0.0))
    live.samples("sled1", "wheel", "position", wheel(START_US + 5_000, 20), OFFSET_US)
    assert live.frames(START_US + 100_000)["sled1"]["velocity_m_s"] == SPEED
    live.watermark(progress(START_US + 200_000, 0.19))
    frame = live.frames(START_US + 1_500_000)["sled1"]
    assert frame["velocity_m_s"] == 0.0 and frame["power_w"] is None  # no force sample yet
    assert frame["elapsed_s"] == 1.0


def test_other_roles_and_bad_values_are_ignored():
    live = running()
    live.watermark(progress(START_US, 0.0))
    before = live.frames(START_US + 40_000)
    live.samples("sled1", "finish", "break", [(1, None, None)], OFFSET_US)
    live.samples("sled1", "wheel", "position", [(START_US - OFFSET_US + 9_000, None, 0)], OFFSET_US)
    live.samples("sled1", "force", "force", [(START_US - OFFSET_US + 9_000, "x", 0)], OFFSET_US)
    live.samples("lane1", "wheel", "position", wheel(START_US, 3), OFFSET_US)  # not running here
    assert live.frames(START_US + 40_000) == before and set(before) == {"sled1"}


def test_every_order_of_three_batches_with_a_repeat_ends_the_same():
    batches = [wheel(START_US + 5_000 + k * 30_000, 6) for k in range(3)]
    seen = set()
    for order in itertools.permutations([0, 1, 2, 1]):
        live = running()
        live.watermark(progress(START_US, 0.0))
        for k in order:
            live.samples("sled1", "wheel", "position", batches[k], OFFSET_US)
        f = live.frames(START_US + 100_000)["sled1"]
        seen.add((f["t_us"], f["distance_m"], f["velocity_m_s"]))
    assert seen == {(START_US + 90_000, 0.18, SPEED)}


def test_a_station_without_wheel_samples_shows_its_running_clock_at_every_call():
    live = LiveProgress(retain_us=1_000_000)
    live.state(change(AttemptState.ARMED, START_US - 5_000_000), WINDOW_S, 60.0)
    live.state(change(AttemptState.RUNNING), WINDOW_S, 60.0)
    clocks = [live.frames(START_US + k * 40_000)["sled1"]["elapsed_s"] for k in range(1, 4)]
    assert clocks == [0.04, 0.08, 0.12]                          # no engine progress needed in between
