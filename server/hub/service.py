"""The hub service: protocol → router → timing engine → store → broadcast, on the pipeline thread.

``Hub`` owns one :class:`~server.hub.pipeline.Pipeline`; MQTT messages and control calls from the web
handlers are serialised through it, so the engine, the node registry and the attempt book are only
ever touched by that one thread. Control methods (``arm``, ``go``, ``stop``, ``abort``) may be called
from any thread: they run on the pipeline and return its answer.

A result is committed to SQLite before it is broadcast.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from typing import Any, Callable

from server import engine as eng
from server.engine.enums import ACTIVE_STATES
from server.hub.attempts import AttemptBook, Assignment
from server.hub.broadcast import Broadcaster
from server.hub.clock_sync import ClockSync
from server.hub.live_progress import LiveProgress
from server.hub.nodes import NodeRegistry
from server.hub.pipeline import Pipeline
from server.protocol import (ClockPong, CommandAck, NodeDescriptor, NodeHealth, NodeStatus, Protocol,
                             SensorEvent, TelemetryBatch, make_command)
from server.hub.results_writer import ResultWriter
from server.hub.router import Router
from server.hub.run_journal import RunJournal
from server.hub.station_setup import engine_config
from server.store.db import Database
from server.store.results import ResultStore
from server.store.stations import StationStore

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int], bool]
PublishStamped = Callable[[str, bytes, Callable[[int], None]], bool]

FAST_PINGS = 8
"""A node boot with fewer clock samples than this is pinged every ``FAST_PING_INTERVAL_US`` (a good
offset within a second or two of a node coming online or the hub starting)."""
FAST_PING_INTERVAL_US = 250_000

CLOCK_SAVE_INTERVAL_US = 5_000_000
"""How often the node clock samples are saved for a restart (``RunJournal.save_state``)."""

BROKER_GRACE_US = 1_500_000
"""After the broker came back, the engine's clock stays where it was when the broker went away for this
long (then catches up), so what nodes held while they could not publish reaches it in time."""

TICK_S = 0.04
"""The pipeline's longest tick (s); it ticks once per live-frame slot (``timing.frame_interval_ms``, 40 ms by
default), every 40 ms if the slots are longer, every :data:`MIN_TICK_S` if they are shorter. At each tick the
engine's clock moves, live frames are flushed, the journal is written. Every tick costs work whether or not
anything happened (every station is advanced): at 10 ms the tickers were a third of the hub's CPU at class
load; 20 → 40 ms took 9–10 % off the replayed load (bench/README.md, "One tick per frame slot")."""

MIN_TICK_S = 0.02
"""The pipeline's shortest tick (s), whatever the frame interval."""

STALL_US = 250_000
"""Two pipeline ticks (due every 40 ms) this far apart mean the hub itself froze (SIGSTOP, swapping, a
VM pause): it is then treated like a broker outage from the last tick to now, so what the nodes sent
meanwhile (still in the kernel and the broker) reaches the engine before its clock moves on."""

CATCH_UP_STEP_US = round(10 * TICK_S * 1e6)
"""After a stall, the engine's clock moves at most this far per pipeline tick (400 ms with 40 ms ticks:
ten ticks' worth, so it catches up at 10× real time whatever the tick); in normal running a tick moves
it one tick."""

CLOCK_WARN_US = 1_000
"""A result warns when a node of its station has a clock estimate that could be more than this off
(1 ms: the timing accuracy a gym is promised)."""

TIMED_FROM_GO = frozenset({eng.StartMode.GO_COUNTDOWN, eng.StartMode.REACTION_RANDOM})
"""Start modes whose time starts at the hub's GO signal (their nodes' clock lines are not held)."""

LIVE_RETAIN_MARGIN_US = 300_000
"""Live progress keeps a station's samples for the lateness bound plus this (µs) behind the newest, so the
sample the engine's progress was measured from (the lateness bound and a tick or two behind) is still
held (``server/hub/live_progress.py``); ≈ 120 samples of a sled pulled at 1 m/s."""


def monotonic_us() -> int:
    """The hub clock: monotonic time in integer microseconds."""
    return time.monotonic_ns() // 1000


