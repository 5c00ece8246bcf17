"""ClockSync follows node clock drift (±100 ppm) so an hour-long class stays within the 1 ms bound.

The node's clock is simulated with an injected rate: ``t_node = t_hub · (1 + drift) - offset``; pings
go every 2 s over links with a base delay and random queueing (exponential, plus rare 30 ms spikes).
After every exchange the hub places a node edge stamped "now" and "1.9 s from now" (the latest an
edge is placed before the next ping) and the error against the true hub time is checked.
"""

from __future__ import annotations

import json
import random

import pytest

from server.hub.clock_sync import ClockSync
from server.protocol import ClockPong

HOUR_US = 3_600_000_000
PING_US = 2_000_000


class DriftingNode:
    def __init__(self, drift_ppm: float, offset_us: int, seed: int):
        self.rate = 1 + drift_ppm * 1e-6
        self.offset_us = offset_us
        self.rng = random.Random(seed)

    def clock(self, t_hub_us: float) -> int:
        return round(t_hub_us * self.rate) - self.offset_us

    def hub_time(self, t_node_us: int) -> float:
        return (t_node_us + self.offset_us) / self.rate

    def delay(self) -> int:
        spike = 30_000 if self.rng.random() < 0.05 else 0
        return 300 + int(self.rng.expovariate(1 / 800)) + spike

    def exchange(self, sync: ClockSync, t1: int) -> None:
        _, payload = sync.ping("n1", t1)
        t_arrive = t1 + self.delay()
        t4 = t_arrive + self.delay()
        sync.pong(ClockPong("n1", "b1", json.loads(payload)["n"], self.clock(t_arrive), t4))


def worst_error_us(sync: ClockSync, node: DriftingNode, from_us: int = 0, to_us: int = HOUR_US) -> float:
    """Exchanges every 2 s from ``from_us`` to ``to_us`` (hub time); the worst placement error (µs)."""
    worst = 0.0
    for i in range(from_us // PING_US, to_us // PING_US):
        t = 1_000_000 + i * PING_US
        node.exchange(sync, t)
        for ahead_us in (100_000, 1_900_000):
            t_node = node.clock(t + ahead_us)
            worst = max(worst, abs(sync.to_hub_us("n1", t_node, "b1") - node.hub_time(t_node)))
    return worst


@pytest.mark.parametrize("drift_ppm, seed", [(-100.0, 1), (-37.5, 2), (0.0, 3), (52.0, 4), (100.0, 5), (100.0, 2)])
def test_an_hour_at_up_to_100_ppm_stays_within_1_ms(drift_ppm, seed):
    node = DriftingNode(drift_ppm, offset_us=4_900_000, seed=seed)
    sync = ClockSync()
    worst_error_us(sync, node, 0, 16 * PING_US)  # the first exchanges: as good as a single sample is
    # before the drift is fitted (the first ≈ 4 min), the anchor's queueing and up to 100 ppm of drift
    # since it: about 1 ms on these links (≈ 1 ms mean queueing each way, 5 % spikes of 30 ms)
    assert worst_error_us(sync, node, 16 * PING_US, 256_000_000) <= 1_250
    assert worst_error_us(sync, node, 256_000_000) <= 400, "drift-corrected placement, far inside 1 ms"
    assert sync.drift_ppm("n1") == pytest.approx(drift_ppm, abs=2.0)


def test_without_drift_correction_100_ppm_breaks_the_1_ms_bound():
    """What the fit is for: a constant offset (the min-RTT sample alone) is up to 3.2 ms off at 100 ppm."""
    node = DriftingNode(100.0, offset_us=0, seed=3)
    constant = ClockSync(min_fit_span_us=10 * HOUR_US)
    assert worst_error_us(constant, node, 0, 600_000_000) > 1_000


def test_a_clock_whose_drift_changes_is_followed():
    """Crystals drift with temperature: the fit forgets samples older than its window (≈ 256 s)."""
    node = DriftingNode(-80.0, offset_us=-4_700_000, seed=5)
    sync = ClockSync()
    worst_error_us(sync, node, 0, 600_000_000)
    node.rate = 1 + 60e-6  # warmed up: now fast; the node's clock keeps running continuously
    t0 = 1_000_000 + 300 * PING_US
    node.offset_us += round(t0 * 60e-6) - round(t0 * -80e-6)
    assert sync.drift_ppm("n1") == pytest.approx(-80.0, abs=2.0)
    window = sync.window_samples
    worst = 0.0
    for i in range(300, 900):
        t = 1_000_000 + i * PING_US
        node.exchange(sync, t)
        if i >= 300 + window:  # once the window holds only the new rate
            t_node = node.clock(t + 1_000_000)
            worst = max(worst, abs(sync.to_hub_us("n1", t_node, "b1") - node.hub_time(t_node)))
    assert worst <= 400
    assert sync.drift_ppm("n1") == pytest.approx(60.0, abs=2.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_offset_moves_smoothly_from_ping_to_ping(seed):
    """A run's start and finish, seconds apart on one node, must see nearly the same offset error: the
    offset blends the best few samples instead of jumping to whichever is best now (tests/accuracy/FINDINGS.md F12:
    1 ms jumps on a loaded machine; on these links a single best sample jumped by 340–514 µs)."""
    node = DriftingNode(100.0, offset_us=-4_700_000, seed=seed)
    sync = ClockSync()
    worst_error_us(sync, node, 0, 256_000_000)
    steps, previous = [], None
    for i in range(256_000_000 // PING_US, 900_000_000 // PING_US):
        t = 1_000_000 + i * PING_US
        node.exchange(sync, t)
        t_node = node.clock(t + 1_000_000)
        error = sync.to_hub_us("n1", t_node, "b1") - node.hub_time(t_node)
        if previous is not None:
            steps.append(abs(error - previous))
        previous = error
    assert max(steps) <= 250


def test_a_sample_with_a_small_rtt_but_a_wrong_node_time_is_outvoted():
    """Seen on a loaded machine (tests/accuracy/FINDINGS.md F8/F12): a pong with a 400 µs RTT whose node time was
    8 ms off. Weighted by its small bound it used to pull the offset (and the drift fit) by milliseconds."""
    node = DriftingNode(60.0, offset_us=-4_700_000, seed=4)
    sync = ClockSync()
    worst_error_us(sync, node, 0, 120_000_000)
    t1 = 1_000_000 + 60 * PING_US + 500_000
    _, payload = sync.ping("n1", t1)
    t_arrive = t1 + 200
    sync.pong(ClockPong("n1", "b1", json.loads(payload)["n"], node.clock(t_arrive) - 8_000, t_arrive + 200))
    assert worst_error_us(sync, node, 122_000_000, 160_000_000) <= 1_000
    assert sync.drift_ppm("n1") == pytest.approx(60.0, abs=5.0)
