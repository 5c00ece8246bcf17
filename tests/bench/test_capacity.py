"""The capacity summary names the largest scale meeting the targets, never one above a failing scale."""

from __future__ import annotations

from bench.capacity import TARGETS, largest, met, scaled, summarise
from bench.plan import Plan


def _step(factor: float, finish_p50: float, lost: int = 0) -> dict:
    report = {"factor": factor, "sleds": round(16 * factor), "lanes": round(8 * factor),
              "clients": round(50 * factor),
              "finish_latency_ms": {"p50": finish_p50, "p99": 20.0}, "frame_latency_ms": {"p50": 40.0, "p99": 90.0},
              "frames_per_s_per_station": 24.0, "lost_events": lost, "hub_rss_mb": 60.0}
    report["met"] = met(report)
    return report


def test_the_largest_scale_meeting_every_target_stops_at_the_first_miss():
    steps = [_step(0.5, 3.0), _step(1.0, 4.9), _step(1.5, 6.0), _step(2.0, 4.0)]  # ×2 passing again is noise
    cap = summarise(steps)
    assert cap["all_targets"] == {"factor": 1.0, "sleds": 16, "lanes": 8, "clients": 50}
    assert cap["per_target"]["finish_latency_ms.p50"]["factor"] == 1.0
    assert cap["per_target"]["lost_events"]["factor"] == 2.0
    assert set(cap["per_target"]) == set(TARGETS)


def test_a_target_not_measured_is_not_met_and_no_scale_can_be_named():
    step = _step(0.25, 3.0)
    step["finish_latency_ms"] = {"p50": None, "p99": None}
    step["met"] = met(step)
    assert step["met"]["finish_latency_ms.p50"] is None
    assert largest([step]) is None and largest([_step(0.25, 9.0, lost=1)]) is None


def test_scaling_keeps_the_class_proportions_and_at_least_one_of_each():
    plan = scaled(Plan(), 0.05, load_s=10.0)
    assert (plan.sleds, plan.lanes, plan.clients, plan.load_s) == (1, 1, 2, 10.0)
    assert plan.clients_per_process <= plan.clients
    big = scaled(Plan(), 2.0, load_s=10.0)
    assert (big.sleds, big.lanes, big.clients) == (32, 16, 100)
