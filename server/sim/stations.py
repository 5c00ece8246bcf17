"""Simulated stations: the real ``firmware_bridge`` node on gpiozero ``MockFactory`` pins, with fakes
of the chips and beams driven by the physical models in :mod:`server.sim.physics`.

A sled node (HX711 on DOUT 5 / SCK 6 at 80 Hz, quadrature wheel on GPIO 17/27 at 200 counts/m) and a
lane node (beams start 17, split1 27, finish 23 — or a dual-beam finish on 23/24). Every edge is
driven with the exact tick the model gives (``FakePin.drive(..., tick)``) once real time has reached
it, so the node publishes in real time with edge-accurate timestamps, exactly like hardware.

Each node runs on its own clock origin (``node_offset_us``) so the hub's clock-offset correction is
exercised by the demo and the tests.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from firmware_bridge.clock import NodeClock
from firmware_bridge.config import parse_config
from firmware_bridge.fakes import FakeBeam, FakeEncoderWheel, FakeHX711, StepClock, mock_factory
from firmware_bridge.node import Node
from server.sim.physics import Sled, SledRun
from server.sim.roster import DemoAthlete

HX711_SCALE_COUNTS_PER_N = 2280.0
HX711_OFFSET_COUNTS = -84120.0
COUNTS_PER_M = 200.0


def _sleep_until(mono_s: float, stop: threading.Event) -> bool:
    """Wait until ``time.monotonic() >= mono_s``; False if ``stop`` was set first."""
    while True:
        left = mono_s - time.monotonic()
        if left <= 0:
            return not stop.is_set()
        if stop.wait(min(left, 0.05)):
            return False


def _node_config(node_id: str, broker: tuple[str, int], sensors: list[dict[str, Any]]) -> Any:
    return parse_config({
        "node": {"id": node_id, "fw": "sledhub-sim 0.1.0", "health_interval_s": 2.0},
        "mqtt": {"host": broker[0], "port": broker[1], "keepalive_s": 5},
        "outbox": {"path": ":memory:", "max_events": 10000},
        "telemetry": {"batch_s": 0.05, "batch_max_samples": 64},
        "sensor": sensors,
    }, source=f"<sim {node_id}>")


@dataclass
class SimNode:
    """A bridge node on its own mock pin factory; subclasses add the fakes before the node."""

    node_id: str
    broker: tuple[str, int]
    node_offset_us: int = 0
    factory: Any = field(default=None, init=False)
    node: Node | None = field(default=None, init=False)

    def _start_node(self, sensors: list[dict[str, Any]], clock_ns: Any = None) -> None:
        config = _node_config(self.node_id, self.broker, sensors)
        extra = {"clock_ns": clock_ns} if clock_ns is not None else {}
        self.node = Node(config, pin_factory=self.factory, clock_us=NodeClock(self.factory, self.node_offset_us),
                         outbox_path=":memory:", drain_s=0.5, **extra)
        self.node.start()

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
        if self.factory is not None:
            self.factory.close()


FOLLOW_THROUGH_M = 0.5
"""How far past the line a simulated athlete keeps pulling (m)."""
GIVE_UP_FRACTION = (0.55, 0.85)
"""Where a pull left short stops, as a fraction of the distance."""
EARLY_PULL_S = 0.25
"""How long before the GO signal a false-starting athlete pulls (s)."""


@dataclass(frozen=True)
class PullPlan:
    """One simulated pull: the first pull relative to the GO signal (s; negative = a false start) and
    how far the athlete pulls the sled (m)."""

    start_offset_s: float
    until_m: float
    gave_up: bool


class SimSled(SimNode):
    """A reverse-pull sled: harness load cell + measuring wheel, pulled by a simulated athlete."""

    def __init__(self, station_id: str, node_id: str, broker: tuple[str, int], *, distance_m: float = 15.0,
                 sled: Sled = Sled(counts_per_m=COUNTS_PER_M), node_offset_us: int = 0, seed: int = 1):
        super().__init__(node_id, broker, node_offset_us)
        self.station_id = station_id
        self.distance_m = distance_m
        self.sled = sled
        self._rng = random.Random(seed)
        self._force_n = 0.0
        self.factory = mock_factory()
        # one step clock for the chip fake and the driver: Python's scheduling on a busy demo machine
        # must not look like an HX711 clock-high overrun (the driver would discard ~2 % of reads)
        self._hx_clock = StepClock()
        self.hx711 = FakeHX711(self.factory, dout=5, sck=6, source=lambda: self._force_n,
                               scale_counts_per_n=HX711_SCALE_COUNTS_PER_N, offset_counts=HX711_OFFSET_COUNTS,
                               rate_hz=80.0, clock_ns=self._hx_clock)
        self.wheel = FakeEncoderWheel(self.factory, a=17, b=27)

    def start(self) -> None:
        self._start_node([
            {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, "rate_hz": 80, "gain": 128,
             "scale_counts_per_n": HX711_SCALE_COUNTS_PER_N, "offset_counts": HX711_OFFSET_COUNTS},
            {"id": "wheel", "kind": "encoder", "a": 17, "b": 27, "counts_per_m": self.sled.counts_per_m},
        ], clock_ns=self._hx_clock)
        self.hx711.start()

    def stop(self) -> None:
        self.hx711.stop()
        super().stop()

    def plan(self, athlete: DemoAthlete, distance_m: float | None = None) -> PullPlan:
        """The next pull (seeded): to ``distance_m`` (m; default the sled's own) plus the follow-through,
        now and then early (``false_start_chance``) or left short (``give_up_chance``)."""
        distance = self.distance_m if distance_m is None else distance_m
        early = self._rng.random() < athlete.false_start_chance
        gave_up = self._rng.random() < athlete.give_up_chance
        until_m = distance * self._rng.uniform(*GIVE_UP_FRACTION) if gave_up else distance + FOLLOW_THROUGH_M
        return PullPlan(-EARLY_PULL_S if early else athlete.sled.reaction_s, until_m, gave_up)

    def perform(self, athlete: DemoAthlete, go_signal_mono_s: float, stop: threading.Event,
                distance_m: float | None = None) -> None:
        """Pull the sled ``distance_m`` (m: the distance the station runs with now, default the sled's
        own) as :meth:`plan` says, reacting to the GO signal."""
        plan = self.plan(athlete, distance_m)
        run = SledRun(athlete.sled, self.sled)
        self._drive(run.pull(until_m=plan.until_m), go_signal_mono_s + plan.start_offset_s, stop)

    def _drive(self, crossings: Iterator[tuple[float, int, float]], t0: float, stop: threading.Event) -> None:
        """Step the wheel at every count change once real time reaches it (the crossings are computed
        as they come: nothing per run is kept, so days of demo runs do not fragment memory)."""
        if not _sleep_until(t0, stop):
            return
        for t_s, _count, force_n in crossings:
            if not _sleep_until(t0 + t_s, stop):
                break
            self._force_n = force_n
            self.wheel.step(+1, tick=t0 + t_s)
        self._force_n = 0.0


class SimLane(SimNode):
    """A backward-shuffle lane: start, split and finish beams (finish optionally dual-beam)."""

    GATES_M = {"start": 0.0, "split1": 10.0, "finish": 20.0}

    def __init__(self, station_id: str, node_id: str, broker: tuple[str, int], *, dual_finish: bool = False,
                 node_offset_us: int = 0, seed: int = 2):
        super().__init__(node_id, broker, node_offset_us)
        self.station_id = station_id
        self.dual_finish = dual_finish
        self._rng = random.Random(seed)
        self.factory = mock_factory()
        self.beams = {"start": [FakeBeam(self.factory, 17)], "split1": [FakeBeam(self.factory, 27)],
                      "finish": [FakeBeam(self.factory, 23)] + ([FakeBeam(self.factory, 24)] if dual_finish else [])}

    def start(self) -> None:
        finish = ({"id": "finish", "kind": "dual_beam", "pins": [23, 24], "window_s": 0.02, "holdoff_s": 0.5}
                  if self.dual_finish else {"id": "finish", "kind": "beam", "pin": 23, "holdoff_s": 0.5})
        self._start_node([
            {"id": "start", "kind": "beam", "pin": 17, "holdoff_s": 1.0},
            {"id": "split1", "kind": "beam", "pin": 27, "holdoff_s": 0.5},
            finish,
        ])

    def edges(self, athlete: DemoAthlete, go_signal_mono_s: float) -> list[tuple[float, str, bool]]:
        """``(mono_s, gate, broken)`` for a run: body through every gate, sometimes an arm early."""
        early = self._rng.random() < athlete.false_start_chance
        t0 = go_signal_mono_s + (-1.0 if early else athlete.shuffle.reaction_s)  # early: through the start beam before GO
        out = []
        for gate, at_m in self.GATES_M.items():
            brk, restore = athlete.shuffle.beam_window(at_m)
            if gate != "start" and self._rng.random() < athlete.limb_rebreak_chance:
                # a trailing arm re-breaks the beam just after the body left it (hold-off ignores it)
                out += [(t0 + restore + 0.05, gate, True), (t0 + restore + 0.09, gate, False)]
            out += [(t0 + brk, gate, True), (t0 + restore, gate, False)]
        return sorted(out)

    def perform(self, athlete: DemoAthlete, go_signal_mono_s: float, stop: threading.Event) -> None:
        for mono_s, gate, broken in self.edges(athlete, go_signal_mono_s):
            if not _sleep_until(mono_s, stop):
                return
            for i, beam in enumerate(self.beams[gate]):
                tick = mono_s + 0.002 * i  # the lower beam of a dual gate breaks 2 ms later
                (beam.break_ if broken else beam.restore)(tick=tick)
