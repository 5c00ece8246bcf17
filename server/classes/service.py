"""The class service: runs class sessions on top of the hub (arm, GO, abort) and the store.

Every change goes the same way (:meth:`ClassService._apply`): the pure session computes the new
state, then the transition listeners run in order — **effects** (abort attempts that no longer
belong, arm the heat at the pointer, send GO), **persist** (session, check-ins and attempt rows in
one SQLite transaction), **broadcast** (``class`` event with the class view). Nothing is broadcast
before it is committed.

Attempts: each heat entry gets a row in ``class_attempts`` when armed. A stored result (from the
hub's ``writer.listeners``) marks its row ``finished`` (matched by attempt id, else by class +
station + member, which also catches the fresh attempt the engine arms after a voided false start).
Rows are ``aborted`` when an interval ends without a result or the instructor aborts, and ``lost``
when stop-all or a restart killed them; lost entries are armed again when their heat is next READY.

Threads: web handlers call in from their threads; results and the interval clock (``tick``) arrive
on the hub's pipeline thread. One lock serialises the service. The pipeline thread never waits for
it (a result is queued and handled by whoever holds the lock; a tick is skipped if it is busy), so a
web thread holding the lock may safely wait for the pipeline in ``hub.arm``/``hub.go``.

Restart: :meth:`restore` takes a running class back as PAUSED at the same round and heat (see
:func:`server.classes.session.restored`); results already stored are kept, attempts that were in
flight are armed again on resume.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator

from server.classes import rotation
from server.classes.circuits import Circuit
from server.classes.corrections import CorrectionKind, corrected
from server.errors import Conflict, InvalidInput, NotFound
from server.classes.session import ACTIVE_STATES, Event, Session, State, Timing, Transition, due_event, fire, restored
from server.classes.views import ClassViews
from server.classes.store import AttemptRow, Changes, CircuitStore, ClassRecord, ClassStore, CorrectionStore
from server.store.db import Database
from server.classes.members import MemberStore

if TYPE_CHECKING:
    from server.hub.service import Hub

log = logging.getLogger(__name__)

DONE_ROW_STATUSES = frozenset({"finished", "aborted"})
"""Attempt rows that settle their heat entry (``armed`` waits, ``lost`` is armed again)."""
VOIDED_FALSE_START = "FALSE_START"


@dataclass
class Change:
    """One change of a class, handed to every transition listener in order."""

    record: ClassRecord
    before: Session
    after: Session
    transition: Transition | None = None   # None: a change that is not a state transition (check-in, tap)
    store: Changes = field(default_factory=Changes)
    abort_all: bool = False                # stop all / done: abort every armed attempt
    view: dict[str, Any] | None = None     # the committed class view (set by the broadcast listener)


Listener = Callable[[Change], None]


class ClassService:
    """Classes from circuits; check-in; running, correcting and restoring classes. See the module doc."""

    def __init__(self, hub: "Hub", db: Database, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self.hub = hub
        self.members = MemberStore(db, wall_clock)
        self.circuits = CircuitStore(db, wall_clock)
        self.classes = ClassStore(db, wall_clock)
        self.corrections = CorrectionStore(db)
        self.views = ClassViews(self.members, self.classes, hub.stations)
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.RLock()
        self._depth = 0
        self._inbox: deque = deque()
        self._due_s: float | None = None  # when the running class's interval ends (caller's clock)
        self.listeners: list[Listener] = [self._effects, self._persist, self._broadcast]
        hub.writer.listeners.append(self.on_result)

    # serialisation --------------------------------------------------------------------------------
    @contextmanager
    def _serial(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                if self._depth == 1:
                    self._drain()
                self._depth -= 1

    def _drain(self) -> None:
        while self._inbox:
            stored = self._inbox.popleft()
            try:
                self._handle_result(stored)
            except Exception:
                log.exception("class service: result %s not applied", getattr(stored, "id", "?"))

    def on_result(self, stored: Any) -> None:
        """``hub.writer.listeners`` hook (pipeline thread): queue, and apply now unless the service is busy."""
        self._inbox.append(stored)
        if self._lock.acquire(blocking=False):
            try:
                if self._depth == 0:
                    with self._serial():
                        pass
            finally:
                self._lock.release()

    def tick(self) -> None:
        """Fire the interval clock's due event (pipeline ticker, 25/s: cheap unless something is due);
        skipped while the service is busy."""
        if not self._inbox and (self._due_s is None or self._clock() < self._due_s):
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._depth:
                return
            with self._serial():
                record = self.classes.active()
                if record is not None:
                    event = due_event(record.session, self._clock())
                    if event is not None:
                        self._fire(record, event)
        finally:
            self._lock.release()

    # setup ------------------------------------------------------------------------------------------
    def create_class(self, circuit_id: str, name: str | None = None) -> dict[str, Any]:
        stored = self.circuits.get(circuit_id)
        if stored is None:
            raise NotFound(f"no circuit with id {circuit_id!r}")
        c = stored.circuit
        pods = tuple(() for _ in range(c.pod_count))
        session = Session(timing=Timing(c.work_s, c.rest_s, c.countdown_s, c.auto_go), pods=pods)
        label = name or f"{c.name} {time.strftime('%Y-%m-%d %H:%M', time.localtime(self._wall()))}"
        with self._serial():
            record = self.classes.create(label, circuit_id, c, session)
            view = self.views.view(record, self._clock())
            self.hub.broadcaster.event("class", view)
            return view

    def check_in(self, class_id: str, member_ids: list[str]) -> dict[str, Any]:
        """Check members in (already checked-in ones are ignored). In a running class they join the
        smallest pod from the next round on."""
        with self._serial():
            record = self._open_class(class_id)
            known = self.members.by_ids(member_ids)
            missing = [m for m in member_ids if m not in known or known[m].archived]
            if missing:
                raise InvalidInput("unknown members", [f"member_ids: no member {m!r}" for m in missing])
            present = {m for m, _ in self.classes.checked_in(class_id)}
            new = [m for m in dict.fromkeys(member_ids) if m not in present]
            s = record.session
            for member_id in new:
                s = s.with_plan(s.plan, rotation.add_to_pods(s.pods, member_id))
            if new and s.state is not State.SETUP:
                s = s.with_plan(rotation.replan_from(s.plan, s.pods, _layout(record.circuit), s.round_no + 1,
                                                        record.circuit.rotation_move))
            return self._apply(Change(record, record.session, s, store=Changes(checked_in=new)))

    def check_out(self, class_id: str, member_id: str) -> dict[str, Any]:
        with self._serial():
            record = self._open_class(class_id)
            if member_id not in {m for m, _ in self.classes.checked_in(class_id)}:
                raise NotFound(f"member {member_id!r} is not checked in to class {class_id!r}")
            s = record.session
            s = s.with_plan(s.plan, rotation.remove_from_pods(s.pods, member_id))
            if s.state is not State.SETUP:
                first = s.heat_no + (1 if s.state is State.WORK else 0)
                plan = rotation.drop_member(s.plan, member_id, s.round_no, first)
                s = s.with_plan(rotation.replan_from(plan, s.pods, _layout(record.circuit), s.round_no + 1,
                                                        record.circuit.rotation_move))
            return self._apply(Change(record, record.session, s, store=Changes(checked_out=[member_id])))

    def move_to_pod(self, class_id: str, member_id: str, pod_index: int) -> dict[str, Any]:
        """Move a checked-in member to another pod (from the next round on in a running class)."""
        with self._serial():
            record = self._open_class(class_id)
            s = record.session
            if not any(member_id in p for p in s.pods):
                raise NotFound(f"member {member_id!r} is not checked in to class {class_id!r}")
            if not 0 <= pod_index < len(s.pods):
                raise InvalidInput("no such pod", [f"pod: expected 0..{len(s.pods) - 1}"])
            s = s.with_plan(s.plan, rotation.move_to_pod(s.pods, member_id, pod_index))
            if s.state is not State.SETUP:
                s = s.with_plan(rotation.replan_from(s.plan, s.pods, _layout(record.circuit), s.round_no + 1,
                                                        record.circuit.rotation_move))
            return self._apply(Change(record, record.session, s))

    def assign(self, class_id: str, station_id: str, member_id: str | None,
               round_no: int | None = None, heat_no: int | None = None) -> dict[str, Any]:
        """The tablet's tap: who runs at ``station_id`` in a heat of the current round (default: the
        heat at the pointer; not the heat running in WORK)."""
        with self._serial():
            record = self._running_class(class_id)
            s = record.session
            r, h = round_no or s.round_no, heat_no or s.heat_no
            if r != s.round_no or not s.heat_no <= h <= len(s.plan[r - 1]):
                raise Conflict(f"only heats {s.heat_no}..{len(s.plan[s.round_no - 1])} of the current round "
                               f"({s.round_no}) can be changed")
            if h == s.heat_no and (s.state is State.WORK or s.resume_to is State.WORK):
                raise Conflict("this heat is running: change it after it ends, or stop and re-arm it")
            if station_id not in {sid for lanes in _layout(record.circuit) for sid in lanes}:
                raise InvalidInput("station not in this class",
                                   [f"station_id: {self._station_name(station_id)} is not in the circuit"])
            if member_id is not None and not any(member_id in p for p in s.pods):
                raise InvalidInput("member not checked in", [f"member_id: {member_id!r} is not checked in"])
            plan = rotation.assign(s.plan, r, h, station_id, member_id, _layout(record.circuit))
            return self._apply(Change(record, s, s.with_plan(plan)))

    # running ----------------------------------------------------------------------------------------
    def start(self, class_id: str) -> dict[str, Any]:
        with self._serial():
            record = self._open_class(class_id)
            other = self.classes.active()
            if other is not None and other.id != class_id:
                raise Conflict(f"class {other.name!r} is running: finish it first")
            known = {s.id for s in self.hub.stations.all()}
            gone = [sid for lanes in _layout(record.circuit) for sid in lanes if sid not in known]
            if gone:
                raise Conflict(f"the circuit uses stations that no longer exist: {', '.join(gone)}")
            s = record.session
            if s.state is State.SETUP:
                s = s.with_plan(rotation.build_plan(s.pods, _layout(record.circuit), record.circuit.rounds,
                                                        record.circuit.rotation_move))
            return self._fire(replace(record, session=s), Event.START, before=record.session)

    def control(self, class_id: str, event: Event) -> dict[str, Any]:
        """GO, SKIP, PAUSE, RESUME, STOP_ALL or FINISH on a class."""
        if event in (Event.START, Event.HEAT_OVER, Event.REST_OVER):
            raise InvalidInput(f"{event.value} is not an instructor control")
        with self._serial():
            record = self._open_class(class_id) if event is Event.FINISH else self._running_class(class_id)
            return self._fire(record, event)

    def stop_all(self) -> dict[str, Any] | None:
        """The big red button: abort every attempt on every station; a running class is PAUSED."""
        with self._serial():
            record = self.classes.active()
            view = None
            if record is not None and record.session.state is not State.DONE:
                view = self._fire(record, Event.STOP_ALL)
            for station in self.hub.stations.all():
                self._hub_abort(station.id, "stop all")
            return view

    def arm(self, class_id: str) -> dict[str, Any]:
        """Arm the heat at the pointer again, including entries aborted or lost (READY/TRANSITION)."""
        with self._serial():
            record = self._running_class(class_id)
            if record.session.state not in (State.READY, State.TRANSITION):
                raise Conflict(f"arm works in READY or TRANSITION, the class is {record.session.state.value}")
            marks = [(row.id, "lost", None) for row in self._pointer_rows(record) if row.status == "aborted"]
            return self._apply(Change(record, record.session, record.session, store=Changes(marks=marks)))

    def stop_station(self, class_id: str, station_id: str) -> None:
        """Stop the running attempt at a station now (its time ends here)."""
        with self._serial():
            self._running_class(class_id)
            self.hub.stop_station(station_id)

    def abort_station(self, class_id: str, station_id: str, reason: str = "aborted by instructor") -> dict[str, Any]:
        """Abort the attempt at a station; the entry counts as done (re-arm it with :meth:`arm`)."""
        with self._serial():
            record = self._running_class(class_id)
            rows = [r for r in self.classes.attempts(class_id) if r.station_id == station_id and r.status == "armed"]
            if not rows:
                raise Conflict(f"nothing is armed at {self._station_name(station_id)} in this class")
            self._hub_abort(station_id, reason)
            change = Change(record, record.session, record.session,
                            store=Changes(marks=[(r.id, "aborted", None) for r in rows]))
            view = self._apply(change)
            return self._check_heat_done(view)

    # corrections ------------------------------------------------------------------------------------
    def correct(self, result_id: str, kind: CorrectionKind, reason: str, actor: tuple[str | None, str],
                time_s: float | None = None) -> dict[str, Any]:
        """Apply a correction: result row + audit entry in one transaction, then ``correction`` and
        ``result`` (or ``result_deleted``) broadcasts; a re-run is scheduled in a running class."""
        with self._serial():
            at = self._wall()
            stamp = {"at": at, "by": actor[1]}
            entry = self.corrections.apply(result_id, kind.value, reason, at, actor,
                                           lambda before: corrected(kind, before, reason, time_s, stamp))
            self.hub.broadcaster.event("correction", entry.to_dict())
            result = self.hub.results.get(result_id)
            if result is None:
                self.hub.broadcaster.event("result_deleted", {"id": result_id})
            else:
                self.hub.broadcaster.event("result", result.to_dict())
            scheduled = kind is CorrectionKind.RERUN and self._schedule_rerun(entry.before)
            return {"correction": entry.to_dict(), "result": result.to_dict() if result else None,
                    "rerun_scheduled": scheduled}

    def _schedule_rerun(self, before: dict[str, Any]) -> bool:
        record = self.classes.active()
        if record is None or record.id != before["class_id"] or not before["member_id"]:
            return False
        s = record.session
        if record.circuit.circuit_station_of(before["station_id"]) is None:
            return False
        plan = rotation.insert_rerun(s.plan, s.round_no, s.heat_no, before["station_id"], before["member_id"])
        self._apply(Change(record, s, s.with_plan(plan)))
        return True

    # restart ----------------------------------------------------------------------------------------
    def restore(self) -> dict[str, Any] | None:
        """On start-up: take a running class back PAUSED at the same heat; returns its view."""
        with self._serial():
            record = self.classes.active()
            if record is None:
                return None
            lost = [(r.id, "lost", None) for r in self.classes.attempts(record.id) if r.status == "armed"]
            after = restored(record.session)
            self._station_overrides(record.circuit.station_params)
            log.info("class %r restored %s at round %d heat %d (%d attempts in flight lost)", record.name,
                     after.state.value, after.round_no, after.heat_no, len(lost))
            return self._apply(Change(record, record.session, after, store=Changes(marks=lost)))

    # reading ----------------------------------------------------------------------------------------
    def view(self, class_id: str) -> dict[str, Any]:
        record = self.classes.get(class_id)
        if record is None:
            raise NotFound(f"no class with id {class_id!r}")
        return self.views.view(record, self._clock())

    def current(self) -> dict[str, Any] | None:
        record = self.classes.active()
        return None if record is None else self.views.view(record, self._clock())

    def summaries(self, limit: int = 50) -> list[dict[str, Any]]:
        return [self.views.summary(r) for r in self.classes.all(limit)]

    # internals: the change pipeline ----------------------------------------------------------------
    def _fire(self, record: ClassRecord, event: Event, before: Session | None = None) -> dict[str, Any]:
        after, transition = fire(record.session, event, self._clock())
        change = Change(record, before or record.session, after, transition,
                        abort_all=event is Event.STOP_ALL or after.state is State.DONE)
        view = self._apply(change)
        return self._check_heat_done(view)

    def _apply(self, change: Change) -> dict[str, Any]:
        for listener in self.listeners:
            listener(change)
        return change.view

    def _effects(self, change: Change) -> None:
        """Listener 1: make the hub match the new state (abort, arm, GO); record attempts in ``change.store``."""
        s, record = change.after, change.record
        if s.state is State.PAUSED and not change.abort_all:
            return  # a pause leaves attempts alone; RESUME reconciles
        if change.transition is not None and change.transition.event is Event.START:
            self._station_overrides(record.circuit.station_params)  # before anything is armed
        rows = _with_marks(self.classes.attempts(record.id), change.store.marks)
        heat = s.heat() if s.state in (State.READY, State.TRANSITION, State.WORK) else None
        keep = set(heat.entries) if heat is not None and not change.abort_all else set()
        stale_status = "lost" if change.abort_all and s.state is not State.DONE else "aborted"
        here = (s.round_no, s.heat_no)
        for row in rows:
            if row.status == "armed" and ((row.round_no, row.heat_no) != here
                                          or (row.station_id, row.member_id) not in keep):
                self._hub_abort(row.station_id, "class moved on")
                change.store.marks.append((row.id, stale_status, None))
        rows = _with_marks(rows, change.store.marks)
        if s.state in (State.READY, State.TRANSITION) and heat is not None:
            self._arm_missing(record, s, heat, rows, change)
        t = change.transition
        if t is not None and t.target is State.DONE:
            self._station_overrides({})
        if heat is not None and t is not None and t.target is State.WORK and change.before.state is not State.PAUSED:
            armed = {r.station_id for r in rows if r.status == "armed" and (r.round_no, r.heat_no) == here}
            stations = [st for st, _m in heat.entries if st in armed]
            if stations:
                self.hub.go(stations)

    def _arm_missing(self, record: ClassRecord, s: Session, heat: rotation.Heat, rows: list[AttemptRow],
                     change: Change) -> None:
        """Arm the heat's entries that have no armed, finished or aborted attempt (new or lost ones)."""
        here = (s.round_no, s.heat_no)
        settled = {(r.station_id, r.member_id) for r in rows if (r.round_no, r.heat_no) == here and r.status != "lost"}
        todo = [e for e in heat.entries if e not in settled]
        if not todo:
            return
        names = self.members.by_ids(m for _, m in todo)
        made = self.hub.arm([(st, names[m].display_name if m in names else m, m, record.id) for st, m in todo])
        for a in made:
            change.store.armed.append((s.round_no, s.heat_no, a.station_id, a.member_id, a.attempt_id))

    def _persist(self, change: Change) -> None:
        """Listener 2: commit the session and the attempt rows (before anyone hears of them)."""
        self.classes.commit(change.record.id, change.after, change.store)
        s = change.after
        if s.state in ACTIVE_STATES or change.before.state in ACTIVE_STATES:  # the running class
            timed = s.state in (State.WORK, State.TRANSITION)
            self._due_s = s.phase_started_s + s.phase_duration_s if timed else None

    def _broadcast(self, change: Change) -> None:
        """Listener 3: the ``class`` event with the committed view."""
        record = self.classes.get(change.record.id)
        change.view = self.views.view(record, self._clock())
        self.hub.broadcaster.event("class", change.view)

    # internals: results ----------------------------------------------------------------------------
    def _handle_result(self, stored: Any) -> None:
        record = self.classes.active()
        if record is None:
            return
        rows = self.classes.attempts(record.id)
        base_id = stored.id.split("~", 1)[0]  # the engine re-arms a voided attempt A as "A~1", "A~2", ...
        row = next((r for r in rows if r.attempt_id in (stored.id, base_id)), None)
        if row is None and stored.class_id == record.id:
            row = next((r for r in reversed(rows) if r.status == "armed" and r.station_id == stored.station_id
                        and r.member_id == stored.member_id), None)
        if row is None:
            return
        policy = record.circuit.station_params.get(stored.station_id, {}).get("false_start_policy")
        if stored.status == VOIDED_FALSE_START and policy == "VOID_REARM":
            return  # the engine armed a fresh attempt for the same member: wait for its result
        status = "finished" if row.status == "armed" else row.status
        self.classes.commit(record.id, record.session, Changes(marks=[(row.id, status, stored.id)]))
        self._check_heat_done(None)

    def _check_heat_done(self, view: dict[str, Any] | None) -> dict[str, Any] | None:
        """Fire HEAT_OVER when every entry of the running heat has settled."""
        record = self.classes.active()
        if record is None or record.session.state is not State.WORK:
            return view
        heat = record.session.heat()
        rows = self._pointer_rows(record)
        settled = {(r.station_id, r.member_id) for r in rows if r.status in DONE_ROW_STATUSES}
        if heat is not None and all(e in settled for e in heat.entries):
            return self._fire(record, Event.HEAT_OVER)
        if view is None:
            self.hub.broadcaster.event("class", self.views.view(record, self._clock()))
        return view

    # internals: helpers -----------------------------------------------------------------------------
    def _pointer_rows(self, record: ClassRecord) -> list[AttemptRow]:
        s = record.session
        return self.classes.attempts(record.id, s.round_no, s.heat_no)

    def _station_overrides(self, params: dict[str, dict[str, Any]]) -> None:
        """Hand the circuit's per-station engine parameters (distance_m, start_mode, time_cap_s,
        false_start_policy) to the hub for the class; ``{}`` when it ends. Hubs without
        ``set_station_overrides`` run the stations' own settings."""
        apply = getattr(self.hub, "set_station_overrides", None)
        if apply is None:
            log.warning("the hub cannot take circuit parameters yet; stations keep their own settings")
            return
        apply(params)

    def _station_name(self, station_id: str) -> str:
        """The gym's name of a station, for messages (its id only if there is no such station)."""
        station = self.hub.stations.get(station_id)
        return station.name if station is not None and station.name else repr(station_id)

    def _hub_abort(self, station_id: str, reason: str) -> None:
        try:
            self.hub.abort(station_id, reason)
        except Exception as exc:  # nothing armed there (any more): fine for an abort
            log.debug("abort %s: %s", station_id, exc)

    def _open_class(self, class_id: str) -> ClassRecord:
        record = self.classes.get(class_id)
        if record is None:
            raise NotFound(f"no class with id {class_id!r}")
        if record.session.state is State.DONE:
            raise Conflict(f"class {record.name!r} is done")
        return record

    def _running_class(self, class_id: str) -> ClassRecord:
        record = self._open_class(class_id)
        if record.session.state not in ACTIVE_STATES:
            raise Conflict(f"class {record.name!r} has not started")
        return record


def _with_marks(rows: list[AttemptRow], marks: list[tuple[int, str, str | None]]) -> list[AttemptRow]:
    """``rows`` as they will be once ``marks`` are committed."""
    status = {row_id: st for row_id, st, _ in marks}
    return [replace(r, status=status[r.id]) if r.id in status else r for r in rows]


def _layout(circuit: Circuit) -> list[tuple[str, ...]]:
    return [cs.station_ids for cs in circuit.stations]


__all__ = ["ClassService", "Change"]
