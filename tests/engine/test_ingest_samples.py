"""``ingest_samples`` (a telemetry batch without event objects) behaves exactly like ``ingest`` per event."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import EngineEvent, SledStationConfig, TimingEngine

L = 300_000
values = st.one_of(st.none(), st.floats(-5, 50), st.sampled_from([float("inf"), float("nan")]))
samples = st.tuples(st.integers(0, 3_000_000), values, st.integers(-1000, 1000))
# unordered batches, and ordered ones like a node's
batch = st.one_of(st.lists(samples, max_size=12),
                  st.lists(samples, max_size=12).map(lambda b: sorted(b, key=lambda s: s[0])),
                  st.lists(st.tuples(st.integers(0, 3_000_000), st.floats(-5, 50), st.integers(-1000, 1000)),
                           max_size=12, unique_by=lambda s: s[0]).map(sorted))
batches = st.lists(st.tuples(st.sampled_from(["wheel", "force", "nope"]), batch,
                             st.integers(-2_000_000, 2_000_000), st.booleans()), max_size=12)


def _engine() -> TimingEngine:
    engine = TimingEngine(lateness_us=L)
    engine.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
    engine.arm(["sled1"], {"sled1": "a1"}, 1)
    engine.go("sled1", 2)
    return engine


def _kind(role: str) -> str:
    return "force" if role == "force" else "position"


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(batches, st.sampled_from(["sled1", "elsewhere"]))
def test_a_batch_is_ingested_as_its_events_would_be(plan, station):
    by_event, by_batch = _engine(), _engine()
    for role, batch, offset, advance in plan:
        n_events = sum(by_event.ingest(EngineEvent(station, role, _kind(role), t + offset, v, r))
                       for t, v, r in batch)
        n_batch = by_batch.ingest_samples(station, role, _kind(role), batch, offset)
        assert n_batch == n_events
        if advance and batch:  # move the watermark: later samples may be late or duplicates
            t_adv = max(t for t, _, _ in batch) + offset
            if t_adv > (by_event.watermark_us or 0):
                assert repr(by_event.advance(t_adv)) == repr(by_batch.advance(t_adv))
    assert by_event.stats == by_batch.stats
    assert by_event.pending_events == by_batch.pending_events
    end = 10_000_000
    assert repr(by_event.advance(end)) == repr(by_batch.advance(end))


def test_a_sample_at_the_watermark_is_late_and_a_repeat_is_a_duplicate():
    engine = _engine()
    engine.ingest_samples("sled1", "wheel", "position", [(1_000_000, 0.1, 20), (1_100_000, 0.2, 40)])
    engine.advance(1_100_000 + L)  # the watermark: now − the lateness bound
    assert engine.ingest_samples("sled1", "wheel", "position", [(1_100_000, 0.25, 50)]) == 0
    assert engine.stats["late"] == 1
    assert engine.ingest_samples("sled1", "wheel", "position", [(1_000_000, 0.1, 20)]) == 0
    assert engine.stats["duplicates"] == 1
    assert engine.ingest_samples("sled1", "wheel", "position", [(1_200_000, 0.3, 60), (1_200_000, 0.3, 60)]) == 1
    assert engine.stats["duplicates"] == 2



commands = st.lists(st.tuples(st.integers(0, 3_000_000), st.sampled_from(["arm", "go", "stop", "abort"])),
                    max_size=6)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(batches, commands, st.lists(st.integers(0, 3_500_000), min_size=1, max_size=8))
def test_an_idle_sleds_samples_skimmed_give_what_handling_each_gives(plan, cmds, advances):
    """A sled not recording (idle, armed) keeps only each role's last sample: ``skim`` applies a
    stretch of samples in one call; with commands and timers interleaved anywhere, every output, the
    last values and the ignored count are those of handling them one by one."""
    def engine(skimming: bool) -> TimingEngine:
        e = TimingEngine(lateness_us=L)
        e.configure_station(SledStationConfig("sled1", distance_m=2.0, start_mode="GO_COUNTDOWN"))
        if not skimming:
            e._stations["sled1"].skim = lambda role, entries: False
        return e
    skimmed, each = engine(True), engine(False)
    serial = 0
    events = sorted([(t, "cmd", name) for t, name in cmds] + [(a, "advance", None) for a in advances],
                    key=lambda x: x[0])
    for (role, batch, offset, _), (t, what, name) in zip(plan, events + [(None, None, None)] * len(plan)):
        for e in (skimmed, each):
            e.ingest_samples("sled1", role, _kind(role), batch, offset)
        if what == "cmd":
            serial += 1
            for e in (skimmed, each):
                if name == "arm":
                    e.arm(["sled1"], {"sled1": f"a{serial}"}, t)
                elif name == "go":
                    e.go("sled1", t)
                elif name == "stop":
                    e.stop("sled1", t)
                else:
                    e.abort("sled1", t, "test")
        elif what == "advance" and t > (each.watermark_us or 0) + L:
            assert repr(skimmed.advance(t)) == repr(each.advance(t))
    assert repr(skimmed.advance(10_000_000)) == repr(each.advance(10_000_000))
    a, b = skimmed._stations["sled1"], each._stations["sled1"]
    assert (a.last_pos, a.last_force, a.ignored_events) == (b.last_pos, b.last_force, b.ignored_events)
    assert skimmed.stats == each.stats