class Hub:
    """Wires the hub's parts together; see the module docstring."""

    def __init__(self, db: Database, broadcaster: Broadcaster, *, clock_us: Callable[[], int] = monotonic_us,
                 wall_clock: Callable[[], float] = time.time, lateness_us: int = 300_000,
                 ping_interval_us: int = 2_000_000, host_boot: str | None = None):
        self.db = db
        self.clock_us = clock_us
        self.broadcaster = broadcaster
        self.protocol = Protocol()
        self.clock_sync = ClockSync()
        self.nodes = NodeRegistry(db, wall_clock)
        self.stations = StationStore(db)
        self.results = ResultStore(db)
        self.router = Router(self.clock_sync.offset_us)
        self.engine = eng.TimingEngine(lateness_us=lateness_us)
        # live frames from the newest samples; kept long enough to hold the engine's watermark sample
        self.live = LiveProgress(retain_us=lateness_us + LIVE_RETAIN_MARGIN_US)
        broadcaster.frame_source = self.live.frames
        self.book = AttemptBook(prefix=f"{int(wall_clock()):x}")
        self.writer = ResultWriter(self.results, self.book, broadcaster, wall_clock)
        tick_s = max(MIN_TICK_S, min(TICK_S, broadcaster.frame_interval_us / 1e6))  # one tick per frame slot
        self._catch_up_us = round(CATCH_UP_STEP_US * tick_s / TICK_S)
        self.pipeline = Pipeline(self._on_message, clock_us, tick_s=tick_s)
        self.journal = RunJournal(db, host_boot)  # host_boot None: runs are not resumed after a restart
        self._journaled: frozenset[str] = frozenset()  # stations whose inputs are journaled (active attempts)
        self._clock_saved_us = 0
        self.pipeline.add_ticker(self._advance)
        self.pipeline.add_ticker(self._ping_clocks)
        self.pipeline.add_ticker(broadcaster.flush)
        self.pipeline.add_ticker(self.writer.retry)  # results the database refused (disk full, read-only)
        self.pipeline.add_ticker(self._persist)
        self._ping_interval_us = ping_interval_us
        self._last_ping_us = 0
        self._publish: Publish | None = None
        self._publish_stamped: PublishStamped | None = None
        self._last_fast_ping_us = 0
        self._overrides: dict[str, dict[str, Any]] = {}
        self._finish_shown: dict[str, None] = {}
        self._deferred_configs: dict[str, Any] = {}
        self._rng = random.Random()  # reaction-start delays: drawn here, at the edge, never in the engine
        self.late_events = 0
        self.late_events_used = 0  # late, but nothing at the station had happened since: applied
        self._advanced_us = 0
        self._ticked_us = 0  # hub time of the last tick (a stall shows as a gap)
        # the engine's clock is held at _held_from_us (the broker went away, or the hub froze) until
        # BROKER_GRACE_US after _release_from_us (None: it is not back yet)
        self._held_from_us: int | None = None
        self._release_from_us: int | None = None
        self.listeners: list[Callable[[Any], None]] = []
        self.go_listeners: list[Callable[[dict[str, int]], None]] = []
        self.reload_stations()

    # lifecycle ----------------------------------------------------------------------------------
    def attach_publisher(self, publish: Publish, publish_stamped: PublishStamped | None = None) -> None:
        """Give the hub a way to send MQTT messages (commands, clock pings). ``publish_stamped`` (QoS 0)
        reports the time just before a message was written (``MqttLink.publish_stamped``): a clock ping's ``t1``."""
        self._publish = publish
        self._publish_stamped = publish_stamped

    def start(self) -> None:
        self._resume()
        self.pipeline.start()

    def stop(self) -> None:
        self.pipeline.stop()
        self._persist(self.clock_us(), final=True)  # the journal never raises when the disk refuses

    def broker_state(self, connected: bool) -> None:
        """The MQTT link lost (False) or regained (True) the broker; any thread. The time is read here,
        not when the pipeline gets to it behind a backlog."""
        now_us = self.clock_us()
        self.pipeline.post(lambda: self._broker_state(connected, now_us))

    def _broker_state(self, connected: bool, now_us: int) -> None:
        if not connected:
            if self._held_from_us is None:
                self._held_from_us = now_us
            self._release_from_us = None
        elif self._held_from_us is not None:
            self._release_from_us = now_us

    def submit(self, topic: str, payload: bytes, rx_us: int) -> None:
        """Entry point for MQTT messages (paho's thread): queue and return."""
        self.pipeline.submit(topic, payload, rx_us)

    def submit_batch(self, messages: list[tuple[str, bytes]], rx_us: int) -> None:
        """Entry point for MQTT messages read together (paho's thread, ``(topic, payload)`` in order)."""
        self.pipeline.submit_batch(messages, rx_us)

    # stations -----------------------------------------------------------------------------------
    def reload_stations(self) -> None:
        """Re-read stations and bindings from the store into the router and the engine. A station whose
        engine configuration did not change keeps running as it is (an attempt it is timing goes on
        while another station is added or changed); a changed one is reconfigured at once, or as soon
        as its running attempt has ended."""
        def load() -> None:
            stations = self.stations.all()
            self.router.load(stations)
            self._hold_clocks()  # a station's nodes may have changed
            configs = [engine_config(s, self._overrides.get(s.id)) for s in stations]
            for cfg in configs:
                if self.engine.stations.get(cfg.station_id) != cfg:
                    self._deferred_configs[cfg.station_id] = cfg
            self._apply_deferred_configs()
        self.pipeline.run_sync(load)

    def set_station_overrides(self, params: dict[str, dict[str, Any]]) -> None:
        """Run stations with a circuit's parameters (``{station_id: {option: value}}``; ``{}`` = their
        own settings). Checked in full before anything changes; ``ValueError`` names the problem. A
        station still running an attempt (e.g. one just aborted: commands take effect at the engine's
        watermark) gets its new settings as soon as that attempt has ended."""
        def apply() -> None:
            stations = {s.id: s for s in self.stations.all()}
            unknown = sorted(set(params) - set(stations))
            if unknown:
                raise ValueError(f"unknown station(s): {', '.join(unknown)}")
            configs = [engine_config(s, params.get(s.id)) for s in stations.values()]
            self._overrides = {k: dict(v) for k, v in params.items()}
            for cfg in configs:
                self._deferred_configs[cfg.station_id] = cfg
            self._apply_deferred_configs()
        self.pipeline.run_sync(apply)

    def _apply_deferred_configs(self) -> None:
        for sid, cfg in list(self._deferred_configs.items()):
            if sid not in self.engine.stations or self.engine.state_of(sid) not in ACTIVE_STATES:
                self.engine.configure_station(cfg)
                del self._deferred_configs[sid]

    # control (any thread) -----------------------------------------------------------------------
    def arm(self, entries: list[tuple[str, str, str | None, str | None]]) -> list[Assignment]:
        """Arm a heat: ``entries`` are ``(station_id, athlete, member_id, class_id)``."""
        def do() -> list[Assignment]:
            unknown = [e[0] for e in entries if e[0] not in self.engine.stations]
            if unknown:
                raise ValueError(f"unknown station(s): {', '.join(unknown)}")
            made = self.book.new_heat(entries)
            t = self.clock_us()
            self.engine.arm([a.station_id for a in made], {a.station_id: a.attempt_id for a in made},
                            t, heat_id=made[0].heat_id)
            self._journal_arm(made, t)
            self.broadcaster.event("armed", [a.__dict__ for a in made])
            return made
        return self.pipeline.run_sync(do)

    def go(self, station_ids: list[str], go_delay_us: int | None = None) -> int:
        """Start the armed stations; returns the hub time (µs) of the GO command.

        ``go_delay_us`` None: reaction-start (REACTION_RANDOM) stations get one random delay drawn from
        their window, the same for the whole heat (fair); other stations get none.

        The GO-signal time of every station (after its countdown and ``go_delay_us``) is pushed at once
        as a ``go`` event, so screens can count down and beep in step, and handed to ``go_listeners``.
        """
        def do() -> int:
            t = self.clock_us()
            configs = self.engine.stations
            drawn = next((eng.draw_go_delay_us(configs[sid], self._rng) for sid in station_ids
                          if sid in configs and configs[sid].start_mode is eng.StartMode.REACTION_RANDOM), 0)
            signals: dict[str, int] = {}
            for sid in station_ids:
                reaction = sid in configs and configs[sid].start_mode is eng.StartMode.REACTION_RANDOM
                delay = go_delay_us if go_delay_us is not None else (drawn if reaction else 0)
                signals.update(self.engine.go(sid, t, go_delay_us=delay if reaction else 0))
                if sid in self._journaled:
                    self.journal.add("go", {"s": sid, "t": t, "d": delay if reaction else 0})
            self.broadcaster.event("go", {"t_us": t, "now_us": self.clock_us(), "signals": signals})
            for listener in self.go_listeners:
                listener(signals)
            return t
        return self.pipeline.run_sync(do)

    def stop_station(self, station_id: str) -> None:
        def do() -> None:
            t = self.clock_us()
            self.engine.stop(station_id, t)
            if station_id in self._journaled:
                self.journal.add("stop", {"s": station_id, "t": t})
        self.pipeline.run_sync(do)

    def abort(self, station_id: str, reason: str = "aborted by instructor") -> None:
        def do() -> None:
            t = self.clock_us()
            self.engine.abort(station_id, t, reason)
            if station_id in self._journaled:
                self.journal.add("abort", {"s": station_id, "t": t, "why": reason})
        self.pipeline.run_sync(do)

    def send_command(self, node_id: str, cmd: str, sensor: str | None = None,
                     params: dict[str, Any] | None = None) -> str:
        """Send a command to a node; returns the command id (the node answers on ``ack``)."""
        cmd_id, topic, payload = make_command(node_id, cmd, sensor, params)
        if self._publish is None or not self._publish(topic, payload, 1):
            raise RuntimeError("the hub is not connected to the broker")
        return cmd_id

    # pipeline thread ----------------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes, rx_us: int) -> None:
        for item in self.protocol.handle(topic, payload, rx_us):
            self.nodes.seen(item.node, rx_us)
            self._dispatch(item, rx_us)

    def _dispatch(self, item: Any, rx_us: int) -> None:
        if isinstance(item, TelemetryBatch):
            routed = self.router.batch_route(item.node, item.sensor, item.samples, rx_us, item.boot_id)
            if routed is not None:
                station_id, role, offset_us = routed
                self._show_finish(self.engine.peek_finish_samples(station_id, role, item.kind, item.samples,
                                                                  offset_us), item)
                self.engine.ingest_samples(station_id, role, item.kind, item.samples, offset_us)
                self.live.samples(station_id, role, item.kind, item.samples, offset_us)
                if station_id in self._journaled:
                    self.journal.samples(station_id, role, item.kind, item.samples, offset_us)
        elif isinstance(item, SensorEvent):
            ev = self.router.event(item.node, item.sensor, item.kind, item.t_us, rx_us, boot_id=item.boot_id)
            if ev is not None:
                self._show_finish(self.engine.peek_finish(ev), item)
                self.engine.ingest(ev)
                if ev.station_id in self._journaled:
                    self.journal.event(ev.station_id, ev.role, ev.kind, ev.t_us, ev.value)
                    self.journal.flush()  # paho acknowledged it to the broker when it read it: no redelivery
        elif isinstance(item, ClockPong):
            self.clock_sync.pong(item)
        elif isinstance(item, NodeStatus) and item.stale:
            # the Last Will of an earlier boot, delivered late: the node is up; ask it to re-announce
            self._rebirth(item.node)
        elif isinstance(item, NodeStatus):
            if item.state == "online":  # clocks are kept per boot: a repeated online changes nothing
                self._ping_node(item.node, self.clock_us())
            if self.nodes.status(item.node, item.state, item.boot_id):
                self.broadcaster.event("node", {"id": item.node, "state": item.state})
        elif isinstance(item, NodeDescriptor):
            sensors = [s.to_dict() for s in item.sensors]
            self.nodes.descriptor(item.node, item.boot_id, item.fw, sensors)
        elif isinstance(item, NodeHealth):
            self.nodes.health(item.node, item.to_dict())
        elif isinstance(item, CommandAck):
            self.broadcaster.event("ack", item.to_dict())
        for listener in self.listeners:
            listener(item)

    def _show_finish(self, seen: eng.ProvisionalFinish | None, item: Any) -> None:
        """A finish is pushed to screens the moment the message carrying it arrives (``finish``,
        provisional, once per attempt); the result of record follows once the lateness bound has
        passed (``result``)."""
        if seen is not None and seen.attempt_id not in self._finish_shown:
            self._finish_shown[seen.attempt_id] = None
            self.live.end(seen.station_id, seen.attempt_id)  # the finish and the result take over the tile
            while len(self._finish_shown) > 256:
                self._finish_shown.pop(next(iter(self._finish_shown)))
            a = self.book.get(seen.attempt_id)
            self.broadcaster.event("finish", {**seen.to_dict(), "athlete": a.athlete if a else "",
                                              "provisional": True,
                                              "source": {"node": item.node, "seq": item.seq, "rx_us": item.rx_us},
                                              "emit_us": self.clock_us()})

    def _rebirth(self, node_id: str) -> None:
        try:
            self.send_command(node_id, "rebirth")
        except RuntimeError:
            log.warning("could not ask node %s to re-announce itself (no broker)", node_id)

    def _advance(self, now_us: int) -> None:
        """The engine's clock: the hub clock, except that it never runs ahead of a backlog the pipeline is
        working off, and after a stall (the process or the machine froze: the clock jumped between two ticks)
        it catches up ten ticks' worth per tick (``CATCH_UP_STEP_US`` at 40 ms), so the messages the stall
        held back in the broker, the kernel and paho reach the engine first instead of arriving late. While
        the broker is away, and for ``BROKER_GRACE_US`` after it is back, it stays at the time it went away
        (the nodes hold their messages meanwhile and send them once reconnected). A freeze of the hub
        itself (ticks more than ``STALL_US`` apart) is held the same way, from the last tick: its backlog
        is stamped with receipt times after the freeze, so the pipeline's backlog cannot show it."""
        if self._ticked_us and now_us - self._ticked_us > STALL_US and self._held_from_us is None:
            self._held_from_us, self._release_from_us = self._ticked_us, now_us
        self._ticked_us = now_us
        behind = self.pipeline.behind_rx_us  # working off a backlog: the watermark waits for the queue
        if behind is not None and behind < now_us:
            now_us = behind
        if self._held_from_us is not None:  # no broker, or the hub froze: what comes now is not late yet
            if self._release_from_us is None or now_us - self._release_from_us < BROKER_GRACE_US:
                now_us = min(now_us, self._held_from_us)
            else:
                self._held_from_us = self._release_from_us = None
        if self._advanced_us and now_us - self._advanced_us > self._catch_up_us:
            now_us = self._advanced_us + self._catch_up_us
        now_us = max(now_us, self._advanced_us)
        self._advanced_us = now_us
        changed = False
        for out in self.engine.advance(now_us):
            changed = self._output(out) or changed
        if changed:  # once all are in: a voided false start's finish is followed by its re-arm
            self._attempts_changed()
        if self._deferred_configs:
            self._apply_deferred_configs()

    def _with_clock_warnings(self, result: Any) -> Any:
        """``result`` with a ``clock_uncertain:<node>_<bound>us`` warning per node of its station whose
        clock estimate could be more than ``CLOCK_WARN_US`` off (young: few ping samples, drift not fitted
        yet) and ``clock_unknown:<node>`` per node never synchronised (its times are receipt-time guesses)."""
        warnings = []
        for node in sorted(self.router.nodes_of(result.station_id)):
            bound = self.clock_sync.error_bound_us(node)
            if bound is None:
                warnings.append(f"clock_unknown:{node}")
            elif bound > CLOCK_WARN_US:
                warnings.append(f"clock_uncertain:{node}_{bound}us")
        return dataclasses.replace(result, warnings=[*result.warnings, *warnings]) if warnings else result

    def _output(self, out: Any) -> bool:
        """Hand one engine output on; True when it changed which attempts are in progress (the book: a
        result, a voided false start's re-arm, a refused arm)."""
        moved = False
        if isinstance(out, eng.Progress):
            self.live.watermark(out)  # frames are made from the newest samples at the next flush
        elif isinstance(out, eng.AttemptFinished):
            self.writer.finished(self._with_clock_warnings(out.result))
            moved = True
        elif isinstance(out, eng.AttemptStateChanged):
            if out.rearmed_from is not None and out.state is eng.AttemptState.ARMED:
                self.book.rearmed(out.station_id, out.rearmed_from)  # its journal and clock holds go on
                moved = True
            cfg = self.engine.stations.get(out.station_id)
            self.live.state(out, getattr(cfg, "velocity_window_s", 0.05), getattr(cfg, "time_cap_s", None))
            self.broadcaster.event("attempt", out.to_dict())
        elif isinstance(out, eng.FalseStartDetected):
            self.broadcaster.event("false_start", out.to_dict())
        elif isinstance(out, eng.LateEvent):
            if out.used:
                self.late_events_used += 1
            else:
                self.late_events += 1
        elif isinstance(out, eng.CommandRejected):
            if out.command == "arm" and out.attempt_id is not None:  # the station's attempt is the one it had
                sid = out.station_id
                self.book.refused(out.attempt_id, self.engine.attempt_id_of(sid)
                                  if self.engine.state_of(sid) in ACTIVE_STATES else None)
                moved = True
            self.broadcaster.event("command_rejected", out.to_dict())
        for listener in self.listeners:
            listener(out)
        return moved

    # restart safety (server/hub/run_journal.py) -------------------------------------------------------
    def _journal_arm(self, made: list[Assignment], t_us: int) -> None:
        """Start (or go on) journaling the heat's stations: what they start from, then the arm. Attempts
        of a class session are not journaled: the session re-arms its attempts in flight after a
        restart (``ClassService.restore`` marks them lost), which a resumed attempt would block."""
        made = [a for a in made if a.class_id is None]
        self._attempts_changed()
        if not made:
            return
        for a in made:
            for ev in self.engine.resume_inputs(a.station_id):
                self.journal.event(ev.station_id, ev.role, ev.kind, ev.t_us, ev.value)
        self.journal.add("arm", {"t": t_us, "heat": made[0].heat_id,
                                 "a": [[a.attempt_id, a.station_id, a.athlete, a.member_id, a.class_id]
                                       for a in made]})

    def _attempts_changed(self) -> None:
        """The book's attempts in progress changed (an arm, a result): journal and clock holds follow."""
        self._journal_update()
        self._hold_clocks()

    def _hold_clocks(self) -> None:
        """Hold the clock line of every node serving a station with an attempt in progress whose time
        starts at a node's edge (fly-through, hold-in-beam, first movement), so its start and finish
        are placed with one line (``ClockSync.hold_only``): a pong arriving mid-run no longer moves the
        finish against the start. A run timed from the hub's GO signal is not held: its time is a node
        time against a hub time, which the live estimate places best."""
        configs = self.engine.stations
        stations = {a.station_id for a in self.book.current_all()
                    if getattr(configs.get(a.station_id), "start_mode", None) not in TIMED_FROM_GO}
        self.clock_sync.hold_only({n for sid in stations for n in self.router.nodes_of(sid)})

    def _journal_update(self) -> None:
        self._journaled = frozenset(a.station_id for a in self.book.current_all() if a.class_id is None)
        if not self._journaled:
            self.journal.clear()

    def _persist(self, now_us: int, final: bool = False) -> None:
        """Every tick: write the journal's new entries; every 5 s (and at stop): the node clocks and the
        protocol's sequence trackers (dedupe, gaps)."""
        self.journal.flush()
        if final or now_us - self._clock_saved_us >= CLOCK_SAVE_INTERVAL_US:
            self._clock_saved_us = now_us
            if self.journal.host_boot is not None:
                self.journal.save_state("clock", {"host_boot": self.journal.host_boot,
                                                  "nodes": self.clock_sync.export()})
            self.journal.save_state("seqs", self.protocol.export_seqs())

    def _resume(self) -> None:
        """After a restart: take back the sequence trackers; on the same machine boot also the node clocks,
        and replay the runs that were armed or running (their results come once the engine's clock has
        caught up)."""
        seqs = self.journal.load_state("seqs")
        if isinstance(seqs, dict):
            self.protocol.restore_seqs(seqs, self.clock_us())  # dedupe and gap counts go on where they were
        host_boot = self.journal.host_boot
        clock = self.journal.load_state("clock") if host_boot else None
        if isinstance(clock, dict) and clock.get("host_boot") == host_boot and isinstance(clock.get("nodes"), dict):
            self.clock_sync.restore(clock["nodes"])
        last_t = 0
        entries = self.journal.entries()
        for kind, body in entries:
            try:
                last_t = max(last_t, self._replay(kind, body))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("run journal: %s entry not replayed: %s", kind, exc)
        if entries:
            self._attempts_changed()
            self._advanced_us = min(last_t, self.clock_us())  # catch up from there, ten ticks' worth a tick
            log.info("resumed %d armed or running attempt(s) from the run journal (%d entries)",
                     len(self._journaled), len(entries))

    def _replay(self, kind: str, b: dict[str, Any]) -> int:
        """Apply one journal entry to the engine (and book); returns its hub time."""
        if kind == "event":
            self.engine.ingest(eng.EngineEvent(b["s"], b["r"], b["k"], int(b["t"]), b["v"]))
            return int(b["t"])
        if kind == "samples":
            samples = [tuple(x) for x in b["x"]]
            self.engine.ingest_samples(b["s"], b["r"], b["k"], samples, int(b["o"]))
            return max((int(x[0]) for x in samples), default=0) + int(b["o"])
        t = int(b["t"])
        if kind == "arm":
            made = [Assignment(aid, sid, b["heat"], athlete, member, klass) for aid, sid, athlete, member, klass in b["a"]]
            self.book.restore(made)
            self.engine.arm([a.station_id for a in made], {a.station_id: a.attempt_id for a in made}, t,
                            heat_id=b["heat"])
        elif kind == "go":
            self.engine.go(b["s"], t, go_delay_us=int(b["d"]))
        elif kind == "stop":
            self.engine.stop(b["s"], t)
        elif kind == "abort":
            self.engine.abort(b["s"], t, b["why"])
        else:
            raise ValueError(f"unknown kind {kind!r}")
        return t

    def _ping_node(self, node_id: str, now_us: int) -> None:
        """Ping a node; ``t1`` is the time read just before paho wrote the ping to the socket when the
        publisher can tell (after a long tick, or with paho's thread slow to wake, that is well after
        ``now_us``), else the time read just before handing it over. Never later than the ping left: a
        late ``t1`` would make the sample claim a smaller error than it has (``ClockSync``'s bound)."""
        if self._publish is None:
            return
        topic, payload = self.clock_sync.ping(node_id, self.clock_us())
        if self._publish_stamped is None:
            self._publish(topic, payload, 0)
            return
        n = self.clock_sync.pending_n(node_id)

        def sent(tx_us: int) -> None:
            self.pipeline.post(lambda: self.clock_sync.sent(node_id, n, tx_us))
        self._publish_stamped(topic, payload, sent)

    def _ping_clocks(self, now_us: int) -> None:
        """Every online node every ping interval; a node (boot) with few samples yet every 250 ms."""
        if now_us - self._last_ping_us >= self._ping_interval_us:
            self._last_ping_us = self._last_fast_ping_us = now_us
            for node_id, view in self.nodes.nodes.items():
                if view.state == "online":
                    self._ping_node(node_id, now_us)
        elif now_us - self._last_fast_ping_us >= FAST_PING_INTERVAL_US:
            self._last_fast_ping_us = now_us
            for node_id, view in self.nodes.nodes.items():
                if view.state == "online" and self.clock_sync.samples(node_id, view.boot_id) < FAST_PINGS:
                    self._ping_node(node_id, now_us)

    # read side (any thread) -----------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Counters for ``GET /api/health``."""
        def snap() -> dict[str, Any]:
            stats = self.protocol.stats()
            return {
                "nodes_online": self.nodes.online_count(),
                "nodes_known": len(self.nodes.nodes),
                "messages_received": stats["accepted"] + stats["rejected"],
                "messages_accepted": stats["accepted"],
                "messages_rejected": stats["rejected"],
                "rejected_by_reason": stats["rejected_by_reason"],
                "duplicates": stats["duplicates"],
                "sequence_gaps": stats["gaps"],
                "late_events": self.late_events,
                "late_events_used": self.late_events_used,
                "unbound_messages": self.router.unbound,
                "pipeline_backlog": self.pipeline.backlog,
                "pipeline_errors": self.pipeline.errors,
                "clients": self.broadcaster.client_count,
                "results_pending": self.writer.pending,
            }
        return self.pipeline.run_sync(snap)

    def current_assignments(self) -> list[dict[str, Any]]:
        """Who stands at which station now (armed or running, no result yet)."""
        return self.pipeline.run_sync(lambda: [a.__dict__ for a in self.book.current_all()])

    def live_attempts(self) -> list[dict[str, Any]]:
        """Every station's current attempt as the engine sees it now (``TimingEngine.live_view``): what a
        page that (re)connects mid-heat starts from, before the ``attempt`` and ``frames`` events."""
        def snap() -> list[dict[str, Any]]:
            views = (self.engine.live_view(sid) for sid in self.engine.stations)
            return [v for v in views if v is not None]
        return self.pipeline.run_sync(snap)

    def node_views(self) -> list[dict[str, Any]]:
        def snap() -> list[dict[str, Any]]:
            now = self.clock_us()
            return [v.to_dict(now, self.clock_sync.describe(v.node_id)) for v in self.nodes.nodes.values()]
        return self.pipeline.run_sync(snap)
