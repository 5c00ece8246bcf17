"""``sledhub demo``: two simulated sleds and two simulated lanes, bound to stations, running the demo
class. :func:`attach_demo` adds them to a built hub app; they start and stop with it."""

from __future__ import annotations

import threading
import zlib
from typing import TYPE_CHECKING, Any

from server.sim.demo_class import DemoClass, DemoTiming
from server.sim.roster import DemoAthlete, demo_roster
from server.sim.stations import SimLane, SimSled
from server.store.stations import Binding, Station

if TYPE_CHECKING:
    from server.app import HubApp

DEMO_SLED_DISTANCE_M = 10.0


def demo_stations() -> list[Station]:
    """The demo's stations and their bindings to the simulated nodes."""
    sled_cfg = {"distance_m": DEMO_SLED_DISTANCE_M, "start_mode": "GO_COUNTDOWN", "time_cap_s": 20.0,
                "false_start_policy": "WARN_KEEP", "sled_mass_kg": 60.0, "split_distances_m": [5.0]}
    lane_cfg = {"start_mode": "GO_COUNTDOWN", "split_roles": ["split1"], "time_cap_s": 20.0,
                "false_start_policy": "WARN_KEEP", "holdoff_s": 0.5}
    return [
        Station("sled1", "sled", "Sled 1", sled_cfg, (Binding("force", "sim-sled1", "force"),
                                                      Binding("wheel", "sim-sled1", "wheel"))),
        Station("sled2", "sled", "Sled 2", sled_cfg, (Binding("force", "sim-sled2", "force"),
                                                      Binding("wheel", "sim-sled2", "wheel"))),
        Station("lane1", "lane", "Lane 1", lane_cfg, (Binding("start", "sim-lane1", "start"),
                                                      Binding("split1", "sim-lane1", "split1"),
                                                      Binding("finish", "sim-lane1", "finish"))),
        Station("lane2", "lane", "Lane 2", lane_cfg, (Binding("start", "sim-lane2", "start"),
                                                      Binding("split1", "sim-lane2", "split1"),
                                                      Binding("finish", "sim-lane2", "finish"))),
    ]


DEMO_LANE_DISTANCE_M = 20.0
"""The simulated lanes' finish gate (``SimLane.GATES_M``)."""

DEMO_CIRCUIT = {
    "name": "Backwards basics", "rounds": 1, "work_s": 25, "rest_s": 15, "countdown_s": 3,
    "stations": [{"name": "Reverse sled pull", "kind": "sled", "station_ids": ["sled1", "sled2"],
                  "distance_m": DEMO_SLED_DISTANCE_M, "false_start_policy": "WARN_KEEP"},
                 {"name": "Backward shuffle", "kind": "lane", "station_ids": ["lane1", "lane2"],
                  "distance_m": DEMO_LANE_DISTANCE_M, "false_start_policy": "WARN_KEEP"}],
}
"""The built-in circuit: the distances the simulated athletes run (a 10 m pull takes them 6–10 s, well
inside the 25 s cap); false starts are flagged and timed from GO, as on the demo's stations (a voided
one would wait for a second GO the simulated athlete never gets)."""


def seed_demo_class_data(hub_app: "HubApp") -> None:
    """Give a fresh demo database what an instructor needs on the tablet: the demo athletes as
    members (nickname = name) and a saved circuit over the four stations. Idempotent."""
    from server.classes.circuits import parse_circuit

    service = hub_app.classes
    known = {m.name for m in service.members.all(include_archived=True)}
    for athlete in demo_roster():
        if athlete.nickname not in known:
            service.members.create(athlete.nickname, athlete.nickname)
    if not any(c.circuit.name == DEMO_CIRCUIT["name"] for c in service.circuits.all()):
        kinds = {s.id: s.kind for s in hub_app.hub.stations.all()}
        service.circuits.save(parse_circuit(DEMO_CIRCUIT, kinds))


class DemoRig:
    """Simulated nodes plus the demo class; what ``HubApp.demo`` holds."""

    def __init__(self, hub_app: "HubApp", broker: tuple[str, int], autostart: bool = True,
                 timing: DemoTiming = DemoTiming()):
        hub = hub_app.hub
        for station in demo_stations():
            hub.stations.upsert(station)
        hub.reload_stations()
        seed_demo_class_data(hub_app)
        service = hub_app.classes
        # each node on its own clock origin: the hub must correct them (+2.5 s, -1.2 s, ...)
        self.sims = [
            SimSled("sled1", "sim-sled1", broker, distance_m=DEMO_SLED_DISTANCE_M, node_offset_us=2_500_000, seed=11),
            SimSled("sled2", "sim-sled2", broker, distance_m=DEMO_SLED_DISTANCE_M, node_offset_us=-1_200_000, seed=12),
            SimLane("lane1", "sim-lane1", broker, node_offset_us=4_100_000, seed=13),
            SimLane("lane2", "sim-lane2", broker, dual_finish=True, node_offset_us=-3_300_000, seed=14),
        ]
        self.hub = hub
        self.roster = {a.nickname: a for a in demo_roster()}
        self.demo_class = DemoClass(hub, [s.station_id for s in self.sims], list(self.roster.values()),
                                    timing=timing, autostart=autostart,
                                    yield_to=lambda: service.current() is not None)
        self._performing: list[threading.Thread] = []
        self._stop = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        hub.go_listeners.append(self._on_go)

    def _athlete(self, station_id: str) -> DemoAthlete:
        """The simulated body for whoever is up at ``station_id``: a demo nickname's own profile, or
        one made from the name (the same name always runs alike)."""
        current = self.hub.book.current(station_id)
        name = current.athlete if current else ""
        return self.roster.get(name) or demo_roster(seed=zlib.crc32(name.encode()), size=1)[0]

    def _on_go(self, signals: dict[str, int]) -> None:
        """A GO at any station (demo class, tablet, API): its simulated athlete runs. Pipeline thread:
        only starts threads. Hub clock µs and ``time.monotonic()`` share one origin in this process."""
        sims = {s.station_id: s for s in self.sims}
        configs = self.hub.engine.stations
        self._performing = [t for t in self._performing if t.is_alive()]
        for station_id, signal_us in signals.items():
            sim = sims.get(station_id)
            if sim is None or self._stop.is_set():
                continue
            args: tuple[Any, ...] = (self._athlete(station_id), signal_us / 1e6, self._stop)
            if isinstance(sim, SimSled):  # pull the distance the station runs with now (a circuit's own)
                args += (getattr(configs.get(station_id), "distance_m", None),)
            th = threading.Thread(target=sim.perform, args=args, name=f"sledhub-sim-{station_id}", daemon=True)
            th.start()
            self._performing.append(th)

    def start(self) -> None:
        with self._lock:
            for sim in self.sims:
                sim.start()
            self.demo_class.start()
            self._started = True

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            self._stop.set()
            self.demo_class.stop()
            for th in self._performing:
                th.join(10)
            for sim in self.sims:
                sim.stop()

    def start_class(self) -> None:
        self.demo_class.start_class()

    def stop_class(self) -> None:
        self.demo_class.stop_class()

    def state(self) -> dict[str, Any]:
        return self.demo_class.state()


def attach_demo(hub_app: "HubApp", broker: tuple[str, int], autostart: bool = True,
                timing: DemoTiming = DemoTiming()) -> DemoRig:
    """Seed the demo stations and attach the simulated nodes and class to ``hub_app``."""
    rig = DemoRig(hub_app, broker, autostart=autostart, timing=timing)
    hub_app.demo = rig
    return rig
