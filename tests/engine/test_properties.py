"""Property tests: ground-truth heats through node clocks, transport jitter, duplicates and reordering.

Each example draws a heat (see ``groundtruth``), sends every sensor event through a node clock
offset by up to ±5 s, corrects it as the hub does, delivers it with 0–200 ms of transport delay
(some events twice), in arrival order, with ``advance(now)`` calls interleaved at arrival times.
Every OK time must be within 1 ms of the truth and every attempt classified as the truth says;
and the results must be identical to those of the same events delivered in time order.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from server.engine import AttemptFinished, AttemptResult, LateEvent, ResultStatus, TimingEngine
from tests.engine.groundtruth import ARM_US, GO_CMD_US, Heat, heats

PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LATENESS_US = 300_000
SEEDS = st.integers(0, 2**32 - 1)   # delivery randomness (delays, duplicates, advance points)


def deliver(heat: Heat, rng: random.Random | None, lateness_us: int = LATENESS_US,
            max_delay_us: int = 200_000, dup_p: float = 0.15, advance_p: float = 0.3):
    """Feed the heat to a fresh engine; ``rng=None`` means in time order, no delay, no duplicates."""
    engine = TimingEngine(lateness_us=lateness_us)
    for s in heat.stations:
        engine.configure_station(s.config)
    arrivals: list[tuple[int, int, int, object]] = [(ARM_US, 0, 0, "arm"), (GO_CMD_US, 0, 1, "go")]
    true_times = [t for s in heat.stations for t, _, _ in s.events]
    for i, (t_true, ev) in enumerate(zip(true_times, heat.hub_events())):
        copies = 1 if rng is None else 1 + (rng.random() < dup_p)
        for _ in range(copies):
            delay = 0 if rng is None else rng.randrange(0, max_delay_us + 1)
            arrivals.append((round(t_true) + delay, 1, i, ev))
    arrivals.sort(key=lambda a: (a[0], a[1], a[2]))
    outputs, late_expected, accepted = [], 0, set()
    for at, kind, _, payload in arrivals:
        if rng is None or kind == 0 or rng.random() < advance_p:
            outputs += engine.advance(at)
        if payload == "arm":
            ids = [s.config.station_id for s in heat.stations]
            engine.arm(ids, {s.config.station_id: s.expected.attempt_id for s in heat.stations}, at, "H")
        elif payload == "go":
            t_go = engine.go("H", at, heat.go_delay_us)
            assert t_go == {s.config.station_id: heat.t_go_us(s.config) for s in heat.stations
                            if s.config.start_mode.value not in ("HOLD_IN_BEAM", "FLY_THROUGH")}
        else:
            key = (payload.station_id, payload.role, payload.kind, payload.t_us, payload.value)
            late = engine.watermark_us is not None and payload.t_us <= engine.watermark_us
            late_expected += late and key not in accepted
            if engine.ingest(payload):
                accepted.add(key)
    outputs += engine.advance(arrivals[-1][0] + 60_000_000)
    results = {o.result.attempt_id: o.result for o in outputs if isinstance(o, AttemptFinished)}
    return results, outputs, late_expected


def check(heat: Heat, results: dict[str, AttemptResult]) -> None:
    assert set(results) == {s.expected.attempt_id for s in heat.stations}
    for s in heat.stations:
        exp, r = s.expected, results[s.expected.attempt_id]
        label = f"{s.config.station_id} {s.config.start_mode.value} {s.config.false_start_policy.value}"
        event(f"{type(s.config).__name__[:4]} {s.config.start_mode.value} {exp.outcome} → {exp.status.value}")
        assert (r.status, r.reason, r.false_start) == (exp.status, exp.reason, exp.false_start), label
        if exp.status is ResultStatus.OK and exp.time_us is not None:
            assert abs(r.time_s * 1e6 - exp.time_us) <= 1_000, (label, r.time_s, exp.time_us)
            assert len(r.splits_s) == len(exp.splits_us)
            for got, want in zip(r.splits_s, exp.splits_us):
                assert abs(got * 1e6 - want) <= 1_000, (label, r.splits_s, exp.splits_us)
        if exp.reaction_us is not None:
            assert abs(r.reaction_s * 1e6 - exp.reaction_us) <= exp.reaction_tol_us, (label, r.reaction_s)


@pytest.mark.slow
@PROPS
@given(heat=heats(kinds=("lane",)), seed=SEEDS)
def test_lane_heats_match_ground_truth_whatever_the_delivery(heat, seed):
    results, outputs, _ = deliver(heat, random.Random(seed))
    check(heat, results)
    assert not [o for o in outputs if isinstance(o, LateEvent)]
    assert results == deliver(heat, None)[0]


@pytest.mark.slow
@settings(PROPS, max_examples=25)
@given(heat=heats(kinds=("sled",), max_stations=2), seed=SEEDS)
def test_sled_heats_match_ground_truth_whatever_the_delivery(heat, seed):
    results, outputs, _ = deliver(heat, random.Random(seed))
    check(heat, results)
    assert not [o for o in outputs if isinstance(o, LateEvent)]
    assert results == deliver(heat, None)[0]


@pytest.mark.slow
@settings(PROPS, max_examples=20)
@given(heat=heats(), seed=SEEDS)
def test_mixed_heats_match_ground_truth(heat, seed):
    check(heat, deliver(heat, random.Random(seed))[0])


@settings(PROPS, max_examples=30)
@given(heat=heats(kinds=("lane",)), seed=SEEDS)
def test_events_beyond_the_lateness_bound_are_reported(heat, seed):
    _, outputs, late_expected = deliver(heat, random.Random(seed), lateness_us=50_000, max_delay_us=400_000)
    late = [o for o in outputs if isinstance(o, LateEvent)]
    assert len(late) == late_expected
    assert all(o.event.t_us <= o.watermark_us for o in late)
