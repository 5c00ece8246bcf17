"""ClockSync: offset math, min-RTT selection, boots, expiry — against simulated node clocks."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.hub.clock_sync import ClockSync
from server.protocol import ClockPong


class SimulatedNode:
    """A node whose clock reads ``t_hub - offset_us``; links with fixed base delays plus random queueing."""

    def __init__(self, offset_us: int, up_us: int, down_us: int, queue_mean_us: float, seed: int = 1,
                 processing_us: int = 0, sends_t_tx: bool = False, boot_id: str = "b1"):
        self.offset_us, self.up_us, self.down_us = offset_us, up_us, down_us
        self.queue_mean_us = queue_mean_us
        self.processing_us, self.sends_t_tx = processing_us, sends_t_tx
        self.boot_id = boot_id
        self.rng = random.Random(seed)

    def queue(self) -> int:
        return int(self.rng.expovariate(1 / self.queue_mean_us)) if self.queue_mean_us else 0

    def exchange(self, sync: ClockSync, node: str, t1: int):
        """Ping at hub time t1; returns the sample (or None) and the hub time the pong arrived."""
        _, payload = sync.ping(node, t1)
        n = json.loads(payload)["n"]
        t_arrive = t1 + self.up_us + self.queue()            # hub time the ping reaches the node
        t_send = t_arrive + self.processing_us
        t4 = t_send + self.down_us + self.queue()
        t2, t3 = t_arrive - self.offset_us, t_send - self.offset_us
        pong = ClockPong(node, self.boot_id, n, t2, t4, t3 if self.sends_t_tx else None)
        return sync.pong(pong), t4


def run(sync, sim, pings=16, node="sled1", start_us=1_000_000, interval_us=2_000_000):
    samples = []
    for i in range(pings):
        sample, _ = sim.exchange(sync, node, start_us + i * interval_us)
        samples.append(sample)
    return samples


@pytest.mark.parametrize("offset_us", [-5_000_000, -1234, 0, 777, 5_000_000])
def test_symmetric_links_give_the_exact_offset(offset_us):
    sync = ClockSync()
    run(sync, SimulatedNode(offset_us, up_us=1500, down_us=1500, queue_mean_us=0), pings=3)
    assert sync.offset_us("sled1") == offset_us
    assert sync.jitter_us("sled1") == 0 and 1500 <= sync.error_bound_us("sled1") <= 1500 + 400  # + 100 ppm × age
    assert sync.to_hub_us("sled1", 10_000_000) == 10_000_000 + offset_us


@pytest.mark.parametrize("offset_us", [-5_000_000, 5_000_000])
@pytest.mark.parametrize("up_us, down_us", [(500, 4500), (4500, 500), (2000, 2000)])
def test_min_rtt_sample_is_within_half_its_rtt_despite_queueing(offset_us, up_us, down_us):
    sync = ClockSync()
    sim = SimulatedNode(offset_us, up_us, down_us, queue_mean_us=20_000, seed=offset_us + up_us)
    samples = run(sync, sim)
    best = min(samples, key=lambda s: s.rtt_us)
    error = sync.offset_us("sled1") - offset_us
    assert abs(error) <= sync.error_bound_us("sled1") <= best.rtt_us  # a blend of the best few samples
    # what is left: the asymmetry of the base delays, (down - up) / 2, and the best sample's own queueing,
    # which min-RTT selection keeps far below the mean queueing delay (20 ms)
    best_queueing_us = best.rtt_us - up_us - down_us
    assert abs(error - (down_us - up_us) / 2) <= best_queueing_us / 2 + 1
    assert best_queueing_us < 20_000
    # whereas a sample taken at random can be far off
    worst_error = max(abs(s.offset_us - offset_us) for s in samples)
    assert worst_error > 3 * abs(error) and worst_error > 10_000
    assert sync.jitter_us("sled1") > 5_000


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(offset_us=st.integers(-5_000_000, 5_000_000), up_us=st.integers(0, 50_000), down_us=st.integers(0, 50_000),
       queue=st.integers(0, 100_000), seed=st.integers(0, 1000), processing_us=st.integers(0, 10_000),
       sends_t_tx=st.booleans())
def test_the_true_offset_is_always_within_the_error_bound(offset_us, up_us, down_us, queue, seed, processing_us,
                                                          sends_t_tx):
    sync = ClockSync()
    run(sync, SimulatedNode(offset_us, up_us, down_us, queue, seed, processing_us, sends_t_tx), pings=6)
    assert abs(sync.offset_us("sled1") - offset_us) <= sync.error_bound_us("sled1")


def test_t_tx_removes_the_nodes_processing_time():
    slow = dict(offset_us=42_000, up_us=1000, down_us=1000, queue_mean_us=0, processing_us=6000)
    without, with_tx = ClockSync(), ClockSync()
    run(without, SimulatedNode(**slow), pings=2)
    run(with_tx, SimulatedNode(**slow, sends_t_tx=True), pings=2)
    assert without.offset_us("sled1") - 42_000 == 3000  # half the processing time, wrongly
    assert with_tx.offset_us("sled1") == 42_000
    assert with_tx.describe("sled1")["rtt_us"] == 2000


def test_keeps_the_last_16_samples_of_a_boot():
    sync = ClockSync()
    sim = SimulatedNode(0, 1000, 1000, queue_mean_us=0)
    sim.up_us = 0  # a first, very good sample ...
    run(sync, sim, pings=1)
    assert sync.error_bound_us("sled1") == 500
    sim.up_us = 1000
    run(sync, sim, pings=16, start_us=10_000_000)  # ... pushed out by 16 later ones
    d = sync.describe("sled1")
    assert d["samples"] == 16 and d["rtt_us"] == 2000 and d["pongs"] == 17


def test_a_new_boot_starts_afresh_and_the_old_boot_keeps_its_offset():
    sync = ClockSync(boots_per_node=2)
    run(sync, SimulatedNode(1_000_000, 1000, 1000, 0, boot_id="b1"), pings=3)
    assert sync.offset_us("sled1", "b1") == 1_000_000
    run(sync, SimulatedNode(-3_000_000, 1000, 1000, 0, boot_id="b2"), pings=1, start_us=100_000_000)
    assert sync.offset_us("sled1") == -3_000_000 and sync.describe("sled1")["samples"] == 1
    # a backlog of the old boot, delivered after the reboot, is still placed with its own offset
    assert sync.to_hub_us("sled1", 5, boot_id="b1") == 1_000_005
    run(sync, SimulatedNode(7, 1000, 1000, 0, boot_id="b3"), pings=1, start_us=200_000_000)
    assert sync.offset_us("sled1", "b1") is None  # only the last boots_per_node boots are kept
    assert sync.offset_us("sled1", "b2") == -3_000_000 and sync.offset_us("sled1", "b3") == 7


def test_unanswered_pings_expire_and_late_or_unknown_pongs_are_ignored():
    sync = ClockSync(ping_timeout_us=2_000_000, max_pending=4)
    for i in range(10):
        sync.ping("sled1", i * 100_000)
    assert sync.describe("sled1")["pending"] == 4 and sync.describe("sled1")["expired"] == 6
    assert sync.pong(ClockPong("sled1", "b1", 9, 1, 900_000 + 2_000_001)) is None  # answered too late
    assert sync.pong(ClockPong("sled1", "b1", 0, 1, 100_000)) is None              # long gone
    assert sync.pong(ClockPong("sled1", "b1", 99, 1, 100_000)) is None             # never sent
    assert sync.pong(ClockPong("other", "b1", 0, 1, 100_000)) is None              # unknown node
    sync.ping("sled1", 10_000_000)  # expires the rest on the way
    d = sync.describe("sled1")
    assert (d["pending"], d["expired"], d["unmatched"], d["samples"]) == (1, 10, 2, 0)
    assert sync.offset_us("sled1") is None and sync.jitter_us("sled1") is None
    assert sync.describe("nobody") == {}


def test_a_duplicate_pong_is_used_once_and_impossible_times_are_dropped():
    sync = ClockSync()
    sync.ping("sled1", 1000)
    assert sync.pong(ClockPong("sled1", "b1", 0, 50, 3000)) is not None
    assert sync.pong(ClockPong("sled1", "b1", 0, 50, 3000)) is None
    sync.ping("sled1", 5000)
    assert sync.pong(ClockPong("sled1", "b1", 1, 100, 6000, t_node_tx_us=5000)) is None  # processing > rtt
    sync.ping("sled1", 7000)
    assert sync.pong(ClockPong("sled1", "b1", 2, 100, 8000, t_node_tx_us=99)) is None  # answered before asked
    assert sync.describe("sled1")["invalid"] == 2


def test_reset_forgets_samples_and_pending_pings():
    sync = ClockSync()
    run(sync, SimulatedNode(5, 10, 10, 0), pings=2)
    sync.ping("sled1", 99_000_000)
    sync.reset("sled1")
    assert sync.offset_us("sled1") is None and sync.describe("sled1")["pending"] == 0
    sync.reset("never-seen")


def test_ping_payload_and_topic():
    sync = ClockSync()
    assert sync.ping("sled1", 0) == ("sledhub/v1/node/sled1/clock/ping", b'{"v":1,"n":0}')
    assert sync.ping("sled1", 1)[1] == b'{"v":1,"n":1}'
    with pytest.raises(ValueError):
        sync.ping("bad id", 0)
    assert sync.describe("bad id") == {}


# held lines: a run's times placed with one line ------------------------------------------------------
def young_then_better(sync: ClockSync, node: str = "sled1") -> SimulatedNode:
    """One slow exchange (a young estimate, ms off because the link was lopsided), then the node is
    there to answer better ones."""
    sim = SimulatedNode(250_000, up_us=4_800, down_us=200, queue_mean_us=0)
    sim.exchange(sync, node, 1_000_000)
    sim.up_us = 150
    return sim


def test_a_held_node_places_a_runs_times_with_the_line_of_its_first_time():
    sync = ClockSync()
    sim = young_then_better(sync)
    sync.hold_only({"sled1"})
    assert sync.held("sled1")
    t_start = 1_200_000 - sim.offset_us                  # the start beam, on the node's clock
    start = sync.to_hub_us("sled1", t_start)
    for k in range(4):                                   # better answers arrive mid-run
        sim.exchange(sync, "sled1", 1_300_000 + k * 250_000)
    t_finish = t_start + 3_217_123
    assert sync.to_hub_us("sled1", t_finish) - start == t_finish - t_start   # exact on the node's clock
    live = ClockSync()                                   # the same exchanges, not held: the finish moves
    sim2 = young_then_better(live)
    live_start = live.to_hub_us("sled1", t_start)
    for k in range(4):
        sim2.exchange(live, "sled1", 1_300_000 + k * 250_000)
    assert abs(live.to_hub_us("sled1", t_finish) - live_start - (t_finish - t_start)) > 2_000
    assert sync.describe("sled1")["held"] is True


def test_a_hold_takes_the_line_of_the_first_time_placed_and_a_release_the_live_one():
    sync, live = ClockSync(), ClockSync()                # fed the same answers; live is never held
    sims = [young_then_better(sync), young_then_better(live)]
    sync.hold_only({"sled1"})
    for k in range(2):  # held, but no time placed yet: the line goes on improving
        for sim, s in zip(sims, (sync, live)):
            sim.exchange(s, "sled1", 1_300_000 + k * 250_000)
    assert sync.offset_us("sled1", t_node_us=3_000_000) == live.offset_us("sled1", t_node_us=3_000_000)
    for k in range(2, 6):
        for sim, s in zip(sims, (sync, live)):
            sim.exchange(s, "sled1", 1_300_000 + k * 250_000)
    moved = live.offset_us("sled1", t_node_us=3_000_000)
    held = sync.offset_us("sled1", t_node_us=3_000_000)
    assert held != moved                                 # held: the line of the first time placed
    sync.hold_only(set())                                # the run ended
    assert not sync.held("sled1") and sync.describe("sled1")["held"] is False
    assert sync.offset_us("sled1", t_node_us=3_000_000) == moved


def test_describe_shows_the_offset_times_are_placed_with_and_its_bound_without_taking_a_hold():
    """``/api/nodes`` shows the offset a time placed now gets (the held line while held, else the live
    blend) with the bound of that same line; reading it takes no hold."""
    sync = ClockSync()
    sim = young_then_better(sync)

    def exchange(k: int) -> int:  # the node time of the sample (its pong went at once)
        t1 = 1_300_000 + k * 250_000
        sim.exchange(sync, "sled1", t1)
        return t1 + sim.up_us - sim.offset_us
    for k in range(3):
        latest = exchange(k)
        assert sync.describe("sled1")["offset_us"] == sync.offset_us("sled1", t_node_us=latest)
    sync.hold_only({"sled1"})
    sync.describe("sled1")
    assert sync._boot("sled1", None).held is None        # reading it took no hold
    sync.to_hub_us("sled1", latest)                      # a time placed: the line is held from here
    for k in range(3, 9):
        latest = exchange(k)
    held = sync.describe("sled1")
    assert held["offset_us"] == sync.offset_us("sled1", t_node_us=latest)
    assert held["error_bound_us"] == sync.error_bound_us("sled1")
    sync.hold_only(set())                                # the run ended: the live line again
    live = sync.describe("sled1")
    assert live["offset_us"] == sync.offset_us("sled1", t_node_us=latest) != held["offset_us"]
    for shown in (held, live):
        assert abs(shown["offset_us"] - sim.offset_us) <= shown["error_bound_us"]


def test_a_held_lines_bound_grows_with_the_time_since_it_was_taken():
    sync = ClockSync()
    sim = SimulatedNode(0, 1000, 1000, queue_mean_us=0)
    sim.exchange(sync, "sled1", 1_000_000)
    sync.hold_only({"sled1"})
    sync.to_hub_us("sled1", 1_000_000)
    taken = sync.error_bound_us("sled1")
    sim.exchange(sync, "sled1", 11_000_000)             # 10 s later: 100 ppm unfitted drift = 1 ms more
    assert sync.error_bound_us("sled1") == taken + 1_000
    sync.hold_only(set())
    assert sync.error_bound_us("sled1") < taken + 1_000  # the live estimate has a fresh sample


def test_a_held_line_the_live_estimate_proves_wrong_is_let_go_and_counted():
    sync = ClockSync()
    sim = SimulatedNode(0, 100, 100, queue_mean_us=0)
    run(sync, sim, pings=4, start_us=1_000_000, interval_us=250_000)
    sync.hold_only({"sled1"})
    assert sync.to_hub_us("sled1", 2_000_000) == 2_000_000
    sim.offset_us = 40_000                               # the node's clock was stepped: 40 ms
    run(sync, sim, pings=16, start_us=3_000_000, interval_us=250_000)
    assert sync.describe("sled1")["hold_breaks"] == 1
    assert sync.offset_us("sled1", t_node_us=8_000_000) == 40_000  # placed with the live line again
    assert sync.held("sled1")                            # still held: from this line on


def test_a_node_never_held_has_no_breaks_and_holding_unknown_nodes_is_harmless():
    sync = ClockSync()
    sync.hold_only({"ghost"})
    assert sync.offset_us("ghost") is None and sync.error_bound_us("ghost") is None
    sync.hold_only(set())
    run(sync, SimulatedNode(5, 10, 10, 0), pings=2)
    assert sync.describe("sled1")["hold_breaks"] == 0 and sync.describe("sled1")["held"] is False


def test_a_line_held_for_two_minutes_is_renewed():
    """A node serving stations whose attempts overlap may be held all class long: its held line is
    renewed from the live estimate once it is max_hold_us old, so its bound (and its drift error)
    cannot grow without end."""
    sync = ClockSync(max_hold_us=120_000_000)
    sim = SimulatedNode(0, 500, 500, queue_mean_us=0)
    sim.exchange(sync, "sled1", 1_000_000)
    sync.hold_only({"sled1"})
    sync.to_hub_us("sled1", 1_000_000)
    taken = sync.error_bound_us("sled1")
    sim.exchange(sync, "sled1", 100_000_000)            # 99 s later: still held, its bound aged
    assert sync.describe("sled1")["hold_renewals"] == 0 and sync.error_bound_us("sled1") > taken + 9_000
    sim.exchange(sync, "sled1", 122_000_000)            # past 2 min: renewed at this pong
    d = sync.describe("sled1")
    assert (d["hold_renewals"], d["hold_breaks"], d["held"]) == (1, 0, True)
    assert sync.error_bound_us("sled1") < taken + 1_000  # the live line's bound, fresh
