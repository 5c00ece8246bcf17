"""A stall longer than the lateness bound (the hub or the network froze) costs no finish, and never
gives a wrong time: late events are applied when nothing at their station happened since."""

from __future__ import annotations

from server.engine import AttemptFinished, CommandRejected, EngineEvent, LaneStationConfig, LateEvent, TimingEngine

L = 300_000


def us(s: float) -> int:
    return round(s * 1_000_000)


def _lane_running() -> tuple[TimingEngine, float]:
    e = TimingEngine(lateness_us=L)
    e.configure_station(LaneStationConfig("lane1"))
    e.arm(["lane1"], {"lane1": "a1"}, us(1.0))
    t = e.go("lane1", us(1.0))["lane1"] / 1e6
    e.advance(us(t) + L + 1)
    e.ingest(EngineEvent("lane1", "start", "break", us(t + 0.6)))
    return e, t


def test_a_finish_held_back_by_a_stall_gives_the_right_time_and_the_next_run_arms():
    e, t = _lane_running()
    e.advance(us(t + 9.0))  # the watermark passed the finish before it arrived
    assert e.ingest(EngineEvent("lane1", "finish", "break", us(t + 7.9))) is True
    out = e.advance(us(t + 9.1))
    (done,) = [o for o in out if isinstance(o, AttemptFinished)]
    assert done.result.status == "OK" and done.result.time_s == 7.9   # from the GO signal, as in time
    assert any(w.startswith("late_event:finish_break") for w in done.result.warnings)
    assert [o.used for o in out if isinstance(o, LateEvent)] == [True]
    e.arm(["lane1"], {"lane1": "a2"}, us(t + 9.2))
    assert not [o for o in e.advance(us(t + 9.6)) if isinstance(o, CommandRejected)]


def test_a_late_event_older_than_a_command_at_its_station_is_not_used():
    e, t = _lane_running()
    e.stop("lane1", us(t + 5.0))              # the instructor stopped the run at +5 s
    e.advance(us(t + 9.0))
    assert e.ingest(EngineEvent("lane1", "finish", "break", us(t + 4.0))) is False
    assert e.stats["late"] == 1 and e.stats["late_used"] == 0


def _sled_pull(e: TimingEngine, t0: float, upto: float | None, frm: float = 0.0):
    """Wheel (accelerating: 2 m at 2.3 s) and force samples every 10 ms from t0 + frm to t0 + upto (s)."""
    from server.engine import EngineEvent as Ev
    force, wheel = [], []
    k = int(frm * 100)
    while (k / 100) < upto:
        at = t0 + k / 100
        force.append(Ev("sled1", "force", "force", us(at), 200.0 + k))
        wheel.append(Ev("sled1", "wheel", "position", us(at), 0.5 * max(0.0, k / 100 - 0.3) ** 2))
        k += 1
    return force, wheel


def _sled_after_go() -> tuple[TimingEngine, float]:
    """A 2 m GO_COUNTDOWN sled at rest, armed at 1 s and sent GO; the GO signal time (s)."""
    from server.engine import SledStationConfig
    e = TimingEngine(lateness_us=L)
    e.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    e.ingest(EngineEvent("sled1", "wheel", "position", us(0.5), 0.0))
    e.arm(["sled1"], {"sled1": "a1"}, us(1.0))
    return e, e.go("sled1", us(1.0))["sled1"] / 1e6


def test_a_running_sled_uses_late_force_and_wheel_batches_of_a_stall_in_either_order():
    results = []
    for stalled in (False, True):
        e, t = _sled_after_go()
        force, wheel = _sled_pull(e, t, 5.0)
        before = [ev for ev in force + wheel if ev.t_us < us(t + 2.0)]
        during = [ev for ev in force + wheel if ev.t_us >= us(t + 2.0)]
        for ev in before:
            e.ingest(ev)
        outs = e.advance(us(t + 2.0))
        if stalled:  # the hub froze 1 s: the force batch arrives first, then the wheel's (older samples)
            outs += e.advance(us(t + 3.2))
            for ev in sorted(during, key=lambda ev: ev.role != "force"):
                e.ingest(ev)
        else:
            for ev in during:
                e.ingest(ev)
        outs += e.advance(us(t + 6.0))
        (done,) = [o for o in outs if isinstance(o, AttemptFinished)]
        results.append(done.result)
    on_time, after_stall = results
    assert after_stall.time_s == on_time.time_s and after_stall.status == "OK"
    assert any(w.startswith("late_event:") for w in after_stall.warnings)


def test_late_warnings_are_one_per_role_and_kind():
    e, t = _lane_running()
    e.advance(us(t + 9.0))
    for dt in (7.0, 7.1, 7.2):  # three late re-breaks of the start beam, then the finish
        e.ingest(EngineEvent("lane1", "start", "restore", us(t + dt)))
    e.ingest(EngineEvent("lane1", "finish", "break", us(t + 7.9)))
    (done,) = [o for o in e.advance(us(t + 9.1)) if isinstance(o, AttemptFinished)]
    late = [w for w in done.result.warnings if w.startswith("late_event:")]
    assert [w.rsplit("_", 2)[0] for w in late] == ["late_event:start_restore", "late_event:finish_break"]


