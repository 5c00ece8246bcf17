"""The stations under test and their nodes, created on the hub through ``POST /api/setup/stations``.

One *rig* is five nodes, as in the third party's test (issue 13):

| node | sensors | station, role |
|---|---|---|
| ``r<k>-gate-a`` | beam ``g1`` | lane ``r<k>-lane-a`` ``start`` |
| ``r<k>-gate-b`` | beams ``g1``, ``g2`` | lane ``r<k>-lane-a`` ``split1``, ``finish`` (one lane split across two nodes) |
| ``r<k>-gate-c`` | beams ``g1``, ``g2``, ``g3`` | lane ``r<k>-lane-b`` ``start``, ``split1``, ``finish`` |
| ``r<k>-sled-a`` | load cell ``lc``, encoder ``enc`` | sled ``r<k>-sled-a`` ``force``, ``wheel`` |
| ``r<k>-sled-b`` | load cell ``lc``, encoder ``enc`` (wired the other way round) | sled ``r<k>-sled-b`` |

Every node gets its own clock offset (±5 s) and drift (±100 ppm) from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.accuracy.harness import Api
from tests.accuracy.node import NodeClock, Perturbation, ProtocolNode, Scheduler, Sensor
from tests.accuracy.truth import SLED_DISTANCE_M, TIME_CAP_S

COUNTDOWN_S = 1.0
LANE_CONFIG = {"start_mode": "GO_COUNTDOWN", "countdown_s": COUNTDOWN_S, "time_cap_s": TIME_CAP_S,
               "holdoff_s": 0.5, "false_start_policy": "WARN_KEEP"}
SLED_CONFIG = {"distance_m": SLED_DISTANCE_M, "start_mode": "GO_COUNTDOWN", "countdown_s": COUNTDOWN_S,
               "time_cap_s": TIME_CAP_S, "false_start_policy": "WARN_KEEP", "sled_mass_kg": 40.0}


@dataclass
class StationPlan:
    """A station and where each of its roles lives: role → (node, sensor)."""

    id: str
    kind: str               # lane | sled
    case: str               # lane | lane-2nodes | sled
    roles: dict[str, tuple[ProtocolNode, str]]


def beams(*ids: str) -> list[Sensor]:
    return [Sensor(i, "beam", wiring={"pin": 20 + n}) for n, i in enumerate(ids)]


def sled_sensors(reversed_wheel: bool) -> list[Sensor]:
    """A load cell and a wheel that start uncalibrated (the suite calibrates them on ``/api/setup``)."""
    return [Sensor("lc", "load_cell", wiring={"dout": 5, "sck": 6}, rate_hz=80,
                   calibration={"scale_counts_per_n": 1.0, "offset_counts": 0.0, "uncalibrated": True}),
            Sensor("enc", "encoder", wiring={"a": 17, "b": 27, "reversed": reversed_wheel},
                   calibration={"counts_per_m": 1000.0, "invert": False})]


def build_rig(k: int, broker: tuple[str, int], sched: Scheduler, rng: random.Random,
              perturb: Perturbation, epoch_us: int, max_drift_ppm: float = 100.0
              ) -> tuple[list[ProtocolNode], list[StationPlan]]:
    def node(name: str, sensors: list[Sensor]) -> ProtocolNode:
        clock = NodeClock(offset_s=rng.uniform(-5.0, 5.0), drift_ppm=rng.uniform(-max_drift_ppm, max_drift_ppm),
                          epoch_us=epoch_us)
        return ProtocolNode(f"r{k}-{name}", broker, clock, sensors, sched, random.Random(rng.getrandbits(64)), perturb)

    ga, gb, gc = node("gate-a", beams("g1")), node("gate-b", beams("g1", "g2")), node("gate-c", beams("g1", "g2", "g3"))
    sa, sb = node("sled-a", sled_sensors(False)), node("sled-b", sled_sensors(True))
    plans = [
        StationPlan(f"r{k}-lane-a", "lane", "lane-2nodes", {"start": (ga, "g1"), "split1": (gb, "g1"), "finish": (gb, "g2")}),
        StationPlan(f"r{k}-lane-b", "lane", "lane", {"start": (gc, "g1"), "split1": (gc, "g2"), "finish": (gc, "g3")}),
        StationPlan(f"r{k}-sled-a", "sled", "sled", {"force": (sa, "lc"), "wheel": (sa, "enc")}),
        StationPlan(f"r{k}-sled-b", "sled", "sled", {"force": (sb, "lc"), "wheel": (sb, "enc")}),
    ]
    return [ga, gb, gc, sa, sb], plans


def create_station(api: Api, plan: StationPlan) -> None:
    """``POST /api/setup/stations`` as docs/api.md gives it (``PUT`` when it exists, after a restart)."""
    body = {"id": plan.id, "kind": plan.kind, "name": plan.id,
            "config": dict(LANE_CONFIG if plan.kind == "lane" else SLED_CONFIG),
            "bindings": [{"role": role, "node_id": n.node_id, "sensor_id": s} for role, (n, s) in plan.roles.items()]}
    api.call("POST", "/api/setup/stations", body)
