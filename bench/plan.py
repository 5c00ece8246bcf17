"""What one bench run does: the scale (stations, clients) and the length of every phase.

A :class:`Plan` is plain, picklable data handed to every bench process. The defaults are the class
load of issue 9; ``tiny()`` is the smoke-test scale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import psutil

from firmware_bridge.config import NODE_OPTIONS, TELEMETRY_OPTIONS
from server.sim.stations import COUNTS_PER_M

SLED_COUNTS_PER_M = COUNTS_PER_M  # wheel encoder: 5 mm per count (the simulator's wheel)
FORCE_RATE_HZ = 80.0             # HX711 load cell
WHEEL_MIN_RATE_HZ = 200.0        # encoder edges at least this often, also at rest (a rattling wheel)
TEL_BATCH_S = TELEMETRY_OPTIONS["batch_s"].default  # a node sends its telemetry every 50 ms
HEALTH_INTERVAL_S = NODE_OPTIONS["health_interval_s"].default
TEL_MAX_SAMPLES = TELEMETRY_OPTIONS["batch_max_samples"].default  # samples per tel message at most
BENCH_USER = ("bench", "246810")  # instructor seeded into the hub's database for the driver


@dataclass(frozen=True)
class Plan:
    sleds: int = 16
    """Sled stations ``sledN``, each bound to node ``bench-sledN`` (sensors ``force``, ``wheel``)."""
    lanes: int = 8
    """Lane stations ``laneN``, each bound to node ``bench-laneN`` (``start``, ``split1``, ``finish``)."""
    clients: int = 50
    """Socket.IO clients (websocket transport) that receive and acknowledge every frame."""
    clients_per_process: int = 10
    node_processes: int = 2
    """Processes the bench nodes are spread over (each counts what it actually sent)."""
    sled_distance_m: float = 10.0
    lane_length_m: float = 20.0
    countdown_s: float = 1.0
    """GO countdown of every station (GO_COUNTDOWN start mode)."""
    rest_s: float = 1.0
    """Pause between the end of a run and the next arm at the same station."""
    raw_step_s: float = 2.0
    raw_start_rate: float = 4000.0
    raw_max_steps: int = 12
    """Raw baseline (paho → Mosquitto → paho, no hub): the offered rate starts at ``raw_start_rate``
    messages/s and rises ×``ramp_factor`` per step of ``raw_step_s`` until the subscriber falls behind."""
    ramp_factor: float = 1.3
    """Both ramps: the offered rate's factor per step (finer steps: a ceiling within 30 %)."""
    warmup_s: float = 4.0
    """Class load before the measured window (first runs start, clocks settle)."""
    load_s: float = 60.0
    """Measured class-load window: CPU, RSS, frames and the runs whose GO falls in it."""
    sat_step_s: float = 2.0
    sat_start_rate: float = 4000.0
    sat_max_steps: int = 12
    """Saturation run on the hub: the same ramp (the same offered rates as the raw baseline's), from
    ``sat_start_rate`` messages/s. 12 steps reach 4 000 × 1.3¹¹ ≈ 72 000 msg/s: a ramp ends by saturation,
    not by running out of steps, on this class of machine."""
    drain_timeout_s: float = 20.0
    """How long to wait for the hub to work off a saturation backlog."""
    profile_s: float = 0.0
    """If > 0, py-spy records the hub for this long during the class load (``--profile``)."""
    pin: bool = True
    """Pin the hub and its broker to one CPU and the bench's own processes to the others (:class:`Pinning`)."""

    @property
    def sled_ids(self) -> list[str]:
        return [f"sled{i}" for i in range(1, self.sleds + 1)]

    @property
    def lane_ids(self) -> list[str]:
        return [f"lane{i}" for i in range(1, self.lanes + 1)]

    @property
    def station_ids(self) -> list[str]:
        return self.sled_ids + self.lane_ids

    @staticmethod
    def node_of(station_id: str, prefix: str = "bench") -> str:
        return f"{prefix}-{station_id}"

    def stations_of_process(self, index: int) -> list[str]:
        """Stations whose node runs in node process ``index`` (round robin, sleds and lanes mixed)."""
        return self.station_ids[index::self.node_processes]


@dataclass(frozen=True)
class Pinning:
    """CPU affinity: the system under test (hub, or the raw subscriber, and the broker) on one CPU, the
    simulated world (nodes, clients, the bench itself) on the others — as on site, where nodes and
    screens are other devices. Off on a 1-CPU machine or with ``--no-pin``."""

    hub: list[int] = field(default_factory=list)
    world: list[int] = field(default_factory=list)

    @staticmethod
    def for_this_machine(enabled: bool = True) -> "Pinning":
        cpus = sorted(os.sched_getaffinity(0))
        if not enabled or len(cpus) < 2:
            return Pinning()
        return Pinning(hub=cpus[:1], world=cpus[1:])

    def pin(self, pid: int, side: str) -> None:
        """Pin ``pid`` to the ``"hub"`` or ``"world"`` CPUs (no-op when pinning is off)."""
        cpus = self.hub if side == "hub" else self.world
        if cpus:
            try:
                psutil.Process(pid).cpu_affinity(cpus)
            except psutil.Error:
                pass


def tiny() -> Plan:
    """The smoke-test scale: a few seconds per phase, 2 sleds, 1 lane, 3 clients."""
    return replace(Plan(), sleds=2, lanes=1, clients=3, clients_per_process=3, node_processes=1,
                   sled_distance_m=2.0, lane_length_m=6.0, countdown_s=0.3, rest_s=0.3, raw_step_s=0.5, raw_max_steps=1,
                   warmup_s=0.5, load_s=3.0, sat_step_s=0.5, sat_max_steps=1, drain_timeout_s=5.0)
