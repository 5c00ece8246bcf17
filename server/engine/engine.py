"""The timing engine facade: configure stations, ingest events, issue commands, advance the watermark.

Everything happens in hub-clock microseconds passed in by the caller; nothing here reads a clock.
See the package docstring for the contract and ``docs/timing.md`` for the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from server.engine.config import LaneStationConfig, SledStationConfig, StationConfig
from server.engine.enums import GO_MODES, TERMINAL_STATES, AttemptState, HeatState, Reason, StartMode
from server.engine.heat import Heat
from server.engine.lane import LaneStation
from server.engine.machine import TransitionRejected
from server.engine.outputs import (AttemptFinished, AttemptStateChanged, CommandRejected, EngineEvent, HeatStateChanged,
                                   LateEvent, Output, ProvisionalFinish)
from server.engine.sled import SledStation
from server.engine.station import StationRuntime, Timer
from server.engine.timeline import (NO_RAW, NO_VALUE, PRIO_COMMAND, PRIO_EVENT, ControlQueue, Entry,
                                    Handler, Stream, make_entry, run)

INF = math.inf
MIN_RETENTION_US = 2_000_000
PRUNE_EVERY_US = 1_000_000  # forget processed events (kept for duplicate detection) this often
KEEP_DONE_HEATS = 64   # finished heats kept addressable (by go/stop/abort) before the oldest are dropped


@dataclass(frozen=True, slots=True)
class Command:
    """A command waiting in the timeline; ``heat_id`` set when it was addressed to a heat."""

    name: str
    station_id: str
    heat_id: str | None = None
    attempt_id: str = ""
    t_go_us: int = 0
    reason: str = ""


class TimingEngine:
    """Pure timing engine; see the package docstring of :mod:`server.engine`."""

    def __init__(self, lateness_us: int = 300_000, progress_interval_us: int = 100_000):
        if not isinstance(lateness_us, int) or lateness_us < 0:
            raise ValueError("lateness_us must be a non-negative integer")
        if not isinstance(progress_interval_us, int) or progress_interval_us < 0:
            raise ValueError("progress_interval_us must be a non-negative integer")
        self.lateness_us = lateness_us
        self.progress_interval_us = progress_interval_us
        self.retention_us = max(lateness_us, MIN_RETENTION_US)
        self._watermark_us: int | None = None
        self._stations: dict[str, StationRuntime] = {}
        self._streams: dict[str, dict[str, Stream]] = {}
        self._handlers: dict[str, dict[str, Handler]] = {}
        self._control = ControlQueue()
        self._heats: dict[str, Heat] = {}
        self._heat_seq = 0
        self._out: list[Output] = []
        self._terminal: AttemptStateChanged | None = None  # waiting for its AttemptFinished
        self._wm_cmp: float = -INF  # the watermark, -inf before the first advance (for comparisons)
        self._next_prune_us: float = -INF
        self._progress_due: dict[str, int] = {}
        self._control_t: dict[str, int] = {}  # per station: the time of the last command or timer processed
        self.stats = {"duplicates": 0, "late": 0, "late_used": 0, "unknown_station": 0, "unknown_role": 0,
                      "invalid_value": 0}

    # -- configuration ----------------------------------------------------------------------------
    def configure_station(self, cfg: StationConfig) -> None:
        """Add a station, or replace the configuration of one without an active attempt."""
        if isinstance(cfg, SledStationConfig):
            runtime: StationRuntime = SledStation(cfg, self)
        elif isinstance(cfg, LaneStationConfig):
            runtime = LaneStation(cfg, self)
        else:
            raise TypeError(f"not a station config: {cfg!r}")
        old = self._stations.get(cfg.station_id)
        if old is not None and old.attempt is not None and old.attempt.is_active:
            raise ValueError(f"station {cfg.station_id!r} has an active attempt; stop or abort it first")
        if old is not None:
            runtime.carry_over(old)
        self._stations[cfg.station_id] = runtime
        roles = self._handlers.get(cfg.station_id, {})
        for role in roles:
            roles[role] = runtime.handler_for(role) or runtime.ignore

    def remove_station(self, station_id: str) -> None:
        """Forget a station; an active attempt is aborted (reported at the next ``advance``)."""
        runtime = self._stations.get(station_id)
        if runtime is None:
            raise ValueError(f"unknown station {station_id!r}")
        a = runtime.attempt
        if a is not None and a.is_active:
            t = a.state_t_us if self._watermark_us is None else max(self._watermark_us, a.state_t_us or 0)
            runtime.abort(t, Reason.STATION_REMOVED)  # type: ignore[arg-type]  # an active attempt has a state time
        del self._stations[station_id]
        for heat_id in [h.heat_id for h in self._heats.values() if station_id in h.attempt_ids]:
            self._drop_member(heat_id, station_id, self._watermark_us or 0)
        self._streams.pop(station_id, None)
        roles = self._handlers.get(station_id, {})
        for role in roles:
            roles[role] = _drop  # entries already released this advance still find a handler

    @property
    def stations(self) -> dict[str, StationConfig]:
        return {sid: rt.cfg for sid, rt in self._stations.items()}

    def state_of(self, station_id: str) -> AttemptState:
        """The state of the station's current attempt as of the watermark (IDLE if none)."""
        return self._station(station_id).state

    def attempt_id_of(self, station_id: str) -> str | None:
        a = self._station(station_id).attempt
        return a.attempt_id if a is not None else None

    def live_view(self, station_id: str) -> dict[str, Any] | None:
        """The station's current attempt as of the watermark, for a page that joins mid-heat: its id,
        state, the hub time (µs) it entered that state, and while it runs its live values (``elapsed_s``
        in s, ``distance_m`` in m, None when not measured); None when the station has no attempt."""
        runtime = self._station(station_id)
        a = runtime.attempt
        if a is None or a.state is AttemptState.IDLE:
            return None
        wm = self._watermark_us
        p = runtime.progress(a, wm) if wm is not None else None
        return {"station_id": station_id, "attempt_id": a.attempt_id, "state": a.state.value, "t_us": a.state_t_us,
                "elapsed_s": p.elapsed_s if p else None, "distance_m": p.distance_m if p else None}

    @property
    def watermark_us(self) -> int | None:
        """Everything at or before this hub time has been processed (None before the first advance)."""
        return self._watermark_us

    def resume_inputs(self, station_id: str) -> list[EngineEvent]:
        """The events a fresh engine needs, besides later commands and events, to time the station as
        this one will: the processed inputs an attempt starts from (a sled's rest position and force)
        and every buffered, not yet processed event. For a journal that survives a restart."""
        runtime = self._station(station_id)
        out = [EngineEvent(station_id, role, kind, t, v) for role, kind, t, v in runtime.last_inputs()]
        for stream in self._streams.get(station_id, {}).values():
            for entry in stream.items[stream.done:]:
                t, _, sid, role, kind, v, r = entry
                out.append(EngineEvent(sid, role, kind, t, None if v == NO_VALUE else v, None if r == NO_RAW else r))
        return out

    @property
    def pending_events(self) -> int:
        return sum(len(s.ts) - s.done for roles in self._streams.values() for s in roles.values())

    # -- events -----------------------------------------------------------------------------------
    def ingest(self, ev: EngineEvent) -> bool:
        """Buffer an event; False when it was dropped (duplicate, late, unknown station or role, bad value)."""
        roles = self._streams.get(ev.station_id)
        if roles is None:
            return self._unknown_station(ev)
        stream = roles.get(ev.role)
        if stream is None:
            stream = self._new_stream(ev)
            if stream is None:
                return False
        v = ev.value
        if v is None:
            v = NO_VALUE
        elif not -INF < v < INF:
            self.stats["invalid_value"] += 1
            return False
        t = ev.t_us
        if t <= self._wm_cmp:
            return self._late(ev, stream)
        r = ev.raw
        entry = (t, PRIO_EVENT, ev.station_id, ev.role, ev.kind, v, NO_RAW if r is None else r)
        ts = stream.ts
        if not ts or t > ts[-1]:
            ts.append(t)
            stream.items.append(entry)
            return True
        if stream.insert(entry):
            return True
        self.stats["duplicates"] += 1
        return False

    def peek_finish(self, ev: EngineEvent) -> ProvisionalFinish | None:
        """Would ``ev`` finish its station's running attempt, judged on the state at the watermark?

        Read-only and not part of the record: the hub pushes the answer to screens at once (a finish
        shown in milliseconds instead of after the lateness bound); the result of record still comes
        from ``advance``. Call it before ``ingest`` with each event; a second finish event for the same
        attempt answers again (the caller shows the first).
        """
        runtime = self._stations.get(ev.station_id)
        if runtime is None:
            return None
        elapsed_us = runtime.peek_finish(ev)
        if elapsed_us is None or runtime.attempt is None:
            return None
        return ProvisionalFinish(ev.station_id, runtime.attempt.attempt_id, ev.t_us, round(elapsed_us / 1e6, 3))

    def peek_finish_samples(self, station_id: str, role: str, kind: str, samples: Iterable[tuple[int, Any, Any]],
                            offset_us: int = 0) -> ProvisionalFinish | None:
        """``peek_finish`` for a telemetry batch (as ``ingest_samples`` takes it): the first sample that
        would finish the station's running attempt. Without a running attempt (as of the watermark,
        which ingesting does not move) nothing can finish: no event is built, no sample looked at."""
        runtime = self._stations.get(station_id)
        a = runtime.attempt if runtime is not None else None
        if runtime is None or a is None or a.state is not AttemptState.RUNNING:
            return None
        t = runtime.peek_finish_samples(role, kind, samples, offset_us)
        if t is None or a.start_t_us is None:
            return None
        return ProvisionalFinish(station_id, a.attempt_id, t, round((t - a.start_t_us) / 1e6, 3))

    def ingest_samples(self, station_id: str, role: str, kind: str, samples: Iterable[tuple[int, Any, Any]],
                       offset_us: int = 0) -> int:
        """Ingest a telemetry batch ``[(t_us, value, raw), ...]`` whose hub times are ``t_us + offset_us``:
        the same as ``ingest`` of each sample as an :class:`EngineEvent`, without building them (the hot
        path of an idle station's telemetry). Returns how many were buffered."""
        it = iter(samples)
        roles = self._streams.get(station_id)
        stream = roles.get(role) if roles is not None else None
        n = 0
        if stream is None:  # a new stream or an unknown station/role: the first sample takes the full path
            first = next(it, None)
            if first is None:
                return 0
            n += self.ingest(EngineEvent(station_id, role, kind, first[0] + offset_us, first[1], first[2]))
            stream = self._streams.get(station_id, {}).get(role)
            if stream is None:
                return n + self.ingest_many(EngineEvent(station_id, role, kind, s[0] + offset_us, s[1], s[2])
                                            for s in it)
        ts, wm, stats = stream.ts, self._wm_cmp, self.stats
        add_t, add_item = ts.append, stream.items.append
        newest = ts[-1] if ts else None  # ts[-1], kept in a local (refreshed after _late and insert)
        for t, v, r in it:
            t += offset_us
            if v is None:
                v = NO_VALUE
            elif not -INF < v < INF:
                stats["invalid_value"] += 1
                continue
            if t <= wm:
                n += self._late(EngineEvent(station_id, role, kind, t, None if v == NO_VALUE else v, r), stream)
                newest = ts[-1] if ts else None
                continue
            if newest is None or t > newest:
                add_t(t)
                add_item((t, PRIO_EVENT, station_id, role, kind, v, NO_RAW if r is None else r))
                newest = t
                n += 1
            else:
                if stream.insert((t, PRIO_EVENT, station_id, role, kind, v, NO_RAW if r is None else r)):
                    n += 1
                else:
                    stats["duplicates"] += 1
                newest = ts[-1]
        return n

    def ingest_many(self, events: Iterable[EngineEvent]) -> int:
        """Ingest several events; returns how many were buffered."""
        ingest = self.ingest
        return sum(1 for ev in events if ingest(ev))

    def _unknown_station(self, ev: EngineEvent) -> bool:
        if ev.station_id not in self._stations:
            self.stats["unknown_station"] += 1
            return False
        self._streams[ev.station_id] = {}
        self._handlers.setdefault(ev.station_id, {})
        return self.ingest(ev)

    def _new_stream(self, ev: EngineEvent) -> Stream | None:
        handler = self._stations[ev.station_id].handler_for(ev.role)
        if handler is None:
            self.stats["unknown_role"] += 1
            return None
        stream = Stream()
        self._streams[ev.station_id][ev.role] = stream
        self._handlers[ev.station_id][ev.role] = handler
        return stream

    def _late(self, ev: EngineEvent, stream: Stream) -> bool:
        entry = make_entry(ev)
        if stream.seen(entry):
            self.stats["duplicates"] += 1
            return False
        assert self._watermark_us is not None
        if self._apply_late(ev, entry, stream):
            self.stats["late_used"] += 1
            self._out.append(LateEvent(ev, self._watermark_us, used=True))
            return True
        self.stats["late"] += 1
        self._out.append(LateEvent(ev, self._watermark_us))
        return False

    def _apply_late(self, ev: EngineEvent, entry: Entry, stream: Stream) -> bool:
        """Apply a late event at once when that is exactly what processing it in time would have done:
        nothing at its station (no event of any role — of its own role while the station's roles are
        independent, e.g. a running sled —, no command, no timer) was processed at or after its time.
        That also rules out a copy of a processed event, however old: its original's time is not
        older than itself. One exception: a sample whose order cannot matter (``insert_late``, e.g. a
        running sled's force) is inserted in time order among its role's, if it is newer than the oldest
        processed event still kept for duplicate detection. A hub or network stall longer
        than the lateness bound then costs no finish, start or split (the timeline of the station
        simply had a gap)."""
        sid, t = ev.station_id, ev.t_us
        if self._control_t.get(sid, -INF) >= t:
            return False
        runtime = self._stations.get(sid)
        independent = runtime is not None and runtime.roles_independent()
        others = () if independent else [s for s in self._streams.get(sid, {}).values() if s is not stream]
        for other in others:
            last = other.last_done_us
            if last is not None and last >= t:
                return False
        newer_done = stream.last_done_us is not None and stream.last_done_us >= t
        if newer_done and (runtime is None or t < stream.oldest_kept_us()  # older: a copy can't be told
                           or not runtime.insert_late(ev.role, entry)):
            return False
        a = runtime.attempt if runtime is not None else None
        if a is not None and a.is_active:  # before the handler: the finish it may cause carries it
            prefix = f"late_event:{ev.role}_{ev.kind}_"
            if not any(w.startswith(prefix) for w in a.warnings):  # once per role and kind
                a.warnings.append(f"{prefix}{(self._watermark_us - t) // 1000}ms_behind")  # type: ignore[operator]
        stream.insert_processed(entry)
        if not newer_done:
            self._handlers[sid][ev.role](entry)
        return True

    # -- commands ---------------------------------------------------------------------------------
    def arm(self, station_ids: Iterable[str], attempt_ids: Mapping[str, str], t_us: int,
            heat_id: str | None = None) -> str:
        """Arm several stations together as one heat; returns the heat id (generated if not given)."""
        ids = list(dict.fromkeys(station_ids))
        if not ids:
            raise ValueError("arm needs at least one station")
        for sid in ids:
            self._station(sid)
            if not attempt_ids.get(sid):
                raise ValueError(f"no attempt id for station {sid!r}")
        self._check_time(t_us)
        if heat_id is None:
            self._heat_seq += 1
            heat_id = f"heat{self._heat_seq}"
        if heat_id in self._stations or heat_id in self._heats:
            raise ValueError(f"heat id {heat_id!r} is already in use")
        self._heats[heat_id] = Heat(heat_id, {sid: attempt_ids[sid] for sid in ids})
        for sid in ids:
            self._control.push(t_us, PRIO_COMMAND, Command("arm", sid, heat_id, attempt_ids[sid]))
        return heat_id

    def go(self, target: str, t_us: int, go_delay_us: int = 0) -> dict[str, int]:
        """GO for a station or a heat at ``t_us``; returns the GO-signal time (µs) per station.

        GO = ``t_us + countdown_s + go_delay_us``. For REACTION_RANDOM stations the caller draws
        ``go_delay_us`` within the station's ``reaction_window_s`` (see ``draw_go_delay_us``).
        Stations whose start mode needs no GO (HOLD_IN_BEAM, FLY_THROUGH) are skipped.
        """
        station_ids, heat_id = self._resolve(target)
        self._check_time(t_us)
        if not isinstance(go_delay_us, int) or go_delay_us < 0:
            raise ValueError("go_delay_us must be a non-negative integer")
        t_go: dict[str, int] = {}
        for sid in station_ids:
            cfg = self._stations[sid].cfg
            if cfg.start_mode not in GO_MODES:
                continue
            if cfg.start_mode is StartMode.REACTION_RANDOM:
                lo, hi = (round(s * 1_000_000) for s in cfg.reaction_window_s)
                if not lo <= go_delay_us <= hi:
                    raise ValueError(f"station {sid!r}: go_delay_us {go_delay_us} is outside its reaction "
                                     f"window {cfg.reaction_window_s} s; draw it with draw_go_delay_us")
            t_go[sid] = t_us + round(cfg.countdown_s * 1_000_000) + go_delay_us
        for sid, t in t_go.items():
            self._control.push(t_us, PRIO_COMMAND, Command("go", sid, heat_id, t_go_us=t))
        return t_go

    def stop(self, target: str, t_us: int) -> None:
        """Manual stop: a running attempt ends DNF (manual_stop) with what was measured; one not yet
        started ends ABORTED."""
        station_ids, heat_id = self._resolve(target)
        self._check_time(t_us)
        for sid in station_ids:
            self._control.push(t_us, PRIO_COMMAND, Command("stop", sid, heat_id))

    def abort(self, target: str, t_us: int, reason: str = "aborted") -> None:
        """Abort the active attempt(s): ABORTED with ``reason``."""
        station_ids, heat_id = self._resolve(target)
        self._check_time(t_us)
        for sid in station_ids:
            self._control.push(t_us, PRIO_COMMAND, Command("abort", sid, heat_id, reason=reason or "aborted"))

    def _resolve(self, target: str) -> tuple[list[str], str | None]:
        if target in self._stations:
            return [target], None
        heat = self._heats.get(target)
        if heat is None:
            raise ValueError(f"unknown station or heat {target!r}")
        return [sid for sid in heat.attempt_ids if sid in self._stations], target

    def _check_time(self, t_us: int) -> None:
        if not isinstance(t_us, int):
            raise ValueError(f"t_us must be an integer (hub-clock µs), got {t_us!r}")
        if self._watermark_us is not None and t_us <= self._watermark_us:
            raise ValueError(f"command at {t_us} µs is not after the watermark {self._watermark_us} µs; "
                             "stamp commands with the hub's current time")

    # -- advancing --------------------------------------------------------------------------------
    def advance(self, now_us: int) -> list[Output]:
        """Process everything up to ``now_us - lateness_us``; returns the outputs in time order."""
        wm = now_us - self.lateness_us
        if self._watermark_us is not None and wm < self._watermark_us:
            wm = self._watermark_us
        self._watermark_us = wm
        self._wm_cmp = wm
        batch: list[Entry] = []
        sources = 0
        heap = self._control.heap
        due = {c[3].station_id for c in heap if c[0] <= wm} if heap else ()  # commands, timers up to wm
        stations = self._stations
        for sid, roles in self._streams.items():
            runtime = stations.get(sid)
            if runtime is not None and sid not in due:  # nothing else of the station in this stretch:
                for role, stream in roles.items():     # its roles' entries may be skimmed (one call)
                    part: list[Entry] = []
                    if stream.take(wm, part) and not runtime.skim(role, part):
                        batch += part
                        sources += 1
                continue
            for stream in roles.values():
                if stream.take(wm, batch):
                    sources += 1
        if sources > 1:
            batch.sort()
        run(batch, self._control, wm, self._on_control, self._handlers)
        self._progress(wm)
        if wm >= self._next_prune_us:
            self._prune(wm)
        out, self._out = self._out, []
        return out

    def _progress(self, wm: int) -> None:
        """At most one Progress per running station per advance, and one per progress_interval_us."""
        due = self._progress_due
        for sid, runtime in self._stations.items():
            a = runtime.attempt
            if a is None or a.state is not AttemptState.RUNNING or wm < due.get(sid, -1):
                continue
            p = runtime.progress(a, wm)
            if p is not None:
                self._out.append(p)
                due[sid] = wm + self.progress_interval_us

    def _prune(self, wm: int) -> None:
        self._next_prune_us = wm + PRUNE_EVERY_US
        before = wm - self.retention_us
        for roles in self._streams.values():
            for stream in roles.values():
                stream.prune(before)

    def _on_control(self, t_us: int, payload: Command | Timer) -> None:
        runtime = self._stations.get(payload.station_id)
        if runtime is None:
            return
        if isinstance(payload, Timer):
            self._control_t[payload.station_id] = t_us  # what a late event must not precede (_apply_late)
            runtime.on_timer(t_us, payload)
            return
        try:
            self._command(runtime, t_us, payload)
            self._control_t[payload.station_id] = t_us  # a refused command changed nothing: it does not count
        except TransitionRejected as exc:
            self._out.append(CommandRejected(payload.name, payload.station_id, t_us, str(exc),
                                             payload.attempt_id or None))
            if payload.name == "arm" and payload.heat_id in self._heats:
                self._drop_member(payload.heat_id, payload.station_id, t_us)

    def _command(self, runtime: StationRuntime, t_us: int, cmd: Command) -> None:
        if cmd.name == "arm":
            runtime.arm(cmd.attempt_id, cmd.heat_id, t_us)
            return
        a = runtime.attempt
        if cmd.heat_id is not None and (a is None or a.heat_id != cmd.heat_id):
            raise TransitionRejected(f"the station's attempt is not in heat {cmd.heat_id}")
        if cmd.name == "go":
            runtime.go(t_us, cmd.t_go_us)
        elif cmd.name == "stop":
            runtime.stop(t_us)
        elif cmd.name == "abort":
            runtime.abort(t_us, cmd.reason)

    # -- sink (called by stations) ----------------------------------------------------------------
    def emit(self, out: Output) -> None:
        """Collect an output; heat states follow member state changes (a terminal one after its result)."""
        self._out.append(out)
        kind = type(out)
        if kind is AttemptStateChanged and out.heat_id is not None:  # type: ignore[union-attr]
            if out.state in TERMINAL_STATES:  # type: ignore[union-attr, operator]
                self._terminal = out  # type: ignore[assignment]
            else:
                self._heat_update(out)  # type: ignore[arg-type]
        elif kind is AttemptFinished and self._terminal is not None:
            change, self._terminal = self._terminal, None
            self._heat_update(change)

    def schedule(self, t_us: int, prio: int, timer: Timer) -> None:
        self._control.push(t_us, prio, timer)

    def _heat_update(self, change: AttemptStateChanged) -> None:
        heat = self._heats.get(change.heat_id or "")
        if heat is not None:
            new = heat.update(change.station_id, change.attempt_id, change.state)
            self._heat_changed(heat, new, change.t_us)

    def _heat_changed(self, heat: Heat, new: HeatState | None, t_us: int) -> None:
        if new is None:
            return
        self._out.append(HeatStateChanged(heat.heat_id, new, t_us))
        if new is HeatState.DONE:
            done = [h for h in self._heats.values() if h.state is HeatState.DONE]
            for old in done[: max(0, len(done) - KEEP_DONE_HEATS)]:
                del self._heats[old.heat_id]

    def _drop_member(self, heat_id: str, station_id: str, t_us: int) -> None:
        heat = self._heats[heat_id]
        self._heat_changed(heat, heat.remove(station_id), t_us)
        if not heat.attempt_ids:
            self._heats.pop(heat_id, None)

    def _station(self, station_id: str) -> StationRuntime:
        runtime = self._stations.get(station_id)
        if runtime is None:
            raise ValueError(f"unknown station {station_id!r}")
        return runtime


def _drop(entry: Entry) -> None:
    """Handler of streams whose station was removed."""
