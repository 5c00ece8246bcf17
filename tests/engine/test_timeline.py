"""The watermark: ordering, duplicates, lateness, late events, and the time-driven transitions."""

from __future__ import annotations

import random

import pytest

from server.engine import (AttemptState, EngineEvent, LaneStationConfig, LateEvent, ResultStatus, TimingEngine)
from server.engine.timeline import ControlQueue, Stream, make_entry, run

S = AttemptState


def lane_engine(lateness_us: int = 300_000) -> TimingEngine:
    e = TimingEngine(lateness_us=lateness_us)
    e.configure_station(LaneStationConfig("L1", split_roles=("split1",)))
    return e


def ev(role: str, kind: str, t_us: int) -> EngineEvent:
    return EngineEvent("L1", role, kind, t_us)


def test_nothing_happens_before_the_watermark_passes():
    e = lane_engine()
    e.arm(["L1"], {"L1": "a1"}, 1_000_000)
    assert e.advance(1_200_000) == []            # watermark 0.9 s: the arm at 1.0 s is still ahead
    assert e.state_of("L1") is S.IDLE
    out = e.advance(1_300_000)
    assert [o.state for o in out if hasattr(o, "state")][:1] == [S.ARMED]
    assert e.watermark_us == 1_000_000


def test_watermark_never_moves_back():
    e = lane_engine()
    e.advance(5_000_000)
    e.advance(1_000_000)
    assert e.watermark_us == 4_700_000


def test_events_are_processed_in_time_order_whatever_the_arrival():
    e = lane_engine()
    e.arm(["L1"], {"L1": "a1"}, 100_000)
    e.go("L1", 200_000)
    for t, role, kind in [(4_000_000, "finish", "break"), (3_300_000, "start", "restore"),
                          (3_700_000, "split1", "break"), (50_000, "start", "break")]:
        e.ingest(ev(role, kind, t))
    out = e.advance(10_000_000)
    (r,) = [o.result for o in out if type(o).__name__ == "AttemptFinished"]
    assert (r.time_s, r.splits_s, r.reaction_s) == (0.8, [0.5], 0.1)


def test_duplicates_are_dropped_while_buffered_and_after_processing():
    e = lane_engine()
    assert e.ingest(ev("start", "break", 1_000)) is True
    assert e.ingest(ev("start", "break", 1_000)) is False
    e.advance(2_000_000)
    assert e.ingest(ev("start", "break", 1_000)) is False       # a late duplicate is not "late"
    assert e.stats["duplicates"] == 2 and e.stats["late"] == 0
    assert e.advance(2_100_000) == []


def test_same_time_different_content_is_not_a_duplicate():
    e = lane_engine()
    assert e.ingest(EngineEvent("L1", "start", "break", 1_000)) is True
    assert e.ingest(EngineEvent("L1", "start", "restore", 1_000)) is True
    assert e.ingest(EngineEvent("L1", "finish", "break", 1_000)) is True
    assert e.pending_events == 3


def test_late_event_is_reported_not_used():
    e = lane_engine()
    e.ingest(ev("start", "restore", 680_000))  # the station has moved on past the late event's time
    e.advance(1_000_000)
    late = ev("start", "break", 650_000)
    assert e.ingest(late) is False
    (out,) = e.advance(1_000_001)
    assert out == LateEvent(late, 700_000) and out.used is False
    assert out.to_dict()["event"]["t_us"] == 650_000
    assert e.stats["late"] == 1 and e.stats["late_used"] == 0


def test_a_late_event_at_a_quiet_station_is_used_as_if_it_came_in_time():
    """Nothing happened at the station after its time (no event, command or timer): applying it now is
    exactly what processing it in time would have done, so a stall costs no passage."""
    e = lane_engine()
    e.ingest(ev("finish", "break", 600_000))
    e.advance(1_000_000)
    late = ev("start", "break", 650_000)
    assert e.ingest(late) is True
    (out,) = e.advance(1_000_001)
    assert out == LateEvent(late, 700_000, used=True)
    assert e.stats["late"] == 0 and e.stats["late_used"] == 1
    assert e.ingest(ev("start", "break", 650_000)) is False  # a second copy is a duplicate
    assert e.stats["duplicates"] == 1
    assert e.ingest(ev("finish", "break", 620_000)) is False  # behind the late event now applied
    assert e.stats["late"] == 1


