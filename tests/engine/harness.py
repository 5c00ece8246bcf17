"""Test harness for the timing engine: scripts of events and commands, played in arrival order.

``Script`` collects sensor events (hub-clock times) and commands; ``play`` feeds them to a fresh
``TimingEngine`` the way the hub does — commands at their time, events at their arrival time
(time + optional transport delay), ``advance(now)`` between arrivals — and returns the outputs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from server.engine import (AttemptFinished, AttemptResult, AttemptState, AttemptStateChanged, EngineEvent,
                           FalseStartDetected, LateEvent, Output, TimingEngine)

LATENESS_US = 300_000


def us(t_s: float) -> int:
    """Seconds → integer µs."""
    return round(t_s * 1_000_000)


@dataclass
class Outputs:
    """Outputs of a played script with lookups."""

    items: list[Output]

    def of(self, cls: type) -> list[Any]:
        return [o for o in self.items if isinstance(o, cls)]

    @property
    def results(self) -> dict[str, AttemptResult]:
        return {o.result.attempt_id: o.result for o in self.of(AttemptFinished)}

    def result(self, attempt_id: str) -> AttemptResult:
        return self.results[attempt_id]

    def states(self, station_id: str) -> list[AttemptState]:
        return [o.state for o in self.of(AttemptStateChanged) if o.station_id == station_id]

    @property
    def false_starts(self) -> list[FalseStartDetected]:
        return self.of(FalseStartDetected)

    @property
    def late(self) -> list[LateEvent]:
        return self.of(LateEvent)


@dataclass
class Script:
    """Events and commands for one engine; times in seconds (hub clock) unless named ``_us``."""

    configs: tuple[Any, ...]
    lateness_us: int = LATENESS_US
    events: list[EngineEvent] = field(default_factory=list)
    commands: list[tuple[int, Callable[[TimingEngine], Any]]] = field(default_factory=list)

    # -- commands ------------------------------------------------------------------------------
    def arm(self, t_s: float, heat_id: str | None = None, **attempts: str) -> "Script":
        t = us(t_s)
        self.commands.append((t, lambda e: e.arm(list(attempts), attempts, t, heat_id)))
        return self

    def go(self, t_s: float, target: str, delay_s: float = 0.0) -> "Script":
        t = us(t_s)
        self.commands.append((t, lambda e: e.go(target, t, us(delay_s))))
        return self

    def stop(self, t_s: float, target: str) -> "Script":
        t = us(t_s)
        self.commands.append((t, lambda e: e.stop(target, t)))
        return self

    def abort(self, t_s: float, target: str, reason: str = "aborted") -> "Script":
        t = us(t_s)
        self.commands.append((t, lambda e: e.abort(target, t, reason)))
        return self

    # -- events --------------------------------------------------------------------------------
    def ev(self, station: str, role: str, kind: str, t_s: float, value: float | None = None,
           raw: int | None = None) -> "Script":
        self.events.append(EngineEvent(station, role, kind, us(t_s), value, raw))
        return self

    def beam(self, station: str, role: str, t_break_s: float, t_restore_s: float | None = None) -> "Script":
        """A beam broken at ``t_break_s`` (and restored at ``t_restore_s``, default 0.15 s later)."""
        self.ev(station, role, "break", t_break_s)
        return self.ev(station, role, "restore", t_break_s + 0.15 if t_restore_s is None else t_restore_s)

    def samples(self, station: str, role: str, kind: str, samples: Iterable[tuple[float, float]]) -> "Script":
        """Telemetry samples ``(t_us, value)`` (float µs are rounded)."""
        self.events.extend(EngineEvent(station, role, kind, round(t), v) for t, v in samples)
        return self

    # -- playing -------------------------------------------------------------------------------
    def play(self, until_s: float | None = None, delay_us: Callable[[EngineEvent], int] | None = None,
             duplicate: Callable[[EngineEvent], bool] | None = None, advance_every: int = 1,
             engine: TimingEngine | None = None) -> Outputs:
        """Feed everything in arrival order and return the outputs (see the module docstring)."""
        engine = engine or make_engine(self.configs, self.lateness_us)
        arrivals: list[tuple[int, int, int, Any]] = []
        for i, (t, cmd) in enumerate(self.commands):
            arrivals.append((t, 0, i, cmd))
        for i, ev in enumerate(self.events):
            copies = 2 if duplicate is not None and duplicate(ev) else 1
            for c in range(copies):
                arrivals.append((ev.t_us + (delay_us(ev) if delay_us else 0), 1, 2 * i + c, ev))
        arrivals.sort(key=lambda a: (a[0], a[1], a[2]))
        out: list[Output] = []
        for n, (at, kind, _, payload) in enumerate(arrivals):
            if n % advance_every == 0 or kind == 0:
                out.extend(engine.advance(at))
            if kind == 0:
                payload(engine)
            else:
                engine.ingest(payload)
        last = max((a[0] for a in arrivals), default=0)
        end = us(until_s) if until_s is not None else last + 120_000_000
        out.extend(engine.advance(max(end, last) + self.lateness_us))
        return Outputs(out)


def make_engine(configs: Iterable[Any], lateness_us: int = LATENESS_US) -> TimingEngine:
    engine = TimingEngine(lateness_us=lateness_us)
    for cfg in configs:
        engine.configure_station(cfg)
    return engine


def jitter(seed: int, max_us: int = 200_000) -> Callable[[EngineEvent], int]:
    """A transport delay of 0..max_us per event (deterministic for a seed)."""
    rng = random.Random(seed)
    return lambda ev: rng.randrange(0, max_us + 1)