def test_an_idle_sled_keeps_late_force_and_wheel_samples_each_in_its_own_order():
    from server.engine import SledStationConfig
    e = TimingEngine(lateness_us=L)
    e.configure_station(SledStationConfig("sled1", distance_m=2.0))
    e.ingest(EngineEvent("sled1", "wheel", "position", us(1.0), 0.0))
    e.advance(us(2.5))  # watermark 2.2 s
    assert e.ingest(EngineEvent("sled1", "force", "force", us(1.9), 3.0)) is True     # late, applied
    assert e.ingest(EngineEvent("sled1", "wheel", "position", us(1.8), 0.01)) is True  # older than the force
    assert e.stats["late_used"] == 2 and e.stats["late"] == 0


def test_a_stall_longer_than_the_duplicate_window_still_costs_no_finish():
    e, t = _lane_running()
    for k in range(400):  # enough processed samples for pruning to forget the old ones
        e.ingest(EngineEvent("lane1", "start", "restore", us(t + 0.61 + k * 0.001)))
    e.advance(us(t + 1.5))
    e.advance(us(t + 12.0))  # a 10 s stall: the watermark is far past the finish and past the 2 s window
    assert e.ingest(EngineEvent("lane1", "finish", "break", us(t + 7.9))) is True
    (done,) = [o for o in e.advance(us(t + 12.1)) if isinstance(o, AttemptFinished)]
    assert done.result.time_s == 7.9
    assert e.ingest(EngineEvent("lane1", "finish", "break", us(t + 7.9))) is False  # its copy: not again


def test_a_refused_arm_during_the_stall_does_not_cost_the_finish():
    """The instructor (or a bench driver) arms the next run while the finish is still held back: the
    arm is refused (the station is busy) and changed nothing, so the late finish still counts."""
    e, t = _lane_running()
    e.arm(["lane1"], {"lane1": "a2"}, us(t + 8.5))
    out = e.advance(us(t + 9.0))
    assert [o.command for o in out if isinstance(o, CommandRejected)] == ["arm"]
    assert e.ingest(EngineEvent("lane1", "finish", "break", us(t + 7.9))) is True
    (done,) = [o for o in e.advance(us(t + 9.1)) if isinstance(o, AttemptFinished)]
    assert done.result.attempt_id == "a1" and done.result.time_s == 7.9


def test_a_running_sled_uses_late_force_samples_that_arrive_out_of_order():
    """After a stall the force batch arrives reordered (a later batch first): a running sled's force only
    feeds the curve and the force figures, so the older samples go in in time order — the same peak and
    mean force as in time — and a copy of one of them is still a duplicate."""
    results = []
    for reordered in (False, True):
        e, t = _sled_after_go()
        force, wheel = _sled_pull(e, t, 5.0)
        for ev in wheel + [f for f in force if f.t_us < us(t + 1.0)]:
            e.ingest(ev)
        outs = e.advance(us(t + 1.0))
        stalled = [f for f in force if us(t + 1.0) <= f.t_us < us(t + 1.6)]
        if reordered:  # a 1 s stall: the newest half of the stall's force arrives first, then the rest
            outs += e.advance(us(t + 1.9))
            newer, older = stalled[len(stalled) // 2:], stalled[:len(stalled) // 2]
            assert all(e.ingest(ev) for ev in newer + older)
            assert e.ingest(older[3]) is False   # a copy: not counted twice
        else:
            for ev in stalled:
                e.ingest(ev)
        for ev in force:
            if ev.t_us >= us(t + 1.6):
                e.ingest(ev)
        outs += e.advance(us(t + 6.0))
        (done,) = [o for o in outs if isinstance(o, AttemptFinished)]
        results.append(done.result)
    on_time, after_stall = results
    assert after_stall.status == on_time.status == "OK" and after_stall.time_s == on_time.time_s
    for key in ("peak_force_n", "mean_force_n", "peak_power_w"):
        assert after_stall.metrics[key] == on_time.metrics[key], key
    assert e.stats["late"] == 0 and e.stats["late_used"] >= len(stalled)


def test_a_late_force_sample_that_could_decide_the_reaction_keeps_its_order():
    """Between GO and the reaction, force decides the reaction time: an older force sample after a newer
    one was processed is not used (its order matters), as before."""
    from server.engine import SledStationConfig
    e = TimingEngine(lateness_us=L)
    e.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    e.ingest(EngineEvent("sled1", "wheel", "position", us(0.5), 0.0))
    e.arm(["sled1"], {"sled1": "a1"}, us(1.0))
    t = e.go("sled1", us(1.0))["sled1"] / 1e6
    e.ingest(EngineEvent("sled1", "force", "force", us(t + 0.05), 1.0))
    e.advance(us(t + 1.0))
    assert e.ingest(EngineEvent("sled1", "force", "force", us(t + 0.02), 500.0)) is False
    assert e.stats["late"] == 1
