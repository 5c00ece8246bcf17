"""The setup service: live readings, calibration wizards, settings pushed to nodes, health and warnings.

All its state lives on the hub's pipeline thread, like the engine's: :meth:`SetupService.on_item` is a
``hub.listeners`` entry (every protocol message and engine output), :meth:`SetupService.tick` a pipeline
ticker; the web layer calls everything else through :meth:`SetupService.call` (``run_sync``), so
nothing here needs a lock and nothing blocks the pipeline (commands are published without waiting;
their ``ack`` arrives later as a message).

Pushes (Socket.IO): ``setup:readings`` to the ``setup`` room a few times per second (changed readings,
node states, changed wizards), ``setup:view`` to the room when something structural changed (a node
appeared or went offline, a station or calibration was saved), and ``setup:warnings`` to every page when
the set of pre-class warnings changes (the instructor's tablet shows them).

Settings the hub keeps nodes running with: the newest stored calibration of each sensor (load cell
``offset_counts`` + ``scale_counts_per_n``, encoder ``counts_per_m`` + ``invert``, a beam's
``broken_level``) is pushed again whenever the node describes itself with other values (after a reboot:
settings pushed at run time are not in the node's config file), once per node boot; a load cell bound to a
sled that can switch its HX711 to 80 samples/s (``rate_pin`` wired) is switched.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from server.engine.enums import ACTIVE_STATES, AttemptState
from server.engine.outputs import AttemptStateChanged
from server.errors import Conflict, NotFound
from server.protocol import CommandAck, NodeDescriptor, NodeHealth, NodeStatus, SensorEvent, TelemetryBatch
from server.setup import calibration as cal
from server.setup.health import (KIND_LABELS, SensorFacts, Thresholds, effective_state, missing_roles,
                                 role_label, sensor_health)
from server.setup.forget import NodeForgetter
from server.setup.readings import LiveReadings
from server.setup.stations import parse_station
from server.setup.store import Calibration, CalibrationStore
from server.setup.wizards import WIZARDS, Command, State, Wizard
from server.store.db import Database
from server.store.stations import Station

if TYPE_CHECKING:
    from server.hub.service import Hub

ROOM = "setup"
NEW_NODES_SHOWN = 8
"""New (unadopted) nodes ``/setup`` shows in full; the others are listed one line each."""
Emit = Callable[[str, Any, "str | None"], None]
SensorKey = tuple[str, str]
SLED_RATE_HZ = 80
SILENT_CHECK_US = 100_000
"""How often (µs of hub time) the pipeline's tick looks for nodes gone silent (or back): a node is silent
after missing clock pings seconds apart, so a tenth of a second is at once for a screen."""


@dataclass
class PendingCommand:
    cmd_id: str
    node_id: str
    sensor_id: str
    command: Command
    sent_us: int
    wizard_id: str | None = None


@dataclass
class _ErrorCounter:
    """A node's encoder error counter and when it grew."""

    boot_id: str | None = None
    last: int | None = None
    increases: deque = field(default_factory=deque)  # (rx_us, how many)


