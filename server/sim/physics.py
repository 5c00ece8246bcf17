"""Small physical models behind the simulator: a sled pulled backwards, and an athlete shuffling
backwards down a lane. Pure functions of time; no clocks, no threads.

Sled: the athlete's pull force follows a force–velocity line ``F = F0 · (1 − v / v0)`` (N, m/s),
ramping up over ``rise_s`` after the start; the sled (mass ``mass_kg``) resists with kinetic friction
``μ · m · g``. Integrated with a fixed step (``dt_s``, default 1 ms, semi-implicit Euler), the model
gives position (m), velocity (m/s) and harness force (N) over time. The encoder turns position into
quadrature counts (``counts_per_m``); :meth:`SledRun.count_crossings` yields the exact time of every
count change (linear within a step), i.e. the edge times a real encoder would produce.

Lane: a backward shuffle at a steady speed after an acceleration phase; beams at given distances
are broken while the athlete's body (``body_depth_m``) is inside the beam line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

G_M_S2 = 9.81


@dataclass(frozen=True)
class SledAthlete:
    """Force–velocity profile of one athlete pulling a sled backwards."""

    f0_n: float = 620.0      # force at zero speed (N)
    v0_m_s: float = 3.2      # speed at which the athlete can no longer add force (m/s)
    rise_s: float = 0.35     # time to reach full force after starting (s)
    reaction_s: float = 0.25  # delay from the GO signal to the first pull (s)


@dataclass(frozen=True)
class Sled:
    mass_kg: float = 60.0       # sled plus plates (kg)
    friction_mu: float = 0.45   # kinetic friction coefficient on turf
    counts_per_m: float = 200.0  # encoder counts (4 per quadrature cycle) per metre of travel


@dataclass
class SledState:
    t_s: float = 0.0
    position_m: float = 0.0
    velocity_m_s: float = 0.0
    force_n: float = 0.0


@dataclass
class SledRun:
    """A simulated pull from standstill, starting at ``t=0`` (the athlete's first pull)."""

    athlete: SledAthlete = field(default_factory=SledAthlete)
    sled: Sled = field(default_factory=Sled)
    dt_s: float = 0.001

    def force_at(self, t_s: float, v_m_s: float) -> float:
        """Harness force (N) at time ``t_s`` after the first pull with the sled at ``v_m_s``."""
        if t_s <= 0:
            return 0.0
        ramp = min(1.0, t_s / self.athlete.rise_s)
        return max(0.0, self.athlete.f0_n * ramp * (1.0 - v_m_s / self.athlete.v0_m_s))

    def step(self, s: SledState) -> SledState:
        """Advance one step (semi-implicit Euler)."""
        f = self.force_at(s.t_s, s.velocity_m_s)
        friction = self.sled.friction_mu * self.sled.mass_kg * G_M_S2
        if s.velocity_m_s <= 0 and f <= friction:
            accel = 0.0
        else:
            accel = (f - friction) / self.sled.mass_kg
        v = max(0.0, s.velocity_m_s + accel * self.dt_s)
        return SledState(s.t_s + self.dt_s, s.position_m + v * self.dt_s, v, f)

    def trajectory(self, until_m: float, max_s: float = 60.0) -> list[SledState]:
        """States every ``dt_s`` until the sled has travelled ``until_m`` metres (or ``max_s``)."""
        states = [SledState()]
        while states[-1].position_m < until_m and states[-1].t_s < max_s:
            states.append(self.step(states[-1]))
        return states

    def pull(self, until_m: float, max_s: float = 60.0) -> Iterator[tuple[float, int, float]]:
        """``(t_s, count, force_n)`` at every encoder count change of a pull to ``until_m``, computed
        step by step as they are asked for (what :meth:`count_crossings` of :meth:`trajectory` gives,
        with the harness force at the step's start), holding one state at a time: a simulator that
        pulls every few seconds for days keeps no per-run list of thousands of states alive."""
        cpm = self.sled.counts_per_m
        a = SledState()
        while a.position_m < until_m and a.t_s < max_s:
            b = self.step(a)
            c0, c1 = math.floor(a.position_m * cpm), math.floor(b.position_m * cpm)
            for c in range(c0 + 1, c1 + 1):
                frac = (c / cpm - a.position_m) / (b.position_m - a.position_m)
                yield a.t_s + frac * (b.t_s - a.t_s), c, a.force_n
            a = b

    def count_crossings(self, states: list[SledState]) -> list[tuple[float, int]]:
        """``(t_s, count)`` at every encoder count change, interpolated within each step."""
        out: list[tuple[float, int]] = []
        cpm = self.sled.counts_per_m
        for a, b in zip(states, states[1:]):
            c0, c1 = math.floor(a.position_m * cpm), math.floor(b.position_m * cpm)
            for c in range(c0 + 1, c1 + 1):
                x = c / cpm
                frac = (x - a.position_m) / (b.position_m - a.position_m)
                out.append((a.t_s + frac * (b.t_s - a.t_s), c))
        return out

    @staticmethod
    def time_at_distance(states: list[SledState], distance_m: float) -> float | None:
        """Exact time (s) the sled reaches ``distance_m`` (linear within a step)."""
        for a, b in zip(states, states[1:]):
            if a.position_m < distance_m <= b.position_m:
                return a.t_s + (distance_m - a.position_m) / (b.position_m - a.position_m) * (b.t_s - a.t_s)
        return None


@dataclass(frozen=True)
class ShuffleAthlete:
    """A backward shuffle: accelerate over ``accel_s`` to ``top_speed_m_s`` then hold it."""

    top_speed_m_s: float = 2.6
    accel_s: float = 1.2
    body_depth_m: float = 0.30
    reaction_s: float = 0.22

    def position_at(self, t_s: float) -> float:
        """Distance covered (m) ``t_s`` after the first step (uniform acceleration, then constant)."""
        if t_s <= 0:
            return 0.0
        a = self.top_speed_m_s / self.accel_s
        if t_s <= self.accel_s:
            return 0.5 * a * t_s * t_s
        return 0.5 * a * self.accel_s ** 2 + self.top_speed_m_s * (t_s - self.accel_s)

    def time_at(self, distance_m: float) -> float:
        """Time (s) after the first step at which the leading edge of the body reaches ``distance_m``."""
        a = self.top_speed_m_s / self.accel_s
        d_accel = 0.5 * a * self.accel_s ** 2
        if distance_m <= d_accel:
            return math.sqrt(2 * distance_m / a)
        return self.accel_s + (distance_m - d_accel) / self.top_speed_m_s

    def beam_window(self, gate_m: float, start_offset_m: float = 0.5) -> tuple[float, float]:
        """``(break_s, restore_s)`` of a beam ``gate_m`` from the start line, the athlete starting
        ``start_offset_m`` behind it (so the start beam is crossed while already moving)."""
        lead = gate_m + start_offset_m
        return self.time_at(lead), self.time_at(lead + self.body_depth_m)