def test_event_exactly_at_the_watermark_is_late():
    e = lane_engine()
    e.advance(1_000_000)
    e.ingest(ev("start", "break", 700_000))
    assert e.stats["late_used"] == 1 and e.pending_events == 0
    assert e.ingest(ev("start", "break", 700_001)) is True
    assert e.stats["late_used"] == 1 and e.pending_events == 1


def test_commands_must_not_be_behind_the_watermark():
    e = lane_engine()
    e.advance(1_000_000)
    with pytest.raises(ValueError, match="watermark"):
        e.arm(["L1"], {"L1": "a1"}, 700_000)


def test_unknown_station_role_and_invalid_values_are_counted():
    e = lane_engine()
    assert e.ingest(EngineEvent("nope", "start", "break", 1)) is False
    assert e.ingest(EngineEvent("L1", "wheel", "position", 1, 0.5)) is False
    assert e.ingest(EngineEvent("L1", "start", "break", 1, float("nan"))) is False
    assert e.ingest(EngineEvent("L1", "start", "fault", 2)) is True      # kept, ignored when processed
    e.advance(1_000_000)
    assert (e.stats["unknown_station"], e.stats["unknown_role"], e.stats["invalid_value"]) == (1, 1, 1)


def test_countdown_end_and_time_cap_wait_for_the_watermark():
    e = TimingEngine(lateness_us=300_000)
    e.configure_station(LaneStationConfig("L1", time_cap_s=2.0, countdown_s=1.0))
    e.arm(["L1"], {"L1": "a1"}, 0)
    e.go("L1", 100_000)
    e.advance(1_300_000)                  # watermark 1.0 s: GO (1.1 s) not yet
    assert e.state_of("L1") is S.COUNTDOWN
    e.advance(1_400_000)
    assert e.state_of("L1") is S.RUNNING
    e.ingest(ev("start", "restore", 1_200_000))
    e.advance(3_340_000)                  # watermark 3.04 s; the cap (3.1 s) is not passed yet
    assert e.state_of("L1") is S.RUNNING
    # a finish at 3.05 s arriving 290 ms late still counts: the cap waits for the watermark
    assert e.ingest(ev("finish", "break", 3_050_000))
    out = e.advance(3_500_000)
    (r,) = [o.result for o in out if type(o).__name__ == "AttemptFinished"]
    assert (r.status, r.time_s) == (ResultStatus.OK, 1.95)


def test_zero_lateness_processes_everything_up_to_now():
    e = lane_engine(lateness_us=0)
    e.arm(["L1"], {"L1": "a1"}, 10)
    e.advance(10)
    assert e.state_of("L1") is S.ARMED


def test_stream_orders_and_dedupes_out_of_order_inserts():
    st = Stream()
    rng = random.Random(1)
    evs = [EngineEvent("s", "r", "k", rng.randrange(0, 50), float(rng.randrange(3))) for _ in range(300)]
    accepted = sum(st.insert(make_entry(x)) for x in evs)
    keys = {make_entry(x) for x in evs}
    assert accepted == len(keys) and st.items == sorted(keys)


def test_processed_entries_are_pruned_after_retention():
    e = lane_engine()
    for i in range(5000):
        e.ingest(EngineEvent("L1", "split1", "break" if i % 2 == 0 else "restore", 1_000 + i * 1000))
    e.advance(10_000_000)
    e.advance(30_000_000)
    stream = e._streams["L1"]["split1"]
    assert len(stream.items) < 5000 and stream.done == len(stream.items)


def test_run_interleaves_control_entries_by_priority():
    seen: list[str] = []
    q = ControlQueue()
    q.push(10, 0, "go@10")
    q.push(10, 3, "deadline@10")
    q.push(5, 1, "cmd@5")
    batch = [(10, 2, "s", "r", "event@10", 0.0, 0)]
    run(batch, q, 20, lambda t, p: seen.append(p), {"s": {"r": lambda entry: seen.append(entry[4])}})
    assert seen == ["cmd@5", "go@10", "event@10", "deadline@10"]