class SetupService:
    """See the module docstring. ``emit(event, data, room)`` sends a Socket.IO event (room None: all);
    ``watched()`` says whether anyone is in the ``setup`` room (nothing is computed for it otherwise)."""

    def __init__(self, hub: "Hub", db: Database, emit: Emit, *, watched: Callable[[], bool] = lambda: True,
                 wall_clock: Callable[[], float] = time.time,
                 thresholds: Thresholds = Thresholds(), ack_timeout_us: int = 5_000_000,
                 push_interval_us: int = 250_000, view_interval_us: int = 500_000,
                 warnings_interval_us: int = 1_000_000):
        self.hub = hub
        self.calibrations = CalibrationStore(db, wall_clock)
        self.readings = LiveReadings()
        self.thresholds = thresholds
        self.wizards: dict[str, Wizard] = {}
        self.sync: dict[SensorKey, dict[str, Any]] = {}
        self._emit = emit
        self._watched = watched
        self._wall = wall_clock
        self.ack_timeout_us = ack_timeout_us
        self._intervals = (push_interval_us, view_interval_us, warnings_interval_us)
        self._due = [0, 0, 0]
        self._active: dict[SensorKey, str] = {}
        self._owners: dict[str, str] = {}
        self._pending: dict[str, PendingCommand] = {}
        self._sync_tried: set[tuple[str, str, str]] = set()
        self._boots: dict[str, str] = {}
        self._errors: dict[str, _ErrorCounter] = {}
        self._dirty_wizards: set[str] = set()
        self._view_dirty = True
        self._warnings_key: Any = None
        self._silent: frozenset[str] = frozenset()
        self._silent_due = 0
        self.forgetter = NodeForgetter(hub, wall_clock=wall_clock, on_forget=self._forgotten)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the pipeline thread and return its result (web handlers use this)."""
        return self.hub.pipeline.run_sync(fn)

    def _now_us(self) -> int:
        return self.hub.clock_us()

    # -- hub listener (pipeline thread) --------------------------------------------------------------------
    def on_item(self, item: Any) -> None:
        kind = type(item)
        if kind is TelemetryBatch:
            self.readings.on_batch(item)
            w = self._wizard_for(item.node, item.sensor) if self._active else None
            if w is not None:
                cmds: list[Command] = []
                for sample in item.samples:
                    cmds += w.on_sample(sample[1], sample[2], item.rx_us / 1e6, sample[0])
                self._after(w, cmds, item.rx_us)
        elif kind is SensorEvent:
            self.readings.on_event(item)
            w = self._wizard_for(item.node, item.sensor)
            if w is not None:
                self._after(w, w.on_event(item.kind, item.t_us, dict(item.detail or {}), item.rx_us / 1e6), item.rx_us)
        elif kind is NodeStatus:
            self._on_status(item)
        elif kind is NodeDescriptor:
            self._view_dirty = True
            self._sync_node(item.node, item.boot_id, item.rx_us)
        elif kind is NodeHealth:
            self._count_errors(item)
        elif kind is CommandAck:
            self._on_ack(item)
        elif kind is AttemptStateChanged:
            self._view_dirty = True

    def _on_status(self, item: NodeStatus) -> None:
        if item.stale:
            return
        self._view_dirty = True
        if item.state == "online" and self._boots.get(item.node) != item.boot_id:
            self._boots[item.node] = item.boot_id
            self.readings.forget_node(item.node)

    def _count_errors(self, item: NodeHealth) -> None:
        c = self._errors.setdefault(item.node, _ErrorCounter())
        if c.boot_id != item.boot_id:
            fresh_boot = item.uptime_s * 1e6 < self.thresholds.encoder_errors_window_s * 1e6
            c.boot_id, c.last = item.boot_id, 0 if fresh_boot else item.encoder_errors
        if c.last is not None and item.encoder_errors > c.last:
            c.increases.append((item.rx_us, item.encoder_errors - c.last))
        c.last = item.encoder_errors

    def _new_errors(self, node_id: str, now_us: int) -> int:
        c = self._errors.get(node_id)
        if c is None:
            return 0
        window_us = self.thresholds.encoder_errors_window_s * 1e6
        while c.increases and now_us - c.increases[0][0] > window_us:
            c.increases.popleft()
        return sum(n for _, n in c.increases)

    # -- commands and acks -----------------------------------------------------------------------------------
    def _send(self, node_id: str, sensor_id: str, command: Command, now_us: int,
              wizard_id: str | None = None) -> dict[str, Any]:
        """Publish ``command``; returns what the sensor's settings state is now."""
        key = (node_id, sensor_id)
        try:
            cmd_id = self.hub.send_command(node_id, command.cmd, sensor_id, command.params)
        except (ValueError, RuntimeError) as exc:
            pending = PendingCommand("", node_id, sensor_id, command, now_us, wizard_id)
            self._settle(pending, False, None, f"The hub could not send the command: {exc}", now_us)
            return self.sync[key]
        self._pending[cmd_id] = PendingCommand(cmd_id, node_id, sensor_id, command, now_us, wizard_id)
        self.sync[key] = {"state": "pending", "cmd": command.cmd, "params": command.params, "error": None,
                          "at": self._wall()}
        self._view_dirty = True
        return self.sync[key]

    def _on_ack(self, ack: CommandAck) -> None:
        pending = self._pending.pop(ack.id, None)
        if pending is not None and pending.node_id == ack.node:
            error = None if ack.ok else f"The node answered: {ack.error or 'no reason given'}"
            self._settle(pending, ack.ok, dict(ack.result or {}), error, ack.rx_us)

    def _settle(self, p: PendingCommand, ok: bool, result: dict[str, Any] | None, error: str | None,
                now_us: int) -> None:
        self.sync[(p.node_id, p.sensor_id)] = {"state": "applied" if ok else "failed", "cmd": p.command.cmd,
                                              "params": p.command.params, "error": error, "at": self._wall()}
        self._view_dirty = True
        w = self.wizards.get(p.wizard_id) if p.wizard_id else None
        if w is not None:
            self._after(w, w.on_ack(ok, result, error, now_us / 1e6), now_us)

    # -- wizards ---------------------------------------------------------------------------------------------
    def _wizard_for(self, node_id: str, sensor_id: str) -> Wizard | None:
        wid = self._active.get((node_id, sensor_id))
        return self.wizards.get(wid) if wid else None

    def _after(self, w: Wizard, cmds: list[Command], now_us: int) -> None:
        """Send what the wizard asked for; store its outcome once it is done; forget it once ended."""
        self._dirty_wizards.add(w.id)
        for cmd in cmds:
            self._send(w.node_id, w.sensor_id, cmd, now_us, wizard_id=w.id)
        if w.state in (State.DONE, State.FAILED, State.CANCELLED) and self._active.get((w.node_id, w.sensor_id)) == w.id:
            del self._active[(w.node_id, w.sensor_id)]
            self._view_dirty = True
            if w.state is State.DONE and w.outcome is not None:
                sensor = self._sensor(w.node_id, w.sensor_id) or {}
                self.calibrations.add(w.node_id, w.sensor_id, sensor.get("kind", w.kind),
                                      w.outcome.params, w.outcome.report, self._owners.get(w.id, ""))

    def start_wizard(self, node_id: str, sensor_id: str, mode: str = "full", user_name: str = "") -> dict[str, Any]:
        """Start calibrating a sensor (see :mod:`server.setup.wizards`); NotFound or Conflict if it cannot start
        (InvalidInput from the wizard for a bad ``mode``)."""
        sensor = self._sensor(node_id, sensor_id)
        if sensor is None:
            raise NotFound(f"no sensor {node_id}/{sensor_id} has announced itself")
        state = self._node_state(self.hub.nodes.nodes[node_id], self._now_us())
        if state != "online":
            raise Conflict(f"node {node_id!r} is {'not answering' if state == 'silent' else state}: "
                                  "connect it first")
        running = self._wizard_for(node_id, sensor_id)
        if running is not None:
            raise Conflict(f"a calibration of {node_id}/{sensor_id} is already running ({running.id})")
        route = self.hub.router.route_of(node_id, sensor_id)
        if route is not None and self._station_state(route[0]) in ACTIVE_STATES:
            raise Conflict(f"{self._station_name(route[0])} is timing an attempt: calibrate it when it is idle")
        kind = sensor.get("kind")
        cls = WIZARDS.get(kind)
        if cls is None:
            raise Conflict(f"sensors of kind {kind!r} have no calibration")
        now_s = self._now_us() / 1e6
        wid = "w" + secrets.token_hex(5)
        calib = sensor.get("calibration") or {}
        if kind == "load_cell":
            w: Wizard = cls(wid, node_id, sensor_id, now_s, mode=mode,  # type: ignore[call-arg]
                            scale_counts_per_n=calib.get("scale_counts_per_n"))
        elif kind == "encoder":
            r = self.readings.get(node_id, sensor_id)
            w = cls(wid, node_id, sensor_id, now_s, latest_counts=r.raw if r else None,  # type: ignore[call-arg]
                    latest_t_us=r.t_us if r else None, counts_per_m=calib.get("counts_per_m"))
        else:
            w = cls(wid, node_id, sensor_id, now_s, window_s=calib.get("window_s"))  # type: ignore[call-arg]
        self.wizards[wid] = w
        self._owners[wid] = user_name
        self._active[(node_id, sensor_id)] = wid
        self._dirty_wizards.add(wid)
        self._view_dirty = True
        self._prune_wizards()
        return self.wizard_view(wid)

    def act(self, wizard_id: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """A user action on a wizard (``measure``, ``skip``, ``start``, ``finish``, ``fix``, ``cancel``, …)."""
        w = self.wizards.get(wizard_id)
        if w is None:
            raise NotFound(f"no calibration {wizard_id!r}")
        now_us = self._now_us()
        cmds = w.act(action, params, now_us / 1e6)
        self._after(w, cmds, now_us)
        return self.wizard_view(wizard_id)

    def wizard_view(self, wizard_id: str) -> dict[str, Any]:
        w = self.wizards.get(wizard_id)
        if w is None:
            raise NotFound(f"no calibration {wizard_id!r}")
        sensor = self._sensor(w.node_id, w.sensor_id) or {}
        return {**w.view(), "sensor_label": KIND_LABELS.get(sensor.get("kind", ""), w.kind),
                "reading": self.readings.view(w.node_id, w.sensor_id, self._now_us())}

    def _prune_wizards(self, keep: int = 20) -> None:
        ended = [wid for wid, w in self.wizards.items() if wid not in self._active.values()]
        for wid in ended[:-keep] if len(ended) > keep else []:
            self.wizards.pop(wid, None)
            self._owners.pop(wid, None)

    # -- settings the node must run with -----------------------------------------------------------------------
    def _sync_node(self, node_id: str, boot_id: str, now_us: int) -> None:
        """The node described itself: push stored calibrations it does not run with (once per boot)."""
        view = self.hub.nodes.nodes.get(node_id)
        for sensor in view.sensors if view else []:
            key = (node_id, sensor["id"])
            if self._wizard_for(*key) is not None or any(
                    (p.node_id, p.sensor_id) == key for p in self._pending.values()):
                continue
            stored = self.calibrations.current(*key)
            cmd = _restore_command(sensor, stored) if stored else None
            if cmd is not None and (node_id, boot_id, sensor["id"]) not in self._sync_tried:
                self._sync_tried.add((node_id, boot_id, sensor["id"]))
                self._send(node_id, sensor["id"], cmd, now_us)

    def _push_bound(self, station: Station, now_us: int) -> list[dict[str, Any]]:
        """After binding: each sensor gets its stored calibration, a sled's load cell 80 samples/s."""
        pushed = []
        for b in station.bindings:
            sensor = self._sensor(b.node_id, b.sensor_id) or {}
            cmds = []
            stored = self.calibrations.current(b.node_id, b.sensor_id)
            if stored is not None and (cmd := _restore_command(sensor, stored)) is not None:
                cmds.append(cmd)
            wiring = sensor.get("wiring") or {}
            if sensor.get("kind") == "load_cell" and sensor.get("rate_hz") != SLED_RATE_HZ and "rate_pin" in wiring:
                cmds.append(Command("set_rate", {"rate_hz": SLED_RATE_HZ}))
            for cmd in cmds:
                state = self._send(b.node_id, b.sensor_id, cmd, now_us)
                pushed.append({"node_id": b.node_id, "sensor_id": b.sensor_id, "cmd": cmd.cmd, "params": cmd.params,
                               "state": state["state"], "error": state["error"]})
        return pushed

    # -- stations ----------------------------------------------------------------------------------------------
    def save_station(self, body: dict[str, Any], station_id: str | None = None) -> dict[str, Any]:
        """Create (``station_id`` None) or replace a station with its bindings; push the nodes' settings."""
        existing = {s.id: s for s in self.hub.stations.all()}
        if station_id is not None and station_id not in existing:
            raise NotFound(f"no station {station_id!r}")
        if station_id is not None:  # a new station touches no other (a sensor bound elsewhere is refused)
            self._idle_or_refuse(station_id, "change")
        sensors = {(n, s["id"]): s.get("kind", "") for n, v in self.hub.nodes.nodes.items() for s in v.sensors}
        elsewhere = {(b.node_id, b.sensor_id): s.name for s in existing.values() if s.id != station_id
                     for b in s.bindings}
        station = parse_station(body, station_id=station_id, sensors=sensors, bound_elsewhere=elsewhere,
                                taken_ids=set(existing) - {station_id})
        self.hub.stations.upsert(station)
        self.hub.reload_stations()
        self._view_dirty = True
        return {"station": station.to_dict(), "pushed": self._push_bound(station, self._now_us())}

    def delete_station(self, station_id: str) -> dict[str, Any]:
        if self.hub.stations.get(station_id) is None:
            raise NotFound(f"no station {station_id!r}")
        self._idle_or_refuse(station_id, "remove")
        self.hub.stations.delete(station_id)
        self.hub.reload_stations()
        self._view_dirty = True
        return {"id": station_id, "deleted": True}

    def _idle_or_refuse(self, station_id: str, verb: str) -> None:
        """Refuse to ``verb`` (change, remove) a station while it is timing an attempt; the others — and
        adding a station — need not wait (:meth:`server.hub.service.Hub.reload_stations` leaves what
        did not change running)."""
        if self._station_state(station_id) in ACTIVE_STATES:
            raise Conflict(f"{self._station_name(station_id)} is timing an attempt: {verb} it when the attempt "
                           "has ended (every other station can be changed now)")

    def _station_name(self, station_id: str) -> str:
        """The gym's name for a station (its id only if it has none)."""
        station = self.hub.stations.get(station_id)
        return station.name if station is not None and station.name else station_id

    def _station_state(self, station_id: str) -> AttemptState:
        if station_id not in self.hub.engine.stations:
            return AttemptState.IDLE
        return self.hub.engine.state_of(station_id)

    # -- views -------------------------------------------------------------------------------------------------
    def _sensor(self, node_id: str, sensor_id: str) -> dict[str, Any] | None:
        view = self.hub.nodes.nodes.get(node_id)
        return next((s for s in view.sensors if s.get("id") == sensor_id), None) if view else None

    def _facts(self, node_id: str, sensor_id: str, station_id: str | None, now_us: int,
               gaps: dict[str, int]) -> SensorFacts:
        view = self.hub.nodes.nodes.get(node_id)
        sensor = self._sensor(node_id, sensor_id)
        reading = self.readings.get(node_id, sensor_id)
        kind = (sensor or {}).get("kind", "")
        calib = dict((sensor or {}).get("calibration") or {})
        online = view is not None and view.state == "online"
        fault_age = (now_us - reading.fault_rx_us) / 1e6 if reading and reading.fault else None
        return SensorFacts(
            node_id, sensor_id, kind, node_state=view.state if view else "unknown", described=sensor is not None,
            last_seen_s_ago=(now_us - view.last_seen_us) / 1e6 if view and view.last_seen_us else None,
            online_for_s=view.state_for_s(now_us) if online else None, rate_hz=(sensor or {}).get("rate_hz"),
            samples_per_s=reading.samples_per_s(now_us, self.readings.window_us) if reading else 0.0,
            gaps=gaps.get(node_id, 0), seq_messages=self.readings.seq_messages.get(node_id, 0),
            clock=self.hub.clock_sync.describe(node_id), calibration=calib,
            zero_drift_n=self._drift(node_id, sensor_id, station_id, calib, now_us) if kind == "load_cell" else None,
            encoder_errors=(view.health or {}).get("encoder_errors") if view else None,
            encoder_errors_new=self._new_errors(node_id, now_us), fault=reading.fault if reading else None,
            fault_age_s=fault_age)

    def _drift(self, node_id: str, sensor_id: str, station_id: str | None, calib: dict[str, Any],
               now_us: int) -> float | None:
        """Zero drift (N): only with the station idle, no calibration running and a steady reading."""
        scale, offset = calib.get("scale_counts_per_n"), calib.get("offset_counts")
        if not scale or offset is None or self._wizard_for(node_id, sensor_id) is not None:
            return None
        if station_id is not None and self._station_state(station_id) in ACTIVE_STATES:
            return None
        reading = self.readings.get(node_id, sensor_id)
        raw = reading.recent_raw(now_us, self.readings.recent_us) if reading else []
        if len(raw) < 3:
            return None
        stats = cal.sample_stats(raw)
        if stats.std / abs(scale) > 2.0:  # someone is pulling or leaning on it: not a zero reading
            return None
        drift = cal.zero_drift_n(stats.mean, offset, scale)
        return drift if math.isfinite(drift) else None

    def _node_state(self, view: Any, now_us: int) -> str:
        """The registry's state, or ``silent`` for an online node that has not answered for a while."""
        quiet_s = (now_us - view.last_seen_us) / 1e6 if view.last_seen_us else None
        return effective_state(view.state, quiet_s, self.thresholds)

    def _gaps(self) -> dict[str, int]:
        return {nid: n["gaps"] for nid, n in self.hub.protocol.stats()["nodes"].items()}

    def view(self, find: str = "", shown: int = NEW_NODES_SHOWN) -> dict[str, Any]:
        """Everything ``/setup`` shows (``GET /api/setup``). Nodes in stations come in full; of the new
        (unadopted) nodes only ``shown`` do (online and recently heard first; ``find`` picks those whose
        id contains it), the rest as one line each in ``new_nodes.hidden``, so a flood of hundreds of
        announcements keeps the page small."""
        now_us = self._now_us()
        stations = self.hub.stations.all()
        names = {s.id: s.name for s in stations}
        stored = self.calibrations.current_all()
        gaps = self._gaps()
        views = list(self.hub.nodes.nodes.values())
        fresh = [v for v in views if not self.hub.router.is_bound(v.node_id)]
        fresh.sort(key=lambda v: (v.state != "online", -v.last_seen_at, v.node_id))
        needle = find.strip().lower()
        picked = [v for v in fresh if needle in v.node_id.lower()][:shown]
        picked_ids = {v.node_id for v in picked}
        full = [v for v in views if v.node_id in picked_ids or self.hub.router.is_bound(v.node_id)]
        nodes = [self._node_view(v, names, stored, gaps, now_us) for v in full]
        nodes.sort(key=lambda n: (not n["new"], n["id"]))
        hidden = [{"id": v.node_id, "state": self._node_state(v, now_us), "last_seen_at": v.last_seen_at or None}
                  for v in fresh if v.node_id not in picked_ids]
        return {"nodes": nodes, "stations": [self._station_view(s) for s in stations],
                "new_nodes": {"total": len(fresh), "shown": len(picked), "find": find, "hidden": hidden},
                "wizards": [self.wizard_view(wid) for wid in self._active.values()],
                "warnings": self.warnings(now_us, stations)["warnings"], "server_time": self._wall()}

    def _node_view(self, v: Any, names: dict[str, str], stored: dict[SensorKey, Calibration],
                   gaps: dict[str, int], now_us: int) -> dict[str, Any]:
        out = v.to_dict(now_us, self.hub.clock_sync.describe(v.node_id))
        sensors = []
        for s in v.sensors:
            key = (v.node_id, s["id"])
            route = self.hub.router.route_of(*key)
            binding = None if route is None else {"station_id": route[0], "station_name": names.get(route[0], route[0]),
                                                 "role": route[1], "role_label": role_label(route[1])}
            cal_row = stored.get(key)
            wiz = self._active.get(key)
            sensors.append({**s, "label": KIND_LABELS.get(s.get("kind", ""), s.get("kind", "")), "binding": binding,
                            "reading": self.readings.view(*key, now_us),
                            "health": sensor_health(self._facts(*key, route[0] if route else None, now_us, gaps),
                                                    self.thresholds),
                            "calibrated_at": cal_row.calibrated_at if cal_row else None,
                            "stored": cal_row.params if cal_row else None, "sync": self.sync.get(key),
                            "wizard_id": wiz})
        out["sensors"] = sensors
        out["new"] = all(s["binding"] is None for s in sensors)
        out["effective_state"] = self._node_state(v, now_us)
        return out

    def _station_view(self, s: Station) -> dict[str, Any]:
        return {**s.to_dict(), "state": self._station_state(s.id).value,
                "missing_roles": missing_roles(s.kind, s.config, {b.role for b in s.bindings}),
                "role_labels": {b.role: role_label(b.role) for b in s.bindings}}

    def warnings(self, now_us: int | None = None, stations: list[Station] | None = None) -> dict[str, Any]:
        """What the instructor should know before a class (``GET /api/setup/warnings``)."""
        now_us = self._now_us() if now_us is None else now_us
        stations = self.hub.stations.all() if stations is None else stations
        gaps = self._gaps()
        out: list[dict[str, Any]] = []
        for s in stations:
            base = {"station_id": s.id, "station_name": s.name}
            for role in missing_roles(s.kind, s.config, {b.role for b in s.bindings}):
                out.append({**base, "level": "error", "code": "role_unbound", "role": role, "node_id": None,
                            "sensor_id": None, "message": f"{s.name}: no sensor for the {role_label(role)}"})
            for b in s.bindings:
                health = sensor_health(self._facts(b.node_id, b.sensor_id, s.id, now_us, gaps), self.thresholds)
                for w in health["warnings"]:
                    out.append({**base, **w, "role": b.role, "node_id": b.node_id, "sensor_id": b.sensor_id,
                                "message": f"{s.name}: {role_label(b.role)} — {w['message']}"})
        errors = sum(w["level"] == "error" for w in out)
        return {"ready": errors == 0, "errors": errors, "warnings_count": len(out) - errors, "warnings": out,
                "checked_at": self._wall()}

    # -- ticker (pipeline thread) --------------------------------------------------------------------------------
    def forget_node(self, node_id: str) -> dict[str, Any]:
        """``DELETE /api/setup/nodes/{node_id}`` (server/setup/forget.py)."""
        return self.forgetter.forget(node_id)

    def _forgotten(self, node_id: str) -> None:
        self._boots.pop(node_id, None)
        self._errors.pop(node_id, None)
        self._view_dirty = True

    def tick(self, now_us: int) -> None:
        self.forgetter.tick(now_us)
        if now_us >= self._silent_due:  # silence is counted in clock pings (seconds): 10 looks a second
            self._silent_due = now_us + SILENT_CHECK_US
            silent = frozenset(nid for nid, v in self.hub.nodes.nodes.items()
                               if self._node_state(v, now_us) == "silent")
            if silent != self._silent:  # a node stopped (or resumed) answering: tell everyone now
                self._silent = silent
                self._view_dirty = True
                self._due[1] = self._due[2] = 0
        for p in [p for p in self._pending.values() if now_us - p.sent_us > self.ack_timeout_us]:
            del self._pending[p.cmd_id]
            self._settle(p, False, None, f"The node did not answer within {self.ack_timeout_us / 1e6:g} s: "
                                         "is it online?", now_us)
        for wid in list(self._active.values()):
            w = self.wizards[wid]
            version = w.version
            cmds = w.tick(now_us / 1e6)
            if cmds or w.version != version:
                self._after(w, cmds, now_us)
        push, view, warn = self._intervals
        if now_us >= self._due[0]:
            self._due[0] = now_us + push
            if self._watched():
                self._push_readings(now_us)
            else:
                self.readings.take_changed()
                self._dirty_wizards.clear()
        if self._view_dirty and now_us >= self._due[1] and self._watched():
            self._due[1] = now_us + view
            self._view_dirty = False
            self._emit("setup:view", self.view(), ROOM)
        if now_us >= self._due[2]:
            self._due[2] = now_us + warn
            self._push_warnings(now_us)

    def _push_readings(self, now_us: int) -> None:
        changed = self.readings.take_changed()
        wizards, self._dirty_wizards = self._dirty_wizards, set()
        nodes = {nid: {"state": v.state, "effective_state": self._node_state(v, now_us),
                       "last_seen_s_ago": round((now_us - v.last_seen_us) / 1e6, 1) if v.last_seen_us else None}
                 for nid, v in self.hub.nodes.nodes.items()}
        if not changed and not wizards and not nodes:
            return
        self._emit("setup:readings", {
            "sensors": {f"{n}/{s}": self.readings.view(n, s, now_us) for n, s in changed},
            "nodes": nodes, "wizards": [self.wizard_view(wid) for wid in wizards if wid in self.wizards],
            "server_time": self._wall()}, ROOM)

    def _push_warnings(self, now_us: int) -> None:
        report = self.warnings(now_us)
        key = tuple((w["code"], w["station_id"], w["role"]) for w in report["warnings"])
        if key != self._warnings_key:
            self._warnings_key = key
            self._emit("setup:warnings", report, None)


def _restore_command(sensor: dict[str, Any], stored: Calibration) -> Command | None:
    """The command that brings ``sensor`` (as its node describes it) to the stored settings, if any."""
    calib = sensor.get("calibration") or {}
    p = stored.params
    if sensor.get("kind") == "load_cell" and p.get("scale_counts_per_n"):
        same = _close(calib.get("scale_counts_per_n"), p["scale_counts_per_n"]) and \
            _close(calib.get("offset_counts"), p.get("offset_counts", 0.0))
        params = {"scale_counts_per_n": p["scale_counts_per_n"], "offset_counts": p.get("offset_counts", 0.0)}
        return None if same else Command("calibrate", params)
    if sensor.get("kind") == "encoder" and p.get("counts_per_m"):
        same = _close(calib.get("counts_per_m"), p["counts_per_m"]) and bool(calib.get("invert")) == bool(p.get("invert"))
        return None if same else Command("calibrate", {"counts_per_m": p["counts_per_m"],
                                                       "invert": bool(p.get("invert"))})
    level = p.get("broken_level")
    if sensor.get("kind") in ("beam", "dual_beam") and level in ("low", "high"):
        now = (sensor.get("wiring") or {}).get("broken_level")
        return None if now in (None, level) else Command("configure", {"invert": True})
    return None


def _close(a: Any, b: Any) -> bool:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return False
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-3)
