"""LiveReadings: what /setup and the sensor health checks read of every sensor's telemetry."""

from __future__ import annotations

import random

import pytest

from server.protocol import TelemetryBatch
from server.setup.readings import RECENT_RAW_MAX, LiveReadings


def batch(rx_us: int, samples: list[tuple[int, float, int]], kind: str = "force", seq: int = 0) -> TelemetryBatch:
    return TelemetryBatch("sled1", "b1", seq, "force" if kind == "force" else "wheel", kind, tuple(samples), rx_us, True)


@pytest.mark.parametrize("hz, per_batch", [(80, 4), (10, 1), (400, 20), (2_000, 64)])
def test_the_rate_is_the_samples_of_the_last_window_within_one_percent(hz, per_batch):
    """Counted per 50 ms bucket: within 1 % (a bucket of the 5 s window) and one batch of counting every
    message's samples, with jittered receipt times."""
    readings, rng = LiveReadings(window_us=5_000_000), random.Random(hz)
    period_us = round(1e6 * per_batch / hz)
    sent: list[tuple[int, int]] = []
    for k in range(round(12 * hz / per_batch)):  # 12 s of telemetry
        rx = 1_000_000 + k * period_us + rng.randrange(0, period_us // 2 + 1)
        readings.on_batch(batch(rx, [(rx - 5_000 + i, 1.0, 100 + i) for i in range(per_batch)], seq=k))
        sent.append((rx, per_batch))
        if k % 7 == 0:
            now = rx
            exact = sum(n for t, n in sent if now - t <= 5_000_000) / 5.0
            got = readings.get("sled1", "force").samples_per_s(now, 5_000_000)
            assert abs(got - exact) <= 0.01 * exact + per_batch / 5.0 + 0.1, (got, exact)
    assert readings.get("sled1", "force").samples_per_s(sent[-1][0] + 6_000_000, 5_000_000) == 0.0


def test_the_zero_drift_counts_are_the_last_second_and_at_most_the_newest_256():
    readings = LiveReadings(recent_us=1_000_000)
    for k in range(100):  # 10 s at 80 Hz: the last second is 80 counts
        rx = 1_000_000 + k * 100_000
        readings.on_batch(batch(rx, [(rx + i, 0.0, k * 8 + i) for i in range(8)], seq=k))
    r = readings.get("sled1", "force")
    assert r.recent_raw(10_900_000, 1_000_000) == list(range(89 * 8, 100 * 8))  # batches of 9.9..10.9 s
    for k in range(100, 400):  # a flood: 64 counts every 2 ms
        rx = 11_000_000 + (k - 100) * 2_000
        readings.on_batch(batch(rx, [(rx + i, 0.0, k * 100 + i) for i in range(64)], seq=k))
    raw = r.recent_raw(11_600_000, 1_000_000)
    assert len(raw) == RECENT_RAW_MAX and raw[-1] == 399 * 100 + 63 and raw == sorted(raw)
