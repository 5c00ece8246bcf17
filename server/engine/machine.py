"""The attempt state machine, declared as data: named states, named events, guarded transitions.

``TRANSITIONS`` is the whole machine (checked by :class:`~server.engine.fsm.Machine` at import);
:func:`fire` is the only way an attempt changes state. A guard is a named predicate over the attempt
(its start mode and false-start policy); where several transitions share an event and a source
state, the first whose guard holds wins.

::

    IDLE ─ARM→ ARMED ─GO_COMMAND→ COUNTDOWN ─GO_SIGNAL→ RUNNING ─FINISH→ FINISHED
                 │                    └─GO_SIGNAL (first movement)→ READY ─START_TRIGGER→ RUNNING
                 ├─BEAM_ENTERED→ HOLDING ─HOLD_ELAPSED→ READY ─START_TRIGGER→ RUNNING
                 │                  └─BEAM_LEFT→ ARMED
                 └─START_TRIGGER (fly-through)→ RUNNING
    COUNTDOWN/RUNNING ─FALSE_START (void policy)→ FALSE_START;  READY/RUNNING ─TIME_CAP→ DNF
    RUNNING ─STOP→ DNF;  other active ─STOP→ ABORTED;  any active ─ABORT→ ABORTED;  ─DISQUALIFY→ DQ
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable

from server.engine.enums import (ACTIVE_STATES, GO_MODES, TERMINAL_STATES, AttemptState, FalseStartPolicy,
                                 FalseStartReason, StartMode)
from server.engine.fsm import Machine, Transition, transition
from server.engine.outputs import AttemptStateChanged

S = AttemptState


class AttemptEvent(StrEnum):
    """Named events of the attempt machine."""

    ARM = "ARM"
    GO_COMMAND = "GO_COMMAND"
    GO_SIGNAL = "GO_SIGNAL"
    BEAM_ENTERED = "BEAM_ENTERED"
    BEAM_LEFT = "BEAM_LEFT"
    HOLD_ELAPSED = "HOLD_ELAPSED"
    START_TRIGGER = "START_TRIGGER"
    FINISH = "FINISH"
    FALSE_START = "FALSE_START"
    TIME_CAP = "TIME_CAP"
    STOP = "STOP"
    ABORT = "ABORT"
    DISQUALIFY = "DISQUALIFY"


E = AttemptEvent
_t = transition

TRANSITIONS: tuple[Transition[AttemptState, AttemptEvent], ...] = (
    _t(E.ARM, {S.IDLE}, S.ARMED),
    _t(E.GO_COMMAND, {S.ARMED}, S.COUNTDOWN, "uses_go"),
    _t(E.GO_SIGNAL, {S.COUNTDOWN}, S.RUNNING, "starts_at_go"),
    _t(E.GO_SIGNAL, {S.COUNTDOWN}, S.READY, "starts_on_movement"),
    _t(E.BEAM_ENTERED, {S.ARMED}, S.HOLDING, "holds_in_beam"),
    _t(E.BEAM_LEFT, {S.HOLDING}, S.ARMED),
    _t(E.HOLD_ELAPSED, {S.HOLDING}, S.READY),
    _t(E.START_TRIGGER, {S.READY}, S.RUNNING),
    _t(E.START_TRIGGER, {S.ARMED}, S.RUNNING, "flies_through"),
    _t(E.FINISH, {S.RUNNING}, S.FINISHED),
    _t(E.FALSE_START, {S.COUNTDOWN, S.RUNNING}, S.FALSE_START, "voids_false_starts"),
    _t(E.TIME_CAP, {S.READY, S.RUNNING}, S.DNF),
    _t(E.STOP, {S.RUNNING}, S.DNF),
    _t(E.STOP, {S.ARMED, S.COUNTDOWN, S.HOLDING, S.READY}, S.ABORTED),
    _t(E.ABORT, ACTIVE_STATES, S.ABORTED),
    _t(E.DISQUALIFY, {S.ARMED, S.COUNTDOWN, S.READY, S.RUNNING}, S.DQ),
)


@dataclass(slots=True)
class Attempt:
    """One attempt at one station: its machine state plus what the timing rules have recorded."""

    station_id: str
    attempt_id: str
    heat_id: str | None
    mode: StartMode
    policy: FalseStartPolicy
    serial: int                          # unique per station; stale timers carry an old serial
    state: AttemptState = AttemptState.IDLE
    state_t_us: int | None = None
    armed_t_us: int | None = None
    go_command_t_us: int | None = None
    go_t_us: int | None = None           # the GO signal (countdown end, plus any go delay)
    start_t_us: int | None = None        # time zero of the attempt's clock
    finish_t_us: int | None = None       # finish crossing, or the end of a stopped/capped attempt
    reaction_us: int | None = None
    false_start: FalseStartReason | None = None
    false_start_t_us: int | None = None  # when the false start was seen
    reason: str = ""
    rearmed_from: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


Guard = Callable[[Attempt], bool]

GUARDS: dict[str, Guard] = {
    "uses_go": lambda a: a.mode in GO_MODES,
    "starts_at_go": lambda a: a.mode in (StartMode.GO_COUNTDOWN, StartMode.REACTION_RANDOM),
    "starts_on_movement": lambda a: a.mode is StartMode.FIRST_MOVEMENT,
    "holds_in_beam": lambda a: a.mode is StartMode.HOLD_IN_BEAM,
    "flies_through": lambda a: a.mode is StartMode.FLY_THROUGH,
    "voids_false_starts": lambda a: a.policy is FalseStartPolicy.VOID_REARM,
}


MACHINE: Machine[AttemptState, AttemptEvent, Attempt] = Machine(
    "attempt", TRANSITIONS, initial=S.IDLE, final=TERMINAL_STATES, states=S,  # type: ignore[arg-type]  # its members
    guards=GUARDS)


class TransitionRejected(ValueError):
    """No transition of the machine allows this event in the attempt's state (or its guards failed)."""


def allowed(attempt: Attempt, event: AttemptEvent) -> Transition[AttemptState, AttemptEvent] | None:
    """The transition ``event`` would take from the attempt's state, or None."""
    return MACHINE.allowed(attempt, event)


def fire(attempt: Attempt, event: AttemptEvent, t_us: int, reason: str) -> AttemptStateChanged:
    """Apply ``event`` at ``t_us``; returns the state-change output or raises TransitionRejected."""
    tr = allowed(attempt, event)
    if tr is None:
        raise TransitionRejected(f"{event.value} is not allowed in state {attempt.state.value} "
                                 f"({attempt.mode.value}, {attempt.policy.value})")
    attempt.state = tr.target
    attempt.state_t_us = t_us
    attempt.reason = reason
    return AttemptStateChanged(attempt.station_id, attempt.attempt_id, tr.target, t_us, reason,
                               attempt.heat_id, attempt.rearmed_from)
