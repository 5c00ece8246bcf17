"""peek_finish: a finish shown the moment its event arrives, agreeing with the result of record."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import (AttemptFinished, EngineEvent, LaneStationConfig, ProvisionalFinish, SledStationConfig,
                           TimingEngine)

L = 300_000


def us(s: float) -> int:
    return round(s * 1_000_000)


def _running(engine: TimingEngine, station: str, t_go: float) -> int:
    engine.arm([station], {station: "a1"}, us(t_go))
    signal = engine.go(station, us(t_go) + 1)[station]
    engine.advance(signal + L + 1)
    return signal


def test_lane_finish_is_seen_at_once_and_matches_the_record():
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(LaneStationConfig("lane1", split_roles=("split1",)))
    signal = _running(engine, "lane1", 1.0)
    t = signal / 1e6
    passages = [("start", t + 0.6), ("split1", t + 4.0), ("finish", t + 7.9)]
    for role, at in passages[:2]:
        engine.ingest(EngineEvent("lane1", role, "break", us(at)))
    engine.advance(us(t + 7.0))
    split_again = EngineEvent("lane1", "split1", "break", us(t + 7.1))
    assert engine.peek_finish(split_again) is None  # not the last passage
    finish = EngineEvent("lane1", "finish", "break", us(t + 7.9))
    seen = engine.peek_finish(finish)  # before the watermark has reached the event
    assert isinstance(seen, ProvisionalFinish) and seen.attempt_id == "a1"
    engine.ingest(finish)
    record = [o for o in engine.advance(us(t + 7.9) + L + 1) if isinstance(o, AttemptFinished)][0].result
    assert record.status == "OK" and seen.time_s == record.time_s


def test_lane_finish_is_not_peeked_before_the_start_or_when_idle():
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(LaneStationConfig("lane1"))
    assert engine.peek_finish(EngineEvent("lane1", "finish", "break", us(1.0))) is None  # idle
    signal = _running(engine, "lane1", 1.0)
    assert engine.peek_finish(EngineEvent("lane1", "finish", "break", signal + us(1))) is None  # start not passed


def test_sled_finish_at_the_first_sample_beyond_the_distance():
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    engine.ingest(EngineEvent("sled1", "wheel", "position", us(0.5), 0.0))
    signal = _running(engine, "sled1", 1.0)
    t = signal / 1e6
    xs = [(t + 0.3 + i * 0.01, 0.005 * i) for i in range(1, 500)]  # 0.5 m/s
    near = [e for e in xs if e[1] < 1.99]
    for at, x in near:
        engine.ingest(EngineEvent("sled1", "wheel", "position", us(at), x))
    engine.advance(us(near[-1][0]) + 1)  # watermark well behind the finish
    before = EngineEvent("sled1", "wheel", "position", us(t + 4.29), 1.995)
    assert engine.peek_finish(before) is None
    beyond = EngineEvent("sled1", "wheel", "position", us(t + 4.31), 2.005)
    seen = engine.peek_finish(beyond)
    assert seen is not None and abs(seen.time_s - 4.31) < 0.002


def test_a_batch_is_peeked_only_while_an_attempt_runs_and_answers_its_first_finishing_sample():
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    engine.ingest(EngineEvent("sled1", "wheel", "position", us(0.5), 0.0))
    batch = [(us(5.0), 1.9, 0), (us(5.01), 2.01, 0), (us(5.02), 2.03, 0)]
    assert engine.peek_finish_samples("sled1", "wheel", "position", batch, 0) is None      # idle
    assert engine.peek_finish_samples("nowhere", "wheel", "position", batch, 0) is None
    engine.arm(["sled1"], {"sled1": "a1"}, us(1.0))
    assert engine.peek_finish_samples("sled1", "wheel", "position", batch, 0) is None      # armed
    signal = engine.go("sled1", us(1.0) + 1)["sled1"]
    engine.advance(signal + L + 1)
    offset = signal + L                                     # batch times on the node clock + offset
    seen = engine.peek_finish_samples("sled1", "wheel", "position", batch, offset)
    assert seen is not None and seen.t_us == us(5.01) + offset                              # the first beyond
    assert seen == engine.peek_finish(EngineEvent("sled1", "wheel", "position", us(5.01) + offset, 2.01, 0))
    assert engine.peek_finish_samples("sled1", "force", "force", [(us(5.0), 900.0, 0)], offset) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3_000_000), st.one_of(st.none(), st.floats(-1, 4)), st.integers(-5, 5)),
                max_size=20).map(lambda b: sorted(b, key=lambda s: s[0])),
       st.sampled_from([("wheel", "position"), ("force", "force"), ("wheel", "force")]),
       st.integers(-2_000_000, 2_000_000), st.floats(0, 1.5))
def test_a_batch_is_peeked_as_each_of_its_samples_would_be(batch, route, offset, p0):
    """A sled peeks a batch without an event per sample; the answer is the first sample that
    ``peek_finish`` says finishes, whatever the rest position, values (None too) and the offset."""
    role, kind = route
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    engine.ingest(EngineEvent("sled1", "wheel", "position", us(0.5), p0))
    _running(engine, "sled1", 1.0)
    each = next((seen for t, v, r in batch
                 if (seen := engine.peek_finish(EngineEvent("sled1", role, kind, t + offset, v, r))) is not None), None)
    assert engine.peek_finish_samples("sled1", role, kind, batch, offset) == each
