"""The class state machine and its interval clock (pure: the caller passes ``now_s``).

States::

    SETUP ──START──► READY ──GO──► WORK ──HEAT_OVER──► TRANSITION ──REST_OVER──► WORK (auto GO)
                       ▲  └SKIP┘      └──SKIP───────►     │   └──GO/SKIP──────► WORK
                       └─────────────────────REST_OVER────┘  (no auto GO: wait for the instructor)
    WORK/READY ──HEAT_OVER/SKIP on the last heat──► DONE;  any but DONE ──FINISH──► DONE
    READY/WORK/TRANSITION ──PAUSE/STOP_ALL──► PAUSED ──RESUME──► the state it paused from

- One interval clock for the class: WORK lasts ``countdown_s + work_s`` (or until every station has
  its result: the service fires HEAT_OVER), TRANSITION lasts ``rest_s``. PAUSE freezes the clock,
  RESUME continues it. :func:`due_event` says which event the clock fires at ``now_s``.
- The pointer ``(round_no, heat_no)`` is the heat running (WORK) or next up (READY, TRANSITION); it
  moves on when a heat ends (HEAT_OVER/SKIP), skipping heats that became empty.
- STOP_ALL during WORK leaves the class PAUSED to resume in READY at the same heat: the service
  aborted the attempts, and members without a result are armed again.
- After a hub restart (:func:`restored`) a running class comes back PAUSED at the same heat
  (resuming WORK as READY, since the attempts in flight died with the process).

Transitions are data (:data:`TRANSITIONS`, checked by :class:`~server.engine.fsm.Machine` at import):
event, source states, named guard, target, and the pointer move as a named effect. The service hangs
its effects (arm, GO, abort), persistence and broadcasts on them as listeners.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Callable

from server.errors import Conflict
from server.classes.rotation import Heat, Plan, Pods, plan_from_json, plan_to_json
from server.engine.fsm import Machine, Transition, transition


class State(StrEnum):
    SETUP = "SETUP"            # created; check-in open, nothing armed
    READY = "READY"            # the heat at the pointer is armed, waiting for GO
    WORK = "WORK"              # GO sent; the work interval runs
    TRANSITION = "TRANSITION"  # rest interval; the next heat is armed and steps up
    PAUSED = "PAUSED"          # clock frozen (pause, stop all, or after a restart)
    DONE = "DONE"              # finished (or ended early)


class Event(StrEnum):
    START = "START"
    GO = "GO"
    HEAT_OVER = "HEAT_OVER"    # every station has its result, or the work interval is over
    REST_OVER = "REST_OVER"    # the rest interval is over
    SKIP = "SKIP"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    STOP_ALL = "STOP_ALL"
    FINISH = "FINISH"


ACTIVE_STATES = frozenset({State.READY, State.WORK, State.TRANSITION, State.PAUSED})
"""A class in one of these is *running*: at most one at a time per hub."""


@dataclass(frozen=True)
class Timing:
    work_s: float
    rest_s: float
    countdown_s: float
    auto_go: bool


@dataclass(frozen=True)
class Session:
    """Everything needed to continue a class: its state, plan, pointer and clock."""

    timing: Timing
    state: State = State.SETUP
    plan: Plan = ()
    pods: Pods = ()
    round_no: int = 0                 # 1-based; 0 before START
    heat_no: int = 0                  # 1-based within the round
    phase_started_s: float = 0.0      # caller's clock (s) when the current interval started
    phase_duration_s: float = 0.0     # length of the current interval (s); 0 = no interval
    resume_to: State | None = None    # PAUSED only: the state RESUME returns to
    paused_remaining_s: float = 0.0   # PAUSED only: interval time left when paused (s)

    # clock ----------------------------------------------------------------------------------------
    def remaining_s(self, now_s: float) -> float:
        """Time left in the current interval (s); frozen while PAUSED."""
        if self.state is State.PAUSED:
            return self.paused_remaining_s
        if not self.phase_duration_s:
            return 0.0
        return max(0.0, self.phase_duration_s - (now_s - self.phase_started_s))

    # plan -----------------------------------------------------------------------------------------
    def heat(self, round_no: int | None = None, heat_no: int | None = None) -> Heat | None:
        r, h = round_no or self.round_no, heat_no or self.heat_no
        if 1 <= r <= len(self.plan) and 1 <= h <= len(self.plan[r - 1]):
            return self.plan[r - 1][h - 1]
        return None

    def next_pointer(self, after: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """The first non-empty heat after ``after`` (default: the pointer), or None at the end."""
        r, h = after or (self.round_no, self.heat_no)
        if r < 1:
            r, h = 1, 0
        while r <= len(self.plan):
            h += 1
            if h > len(self.plan[r - 1]):
                r, h = r + 1, 0
                continue
            if self.plan[r - 1][h - 1].entries:
                return r, h
        return None

    def first_pointer(self) -> tuple[int, int] | None:
        return self.next_pointer((1, 0))

    def with_plan(self, plan: Plan, pods: Pods | None = None) -> "Session":
        return replace(self, plan=plan, pods=self.pods if pods is None else pods)

    # persistence ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for the store (clock values are the caller's clock and only valid in-process)."""
        return {"timing": self.timing.__dict__, "state": self.state.value, "plan": plan_to_json(self.plan),
                "pods": [list(p) for p in self.pods], "round_no": self.round_no, "heat_no": self.heat_no,
                "phase_started_s": self.phase_started_s, "phase_duration_s": self.phase_duration_s,
                "resume_to": self.resume_to.value if self.resume_to else None,
                "paused_remaining_s": self.paused_remaining_s}

    @staticmethod
    def from_json(data: dict[str, Any]) -> "Session":
        return Session(timing=Timing(**data["timing"]), state=State(data["state"]),
                       plan=plan_from_json(data["plan"]), pods=tuple(tuple(p) for p in data["pods"]),
                       round_no=data["round_no"], heat_no=data["heat_no"],
                       phase_started_s=data["phase_started_s"], phase_duration_s=data["phase_duration_s"],
                       resume_to=State(data["resume_to"]) if data["resume_to"] else None,
                       paused_remaining_s=data["paused_remaining_s"])


