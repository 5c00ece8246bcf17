"""Exact ground truth for one run at a station, in true (hub-clock) microseconds after the GO signal.

- A **lane** run: the athlete reacts ``reaction_s`` after the GO signal and breaks the start gate, then
  passes the split gate (5 m) and the finish gate (10 m) backwards; each beam is broken while the body
  (0.3 m deep) passes and then restored. ``dnf`` runs stop after the split: no finish within the cap.
- A **sled** pull: the sled model of ``tests/engine/sled_model.py`` (force held constant over 1 ms
  segments, closed-form motion within each, so encoder edge times and the exact moment the sled reaches
  any distance are exact). The load cell is sampled at 80 Hz all the time (0 N at rest); the encoder
  sends one sample per 5 mm edge. ``dnf`` pulls stop pulling at 60 % of the distance.

What the hub must report (:class:`Expected`) follows the rules of ``docs/timing.md`` for ``GO_COUNTDOWN``:
the clock starts at the GO signal; a lane's reaction is the first start-gate change after it; a sled's
is the first force sample above 150 N (the crossing interpolated between samples) or the first
encoder sample more than 2 cm from rest, whichever is first. The sled's force and power figures are
taken from the continuous model (force time-averaged over the run, peak of force × velocity), so the
hub's estimate from 80 Hz samples and encoder edges is checked against the physics, within 1 %.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.engine.sled_model import SledModel, simulate

LANE_SPLIT_M, LANE_FINISH_M, BODY_M = 5.0, 10.0, 0.3
SLED_DISTANCE_M = 15.0
FORCE_RATE_HZ = 80.0
FORCE_THRESHOLD_N, MOTION_THRESHOLD_M = 150.0, 0.02
TIME_CAP_S = 8.0


@dataclass
class Expected:
    """What the hub must store for the run (times in µs after the GO signal; None = must be absent)."""

    status: str
    time_us: float | None = None
    reaction_us: float | None = None
    splits_us: list[float] = field(default_factory=list)
    force: dict[str, float] = field(default_factory=dict)    # peak_force_n, mean_force_n, peak_power_w


@dataclass
class GateEdge:
    role: str
    kind: str          # break | restore
    t_us: float        # after the GO signal


@dataclass
class LaneRun:
    edges: list[GateEdge]
    expected: Expected


@dataclass
class SledRun:
    forces: list[tuple[float, float]]      # (µs after GO, N) at 80 Hz from GO until the end
    edges: list[tuple[float, float]]       # (µs after GO, position m) per encoder edge
    end_us: float
    expected: Expected


def lane_run(rng: random.Random, dnf: bool) -> LaneRun:
    reaction_s = rng.uniform(0.15, 0.45)
    speed = rng.uniform(2.2, 3.6)                                  # m/s backwards
    t_start = reaction_s * 1e6
    t_split = t_start + LANE_SPLIT_M / speed * 1e6 * rng.uniform(0.95, 1.05)
    t_finish = t_split + (LANE_FINISH_M - LANE_SPLIT_M) / speed * 1e6 * rng.uniform(0.95, 1.05)
    passages = [("start", t_start), ("split1", t_split)] + ([] if dnf else [("finish", t_finish)])
    edges = []
    for role, t in passages:
        edges.append(GateEdge(role, "break", t))
        edges.append(GateEdge(role, "restore", t + BODY_M / speed * 1e6))
    if dnf:
        return LaneRun(edges, Expected("DNF"))
    return LaneRun(edges, Expected("OK", time_us=t_finish, reaction_us=t_start, splits_us=[t_split]))


def _crossing_us(samples: list[tuple[float, float]], level: float) -> float | None:
    """First upward crossing of ``level``, interpolated between the samples that straddle it."""
    for (t0, f0), (t1, f1) in zip(samples, samples[1:]):
        if f0 <= level < f1:
            return t0 + (t1 - t0) * (level - f0) / (f1 - f0)
    return None


def sled_run(rng: random.Random, dnf: bool) -> SledRun:
    model = SledModel(mass_kg=rng.uniform(35, 50), friction_mu=0.3, peak_force_n=rng.uniform(650, 800),
                      v0_m_s=5.0, rise_s=0.3, stride_hz=rng.uniform(1.2, 1.8), stride_depth=0.15,
                      step_m=0.005, segment_s=0.001, stop_after_m=SLED_DISTANCE_M * 0.6 if dnf else None)
    t_pull = rng.uniform(0.15, 0.4) * 1e6                      # the athlete starts pulling
    trace = simulate(model, t_pull, SLED_DISTANCE_M, max_s=TIME_CAP_S)
    end_us = (trace.crossings.get(SLED_DISTANCE_M) or TIME_CAP_S * 1e6) + 0.3e6
    step = 1e6 / FORCE_RATE_HZ
    forces = [(k * step, trace.force_at(k * step)) for k in range(int(end_us / step) + 1)]
    edges = list(trace.edges)
    if dnf:
        return SledRun(forces, edges, max(end_us, TIME_CAP_S * 1e6), Expected("DNF"))
    finish = trace.crossings[SLED_DISTANCE_M]
    f_react = _crossing_us(forces, FORCE_THRESHOLD_N)
    e_react = next((t for t, x in edges if x > MOTION_THRESHOLD_M), None)
    reaction = min(t for t in (f_react, e_react) if t is not None)
    return SledRun(forces, edges, end_us, Expected("OK", time_us=finish, reaction_us=reaction,
                                                   force=_force_truth(trace, edges, finish)))


def _force_truth(trace, edges: list[tuple[float, float]], finish_us: float) -> dict[str, float]:
    """Peak and mean force over GO..finish from the 1 ms model force; peak power from the model force
    times the exact velocity between consecutive encoder edges (5 mm apart)."""
    ms = [trace.force_at(t) for t in range(0, int(finish_us), 1000)]
    power = 0.0
    for (t0, x0), (t1, x1) in zip(edges, edges[1:]):
        if t1 > finish_us:
            break
        v = (x1 - x0) / (t1 - t0) * 1e6
        power = max(power, v * trace.force_at((t0 + t1) / 2))
    return {"peak_force_n": max(ms), "mean_force_n": sum(ms) / len(ms), "peak_power_w": power}
