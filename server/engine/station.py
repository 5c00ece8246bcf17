"""What sled and lane stations share: the current attempt, commands, timers, false starts, results.

A station runtime is driven by the engine in timeline order: commands (``arm``, ``go``, ``stop``,
``abort``), timers (``on_timer``) and sensor events (the handlers a subclass hands out per role).
Every state change goes through :func:`server.engine.machine.fire`; outputs go to the sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from server.engine.config import StationConfig
from server.engine.enums import (FALSE_START_REASONS, AttemptState, FalseStartPolicy, FalseStartReason,
                                 Reason, ResultStatus, STATUS_OF_STATE)
from server.engine.machine import Attempt, AttemptEvent, TransitionRejected, fire
from server.engine.reason_text import Why, reason_text
from server.engine.outputs import (AttemptFinished, AttemptResult, EngineEvent, FalseStartDetected, Output,
                                   Progress)
from server.engine.timeline import PRIO_DEADLINE, PRIO_GO, Entry, Handler

E = AttemptEvent
S = AttemptState


class TimerKind(StrEnum):
    """Time-driven transitions; each fires once the watermark passes its time."""

    GO_SIGNAL = "GO_SIGNAL"
    HOLD_ELAPSED = "HOLD_ELAPSED"
    TIME_CAP = "TIME_CAP"


@dataclass(frozen=True, slots=True)
class Timer:
    """A scheduled transition for attempt ``serial`` at ``station_id`` (stale once the serial changed)."""

    station_id: str
    kind: TimerKind
    serial: int
    token: int = 0


class Sink(Protocol):
    """Where a station sends outputs and schedules timers (the engine)."""

    def emit(self, out: Output) -> None: ...

    def schedule(self, t_us: int, prio: int, timer: Timer) -> None: ...


def us_to_s(t_us: int | None) -> float | None:
    """Microseconds → seconds rounded to the millisecond (None stays None)."""
    return None if t_us is None else round(t_us / 1_000_000, 3)


class StationRuntime:
    """Base of :class:`SledStation` and :class:`LaneStation`; see the module docstring."""

    def __init__(self, cfg: StationConfig, sink: Sink):
        self.cfg = cfg
        self.station_id = cfg.station_id
        self.sink = sink
        self.attempt: Attempt | None = None
        self.ignored_events = 0
        self._serial = 0
        self._rearms: dict[str, int] = {}     # root attempt id → tries so far
        self._root_of: dict[str, str] = {}    # re-armed attempt id → root attempt id
        self._cap_us = round(cfg.time_cap_s * 1_000_000)

    # -- introspection -------------------------------------------------------------------------
    @property
    def state(self) -> AttemptState:
        return self.attempt.state if self.attempt is not None else AttemptState.IDLE

    def handler_for(self, role: str) -> Handler | None:
        """The event handler for ``role``, or None if the station has no such role."""
        raise NotImplementedError

    def carry_over(self, old: "StationRuntime") -> None:
        """Keep what the sensors last said when the station is reconfigured (sleds: wheel and force)."""

    def last_inputs(self) -> list[tuple[str, str, int, float]]:
        """``(role, kind, t_us, value)`` of the processed inputs an attempt armed now would start from
        (sleds: the last wheel and force samples: the rest position and the first force sample)."""
        return []

    def roles_independent(self) -> bool:
        """True while the order *between* the station's roles does not matter (each role's events only
        in its own order): a late event then only has to be newer than its own role's processed events
        to be applied (``TimingEngine._apply_late``). False by default: a lane's gates are one order."""
        return False

    def skim(self, role: str, entries: list[Entry]) -> bool:
        """Apply ``entries`` (one role's, in time order, nothing else of the station due among them: no
        command, no timer) at once, when the station's handlers would do no more with them than keep
        the last value and count the ones they ignore (sleds not recording: idle or armed). True if
        applied; False (the default) to have them handled one by one."""
        return False

    def insert_late(self, role: str, entry: Any) -> bool:
        """Take a late ``entry`` of ``role`` although its role has processed a newer one, when its order
        cannot matter: it only adds a sample to what the attempt records (sleds: a force sample while
        running with the reaction known feeds only the curve and the force figures). Inserted in time
        order, it is then exactly as if it had come in time. True if taken; False by default."""
        return False

    def peek_finish(self, ev: Any) -> int | None:
        """The start→finish time (µs) if ``ev`` would finish the running attempt given the state at the
        watermark, else None. Read-only; see :class:`~server.engine.outputs.ProvisionalFinish`."""
        return None

    def peek_finish_samples(self, role: str, kind: str, samples: Any, offset_us: int) -> int | None:
        """The hub time of the first of ``samples`` (``(t_us, value, raw)``, hub time ``t_us + offset_us``)
        that ``peek_finish`` would say finishes the running attempt, else None. The default asks it
        sample by sample."""
        sid = self.station_id
        for t, v, r in samples:
            ev = EngineEvent(sid, role, kind, t + offset_us, v, r)
            if self.peek_finish(ev) is not None:
                return ev.t_us
        return None

    def _running_since(self, ev: Any) -> int | None:
        a = self.attempt
        if a is None or a.state is not S.RUNNING or a.start_t_us is None or ev.t_us <= a.start_t_us:
            return None
        return a.start_t_us

    def ignore(self, entry: Entry) -> None:
        """Handler for events the station does not use (unknown kind or role)."""
        self.ignored_events += 1

    # -- commands (timeline order) ---------------------------------------------------------------
    def arm(self, attempt_id: str, heat_id: str | None, t_us: int) -> None:
        a = self.attempt
        if a is not None and a.is_active:
            raise TransitionRejected(f"station busy: attempt {a.attempt_id} is {a.state.value}")
        self._new_attempt(attempt_id, heat_id, t_us, Reason.ARMED, None)

    def go(self, t_us: int, t_go_us: int) -> None:
        a = self._require()
        self._emit(fire(a, E.GO_COMMAND, t_us, Reason.GO_COMMAND))
        a.go_command_t_us = t_us
        a.go_t_us = t_go_us
        self.sink.schedule(t_go_us, PRIO_GO, Timer(self.station_id, TimerKind.GO_SIGNAL, a.serial))
        self.on_go_command(a, t_us)

    def stop(self, t_us: int) -> None:
        a = self._require()
        if a.state is S.RUNNING:
            self.end(E.STOP, t_us, Reason.MANUAL_STOP)
        else:
            self.end(E.STOP, t_us, Reason.STOPPED_BEFORE_START)

    def abort(self, t_us: int, reason: str) -> None:
        self._require()
        self.end(E.ABORT, t_us, reason)

    def on_timer(self, t_us: int, timer: Timer) -> None:
        a = self.attempt
        if a is None or a.serial != timer.serial or not a.is_active:
            return  # stale: the attempt it was set for has moved on
        if timer.kind is TimerKind.GO_SIGNAL and a.state is S.COUNTDOWN:
            self._emit(fire(a, E.GO_SIGNAL, t_us, Reason.GO_SIGNAL))
            if a.state is S.RUNNING:  # type: ignore[comparison-overlap]  # fire() moved it on
                a.start_t_us = t_us
            self._schedule_cap(a, t_us)
            self.on_go_signal(a, t_us)
        elif timer.kind is TimerKind.HOLD_ELAPSED:
            self.on_hold_elapsed(a, t_us, timer.token)
        elif timer.kind is TimerKind.TIME_CAP and a.state in (S.READY, S.RUNNING):
            self.end(E.TIME_CAP, t_us, Reason.TIME_CAP)

    # -- transitions used by the subclasses ------------------------------------------------------
    def start(self, a: Attempt, t_start_us: int) -> None:
        """START_TRIGGER: the attempt's clock starts at ``t_start_us``."""
        self._emit(fire(a, E.START_TRIGGER, t_start_us, Reason.STARTED))
        a.start_t_us = t_start_us
        if a.go_t_us is None:
            self._schedule_cap(a, t_start_us)
        else:
            a.reaction_us = t_start_us - a.go_t_us

    def finish(self, a: Attempt, t_us: int) -> None:
        a.finish_t_us = t_us
        self.end(E.FINISH, t_us, Reason.FINISHED)

    def disqualify(self, a: Attempt, t_us: int, detail: str) -> None:
        a.warnings.append(detail)
        self.end(E.DISQUALIFY, t_us, Reason.WRONG_DIRECTION)

    def false_start(self, a: Attempt, t_us: int, reason: FalseStartReason, detail: str) -> bool:
        """Flag a false start; under VOID_REARM end the attempt and re-arm. True if it was voided."""
        if a.false_start is not None:
            return False
        a.false_start = reason
        a.false_start_t_us = t_us
        voided = a.policy is FalseStartPolicy.VOID_REARM
        self._emit(FalseStartDetected(self.station_id, a.attempt_id, t_us, reason, a.policy, voided, detail))
        if not voided:
            a.warnings.append(f"false_start:{reason.value}: {detail}")
            return False
        a.warnings.append(detail)
        self.end(E.FALSE_START, t_us, FALSE_START_REASONS[reason])
        root = self._root_of.pop(a.attempt_id, a.attempt_id)
        n = self._rearms.get(root, 1) + 1
        self._rearms[root] = n
        new_id = f"{root}~{n}"
        self._root_of[new_id] = root
        self._new_attempt(new_id, a.heat_id, t_us, Reason.REARMED, a.attempt_id)
        return True

    def record_reaction(self, a: Attempt, t_us: int, min_reaction_us: int | None) -> bool:
        """Record the reaction at ``t_us``; apply the minimum-reaction rule. True if the attempt was voided."""
        a.reaction_us = t_us - (a.go_t_us or 0)
        if min_reaction_us is not None and a.reaction_us < min_reaction_us:
            detail = f"reaction {a.reaction_us / 1e6:.3f} s < {min_reaction_us / 1e6:.3f} s"
            return self.false_start(a, t_us, FalseStartReason.REACTION, detail)
        return False

    def end(self, event: AttemptEvent, t_us: int, reason: str) -> None:
        """Move to a terminal state and emit the result."""
        a = self._require()
        self._emit(fire(a, event, t_us, reason))
        self._emit(AttemptFinished(self.result(a, t_us)))
        self.on_ended(a)

    def result(self, a: Attempt, t_end_us: int) -> AttemptResult:
        status = STATUS_OF_STATE[a.state]
        ok = status is ResultStatus.OK
        splits, metrics, curve = self.measurements(a, t_end_us)
        if a.start_t_us is not None:
            metrics["elapsed_s"] = us_to_s(max(0, t_end_us - a.start_t_us))
        time_us = (a.finish_t_us - a.start_t_us) if ok and a.start_t_us is not None else None  # type: ignore[operator]
        return AttemptResult(
            station_id=self.station_id, attempt_id=a.attempt_id, status=status, reason=a.reason,
            start_t_us=a.start_t_us, finish_t_us=a.finish_t_us if ok else None, time_s=us_to_s(time_us),
            reaction_s=us_to_s(a.reaction_us), splits_s=splits, metrics=metrics, curve=curve,
            warnings=list(a.warnings), heat_id=a.heat_id,
            false_start=a.false_start.value if a.false_start is not None else None,
            reason_text=reason_text(self._why(a, status, metrics)))

    def _why(self, a: Attempt, status: ResultStatus, metrics: dict[str, Any]) -> Why:
        """What the result's reason in words is made from."""
        early_s = None
        if a.false_start_t_us is not None and a.go_t_us is not None and a.false_start_t_us < a.go_t_us:
            early_s = us_to_s(a.go_t_us - a.false_start_t_us)
        return Why(status, a.reason, time_cap_s=self.cfg.time_cap_s, distance_m=metrics.get("distance_m"),
                   false_start=a.false_start, early_s=early_s, reaction_s=us_to_s(a.reaction_us),
                   min_reaction_s=self.cfg.min_reaction_s if a.false_start is FalseStartReason.REACTION else None,
                   warnings=list(a.warnings))

    # -- hooks ----------------------------------------------------------------------------------
    def on_armed(self, a: Attempt, t_us: int) -> None:
        """Called after ARMED (also after a re-arm)."""

    def on_go_command(self, a: Attempt, t_us: int) -> None:
        """Called after GO_COMMAND (the countdown started)."""

    def on_go_signal(self, a: Attempt, t_us: int) -> None:
        """Called after GO_SIGNAL (RUNNING or READY)."""

    def on_hold_elapsed(self, a: Attempt, t_us: int, token: int) -> None:
        """Called when a hold timer fires for the current attempt."""

    def on_ended(self, a: Attempt) -> None:
        """Called after the attempt reached a terminal state and its result was emitted."""

    def measurements(self, a: Attempt, t_end_us: int) -> tuple[list[float | None], dict[str, Any],
                                                               dict[str, list[float]]]:
        """``(splits_s, metrics, curve)`` for the result."""
        return [], {}, {}

    def progress(self, a: Attempt, watermark_us: int) -> Progress | None:
        """Live values for a running attempt."""
        return None

    # -- internals ------------------------------------------------------------------------------
    def _new_attempt(self, attempt_id: str, heat_id: str | None, t_us: int, reason: Reason,
                     rearmed_from: str | None) -> None:
        self._serial += 1
        a = Attempt(self.station_id, attempt_id, heat_id, self.cfg.start_mode, self.cfg.false_start_policy,
                    self._serial, armed_t_us=t_us, rearmed_from=rearmed_from)
        self.attempt = a
        self._emit(fire(a, E.ARM, t_us, reason))
        self.on_armed(a, t_us)

    def _schedule_cap(self, a: Attempt, t_base_us: int) -> None:
        self.sink.schedule(t_base_us + self._cap_us, PRIO_DEADLINE,
                           Timer(self.station_id, TimerKind.TIME_CAP, a.serial))

    def _require(self) -> Attempt:
        a = self.attempt
        if a is None or not a.is_active:
            state = a.state.value if a is not None else AttemptState.IDLE.value
            raise TransitionRejected(f"no active attempt (station is {state})")
        return a

    def _emit(self, out: Output) -> None:
        self.sink.emit(out)
