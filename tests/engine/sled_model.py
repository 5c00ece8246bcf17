"""A small physical model of a reverse sled pull, for ground truth in the engine tests.

The athlete's pull force follows a force–velocity line with a stride ripple and is held constant over
short segments (``segment_s``); within a segment the sled (mass ``mass_kg``, kinetic friction
``friction_mu · m · g``) moves with constant acceleration, so positions, encoder edge times (every
``step_m`` of travel) and the exact time the sled reaches any distance are solved in closed form — no
integration error. Static friction holds the sled while the pull is below ``μ·m·g``; the sled never
slides backwards by itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

G_M_S2 = 9.81


@dataclass(frozen=True)
class SledModel:
    """Sled and athlete parameters (SI units)."""

    mass_kg: float = 80.0
    friction_mu: float = 0.4
    peak_force_n: float = 800.0      # pull force at zero speed (plateau)
    v0_m_s: float = 3.0              # force–velocity line: no force left at this speed
    rise_s: float = 0.3              # ramp from 0 to the plateau
    stride_hz: float = 1.4           # force ripple with the steps
    stride_depth: float = 0.25       # ripple amplitude as a fraction of the plateau
    step_m: float = 0.005            # encoder: metres per count (one sample per count edge)
    segment_s: float = 0.001         # the force is constant over each segment
    stop_after_m: float | None = None  # the athlete stops pulling after this distance (DNF runs)

    def force_n(self, t_s: float, x_m: float, v_m_s: float) -> float:
        """Pull force (N) ``t_s`` after the first pull with the sled at ``x_m`` moving at ``v_m_s``."""
        if t_s <= 0 or (self.stop_after_m is not None and x_m >= self.stop_after_m):
            return 0.0
        ramp = min(1.0, t_s / self.rise_s)
        ripple = 1.0 + self.stride_depth * math.sin(2 * math.pi * self.stride_hz * t_s)
        return self.peak_force_n * ramp * ripple * max(0.0, 1.0 - v_m_s / self.v0_m_s)


@dataclass
class SledTrace:
    """A simulated pull starting at ``t0_us`` (hub µs, first pull) from rest at position 0."""

    edges: list[tuple[float, float]] = field(default_factory=list)    # (t_us exact, position_m)
    forces: list[tuple[float, float]] = field(default_factory=list)   # (t_us, force_n) per segment start
    crossings: dict[float, float] = field(default_factory=dict)       # distance_m → exact t_us
    end_us: float = 0.0
    max_velocity_m_s: float = 0.0

    def force_at(self, t_us: float) -> float:
        """The (piecewise-constant) model force at ``t_us``."""
        lo, hi = 0, len(self.forces) - 1
        if hi < 0 or t_us < self.forces[0][0]:
            return 0.0
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.forces[mid][0] <= t_us:
                lo = mid
            else:
                hi = mid - 1
        return self.forces[lo][1]

    def edge_rate_at(self, distance_m: float) -> float:
        """Encoder edge rate (Hz) at the crossing of ``distance_m``: 1 / the straddling edges' interval."""
        t = self.crossings[distance_m]
        before = [ts for ts, _ in self.edges if ts <= t]
        after = [ts for ts, _ in self.edges if ts > t]
        if not before or not after:
            return 0.0
        return 1e6 / (after[0] - before[-1])


def _time_to(d_m: float, v: float, a: float) -> float:
    """Time (s) to travel ``d_m`` from speed ``v`` with constant acceleration ``a`` (stable form)."""
    disc = v * v + 2 * a * d_m
    return 2 * d_m / (v + math.sqrt(max(0.0, disc)))


def simulate(model: SledModel, t0_us: float, until_m: float, marks_m: tuple[float, ...] = (),
             max_s: float = 60.0) -> SledTrace:
    """Pull from rest until ``until_m`` (or ``max_s``); record edges, force and mark crossings."""
    trace = SledTrace()
    friction = model.friction_mu * model.mass_kg * G_M_S2
    x = v = 0.0
    next_edge = 1
    pending = sorted(set(marks_m) | {until_m})
    h = model.segment_s
    t = 0.0
    while t < max_s and x < until_m:
        f = model.force_n(t, x, v)
        trace.forces.append((t0_us + t * 1e6, f))
        if v <= 0 and f <= friction:
            if model.stop_after_m is not None and x >= model.stop_after_m:
                break  # the athlete has stopped pulling for good
            v, t = 0.0, t + h
            continue
        a = (f - friction) / model.mass_kg
        dur = h if a >= 0 or v + a * h > 0 else v / -a
        x_end = x + v * dur + 0.5 * a * dur * dur
        while next_edge * model.step_m <= x_end:
            tau = _time_to(next_edge * model.step_m - x, v, a)
            trace.edges.append((t0_us + (t + tau) * 1e6, next_edge * model.step_m))
            next_edge += 1
        while pending and pending[0] <= x_end:
            mark = pending.pop(0)
            trace.crossings[mark] = t0_us + (t + _time_to(mark - x, v, a)) * 1e6
        x, v = x_end, max(0.0, v + a * dur)
        trace.max_velocity_m_s = max(trace.max_velocity_m_s, v)
        t += h
    trace.end_us = t0_us + t * 1e6
    return trace
