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