# the machine ------------------------------------------------------------------------------------------
GUARDS: dict[str, Callable[[Session], bool]] = {
    "has_heats": lambda s: s.first_pointer() is not None,   # the plan has a heat (members are checked in)
    "has_next": lambda s: s.next_pointer() is not None,     # another heat follows
    "is_last": lambda s: s.next_pointer() is None,          # this is the last heat
    "auto_go": lambda s: s.timing.auto_go,                  # the circuit starts heats by itself
    "manual_go": lambda s: not s.timing.auto_go,            # the circuit waits for GO
    "paused_from_ready": lambda s: s.resume_to is State.READY,
    "paused_from_work": lambda s: s.resume_to is State.WORK,
    "paused_from_transition": lambda s: s.resume_to is State.TRANSITION,
}


def _to_first_heat(s: Session) -> Session:
    r, h = s.first_pointer()  # guarded by has_heats
    return replace(s, round_no=r, heat_no=h)


def _to_next_heat(s: Session) -> Session:
    r, h = s.next_pointer()  # guarded by has_next
    return replace(s, round_no=r, heat_no=h)


EFFECTS: dict[str, Callable[[Session], Session]] = {"first_heat": _to_first_heat, "next_heat": _to_next_heat}
"""Pointer moves: effects take the session and return it with the pointer moved."""


def _transitions() -> tuple[Transition[State, Event], ...]:
    S, E, T = State, Event, transition
    running = (S.READY, S.WORK, S.TRANSITION)
    return (
        T(E.START, S.SETUP, S.READY, "has_heats", "first_heat"),
        T(E.GO, S.READY, S.WORK),
        T(E.SKIP, S.READY, S.READY, "has_next", "next_heat"),
        T(E.SKIP, S.READY, S.DONE, "is_last"),
        T(E.HEAT_OVER, S.WORK, S.TRANSITION, "has_next", "next_heat"),
        T(E.HEAT_OVER, S.WORK, S.DONE, "is_last"),
        T(E.SKIP, S.WORK, S.TRANSITION, "has_next", "next_heat"),
        T(E.SKIP, S.WORK, S.DONE, "is_last"),
        T(E.REST_OVER, S.TRANSITION, S.WORK, "auto_go"),
        T(E.REST_OVER, S.TRANSITION, S.READY, "manual_go"),
        T(E.GO, S.TRANSITION, S.WORK),
        T(E.SKIP, S.TRANSITION, S.WORK, "auto_go"),
        T(E.SKIP, S.TRANSITION, S.READY, "manual_go"),
        T(E.PAUSE, running, S.PAUSED),
        T(E.STOP_ALL, (*running, S.PAUSED), S.PAUSED),
        T(E.RESUME, S.PAUSED, S.READY, "paused_from_ready"),
        T(E.RESUME, S.PAUSED, S.WORK, "paused_from_work"),
        T(E.RESUME, S.PAUSED, S.TRANSITION, "paused_from_transition"),
        T(E.FINISH, set(S) - {S.DONE}, S.DONE),
    )


TRANSITIONS: tuple[Transition[State, Event], ...] = _transitions()
"""The whole machine: event, source states, target, guard, effect (the pointer move)."""

MACHINE: Machine[State, Event, Session] = Machine("class session", TRANSITIONS, initial=State.SETUP,
                                                  final={State.DONE}, states=State, guards=GUARDS,
                                                  effects=EFFECTS)


def find_transition(s: Session, event: Event) -> Transition[State, Event] | None:
    """The transition ``event`` takes from ``s`` (the first whose guard holds), or None."""
    return MACHINE.allowed(s, event)


def allowed_events(s: Session) -> list[Event]:
    """Events that would be accepted now (the tablet enables these buttons)."""
    return MACHINE.allowed_events(s, Event)


def fire(s: Session, event: Event, now_s: float) -> tuple[Session, Transition[State, Event]]:
    """Apply ``event`` at ``now_s``; raises :class:`Conflict` when it is not allowed in this state."""
    t = find_transition(s, event)
    if t is None:
        allowed = ", ".join(e.value for e in allowed_events(s)) or "none"
        raise Conflict(f"cannot {event.value} while the class is {s.state.value} (allowed now: {allowed})")
    return _enter(s, t, now_s), t


def _enter(s: Session, t: Transition[State, Event], now_s: float) -> Session:
    was = s.state
    move = MACHINE.effect(t)
    if move is not None:
        s = move(s)
    if t.target is State.PAUSED:
        return _pause(s, t, now_s)
    if was is State.PAUSED:  # RESUME: continue the frozen interval
        elapsed = s.phase_duration_s - s.paused_remaining_s
        return replace(s, state=t.target, phase_started_s=now_s - elapsed, resume_to=None, paused_remaining_s=0.0)
    duration = {State.WORK: s.timing.countdown_s + s.timing.work_s, State.TRANSITION: s.timing.rest_s}
    return replace(s, state=t.target, phase_started_s=now_s, phase_duration_s=duration.get(t.target, 0.0),
                   resume_to=None, paused_remaining_s=0.0)


def _pause(s: Session, t: Transition[State, Event], now_s: float) -> Session:
    was = s.resume_to if s.state is State.PAUSED else s.state
    remaining = s.remaining_s(now_s)
    if t.event is Event.STOP_ALL and was is State.WORK:  # attempts aborted: run the heat again from READY
        was, remaining = State.READY, 0.0
    duration = s.phase_duration_s if was is not State.READY else 0.0
    return replace(s, state=State.PAUSED, resume_to=was, paused_remaining_s=remaining if duration else 0.0,
                   phase_duration_s=duration)


def due_event(s: Session, now_s: float) -> Event | None:
    """The event the interval clock fires at ``now_s``, if any."""
    if s.state is State.WORK and s.remaining_s(now_s) <= 0:
        return Event.HEAT_OVER
    if s.state is State.TRANSITION and s.remaining_s(now_s) <= 0:
        return Event.REST_OVER
    return None


def restored(s: Session) -> Session:
    """The session as a freshly restarted hub takes it up: running classes come back PAUSED.

    WORK resumes as READY (the attempts in flight were lost with the process and are armed again);
    TRANSITION resumes with a full rest interval; READY resumes as READY.
    """
    if s.state in (State.READY, State.WORK, State.TRANSITION):
        was = s.state
    elif s.state is State.PAUSED:
        was = s.resume_to or State.READY
    else:
        return s
    if was is State.WORK:
        return replace(s, state=State.PAUSED, resume_to=State.READY, phase_duration_s=0.0, paused_remaining_s=0.0)
    duration = s.timing.rest_s if was is State.TRANSITION else 0.0
    return replace(s, state=State.PAUSED, resume_to=was, phase_duration_s=duration, paused_remaining_s=duration)


def clock_view(s: Session, now_s: float) -> dict[str, Any]:
    """The interval clock as the pages show it (they count down locally from ``remaining_s``)."""
    remaining = s.remaining_s(now_s)
    phase = s.resume_to if s.state is State.PAUSED else s.state
    countdown_left = 0.0
    if phase is State.WORK:
        countdown_left = max(0.0, remaining - s.timing.work_s)
    return {"running": s.state in (State.WORK, State.TRANSITION), "phase": phase.value if phase else None,
            "duration_s": round(s.phase_duration_s, 3), "remaining_s": round(remaining, 3),
            "countdown_remaining_s": round(countdown_left, 3)}
