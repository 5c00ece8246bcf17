"""What every calibration wizard shares: its states, the user's buttons (:class:`Action`), the signals
from the sensor, the node and the clock (:class:`Signal`), the commands and outcome it produces, and
:class:`Wizard`, which runs the wizard's declared machine. The wizards themselves are in
:mod:`server.setup.wizards`.

Each wizard's steps are a :class:`~server.engine.fsm.Machine` (its ``MACHINE``, built by
:func:`wizard_machine`; the diagram is in the wizard's docstring): named states, named events, named
guards. A button is accepted only when the table has a transition for it from the current state; the
transition names its effect (a handler of the wizard), which checks the input and moves on by firing
declared transitions (``_fire``), never by setting a state itself. Measurements decide *which* signal
to fire; the table says where it leads. Pure: no I/O, no clock (``now_s`` is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, ClassVar

from server.engine.fsm import Machine, Transition, transition
from server.errors import Conflict


@dataclass(frozen=True)
class Command:
    """A command for the wizard's sensor (``cmd`` and ``params`` of ``docs/protocol.md``)."""

    cmd: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a finished wizard found: ``params`` (what the node now runs with) and how it was measured."""

    kind: str
    params: dict[str, Any]
    report: dict[str, Any]


class State(StrEnum):
    UNLOAD = "UNLOAD"        # load cell: take the load off, then zero
    ZEROING = "ZEROING"
    WEIGHT = "WEIGHT"        # hang a known weight, enter its mass
    WEIGHING = "WEIGHING"
    CHECK = "CHECK"          # optional second weight
    CHECKING = "CHECKING"
    MARK = "MARK"            # encoder: sled on the start mark
    PULLING = "PULLING"
    WATCH = "WATCH"          # beam: break it N times
    INVERTED = "INVERTED"    # beam reads the wrong way round: offer to flip it
    SAVING = "SAVING"        # command sent, waiting for the node's ack
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({State.DONE, State.FAILED, State.CANCELLED})


class Action(StrEnum):
    """The user's buttons on ``/setup`` (``POST /api/setup/wizards/<id>/actions`` ``{"action": ...}``)."""

    MEASURE = "measure"      # load cell: zero now / measure the weight hanging
    SKIP = "skip"            # load cell: save without the second weight
    START = "start"          # wheel: the sled is on the start mark
    FINISH = "finish"        # wheel: pulled ``distance_m``
    RESTART = "restart"      # wheel: back to the start mark
    FIX = "fix"              # beam: flip its reading on the node
    CANCEL = "cancel"        # any time before the end


class Signal(StrEnum):
    """What the sensor, the node and the clock tell a wizard (never a button)."""

    MEASURED = "MEASURED"                # the step's readings are in and good: next step
    RETRY = "RETRY"                      # the readings were not good enough: back to the step's start
    NO_READINGS = "NO_READINGS"          # no readings for too long while measuring
    SAVE = "SAVE"                        # the last reading is good: send the settings to the node
    SAVED = "SAVED"                      # the node took the command
    REFUSED = "REFUSED"                  # the node refused it
    READS_INVERTED = "READS_INVERTED"    # beam: stuck BROKEN at rest after short CLEAR spells
    SILENT = "SILENT"                    # beam: no event at all
    ALIGNED = "ALIGNED"                  # beam: enough clean breaks, then at rest CLEAR


WizardEvent = Action | Signal


def _button(action: Any) -> Action | None:
    try:
        return Action(action)
    except ValueError:
        return None


Effect = Callable[[Any, dict[str, Any], float], list["Command"]]
"""A button's handler: ``(wizard, params, now_s) -> commands``."""


@dataclass
class Wizard:
    """Common parts: state, what to tell the user, progress, steps, cancel, ack handling."""

    id: str
    node_id: str
    sensor_id: str
    started_s: float
    state: State = State.DONE
    message: str = ""
    problem: str | None = None
    progress: float | None = None
    outcome: Outcome | None = None
    version: int = 0
    updated_s: float = 0.0
    _step: int = field(default=0, init=False, repr=False)

    kind: ClassVar[str] = ""
    STEPS: ClassVar[tuple[tuple[str, str, frozenset[State]], ...]] = ()
    """(key, title, the states in which this step is the active one), in order."""
    MACHINE: ClassVar[Machine[State, WizardEvent, Any]]
    """The wizard's transitions (built by :func:`wizard_machine`)."""
    PROMPTS: ClassVar[dict[State, str]] = {}
    """What to tell the user on entering a state, where it is always the same."""

    # -- user actions -----------------------------------------------------------------------------
    def act(self, action: str, params: dict[str, Any], now_s: float) -> list[Command]:
        """Press a button: the effect its transition names runs (:class:`~server.errors.Conflict` if not possible now)."""
        if self.state in TERMINAL:
            raise Conflict(f"this calibration has ended ({self.state.value.lower()}); start a new one")
        button = _button(action)
        t = None if button is None else self.MACHINE.allowed(self, button)
        effect = None if t is None else self.MACHINE.effect(t)
        if effect is None:
            allowed = ", ".join(self.actions()) or "none"
            raise Conflict(f"'{action}' is not possible now (step {self.state.value}; possible: {allowed})")
        return effect(self, params, now_s)

    def actions(self) -> list[str]:
        """The buttons the table allows now (``cancel`` last)."""
        return [a.value for a in self.MACHINE.allowed_events(self, Action)]

    def _on_cancel(self, params: dict[str, Any], now_s: float) -> list[Command]:
        self._fire(Action.CANCEL, now_s, "Cancelled: nothing was changed on the sensor.")
        return []

    # -- inputs from the sensor and the node --------------------------------------------------------
    def on_sample(self, value: float | None, raw: int | None, now_s: float,
                  t_us: int | None = None) -> list[Command]:
        """One telemetry sample: ``value`` as the node computed it, ``raw`` counts, ``t_us`` node clock."""
        return []

    def on_event(self, kind: str, t_us: int, detail: dict[str, Any] | None, now_s: float) -> list[Command]:
        return []

    def on_ack(self, ok: bool, result: dict[str, Any] | None, error: str | None, now_s: float) -> list[Command]:
        """The node's answer to the command this wizard asked for (``error``: a sentence for people); an
        answer the wizard is not waiting for (stale, repeated) changes nothing."""
        if self.MACHINE.allowed(self, Signal.SAVED if ok else Signal.REFUSED) is None:
            return []
        if not ok:
            self._fire(Signal.REFUSED, now_s, "The sensor did not take the new settings; nothing was stored.",
                       problem=error or "The node refused the command.")
            return []
        return self._saved(result or {}, now_s)

    def tick(self, now_s: float) -> list[Command]:
        return []

    # -- helpers ----------------------------------------------------------------------------------
    def _saved(self, result: dict[str, Any], now_s: float) -> list[Command]:
        raise NotImplementedError

    def step_spec(self) -> tuple[tuple[str, str, frozenset[State]], ...]:
        return self.STEPS

    def _begin(self, now_s: float, message: str | None = None, *, progress: float | None = None) -> None:
        """Enter the machine's initial state."""
        initial = self.MACHINE.initial
        self._go(initial, now_s, self.PROMPTS[initial] if message is None else message, progress=progress)

    def _fire(self, event: WizardEvent, now_s: float, message: str | None = None, *, problem: str | None = None,
              progress: float | None = None) -> None:
        """Take the transition the table declares for ``event`` from the current state; ``message``
        defaults to the target state's prompt. No such transition is a bug in the wizard (RuntimeError)."""
        t = self._transition(event)
        self._go(t.target, now_s, self.PROMPTS[t.target] if message is None else message, problem=problem,
                 progress=progress)

    def _transition(self, event: WizardEvent) -> Transition[State, WizardEvent]:
        t = self.MACHINE.allowed(self, event)
        if t is None:
            raise RuntimeError(f"{type(self).__name__}: {event.value} is not declared from {self.state.value}")
        return t

    def _go(self, state: State, now_s: float, message: str, *, problem: str | None = None,
            progress: float | None = None) -> None:
        self.state, self.message, self.problem, self.progress = state, message, problem, progress
        self._step = next((i for i, s in enumerate(self.step_spec()) if state in s[2]), self._step)
        self._touch(now_s)

    def _touch(self, now_s: float) -> None:
        self.version += 1
        self.updated_s = now_s

    def live(self) -> dict[str, Any]:
        return {}

    def steps(self) -> list[dict[str, str]]:
        """Each step's status: done, active, pending, or failed/cancelled where the wizard ended."""
        here = {State.FAILED: "failed", State.CANCELLED: "cancelled"}.get(self.state, "active")
        out = []
        for i, (key, title, _) in enumerate(self.step_spec()):
            if self.state is State.DONE or i < self._step:
                status = "done"
            else:
                status = here if i == self._step else "pending"
            out.append({"key": key, "title": title, "status": status})
        return out

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "node_id": self.node_id, "sensor_id": self.sensor_id,
            "state": self.state.value, "ended": self.state in TERMINAL, "steps": self.steps(),
            "message": self.message, "problem": self.problem,
            "progress": None if self.progress is None else round(self.progress, 3),
            "actions": self.actions(), "live": self.live(),
            "result": None if self.outcome is None else {**self.outcome.params, **self.outcome.report},
        }


def wizard_machine(name: str, initial: State, transitions: tuple[Transition[State, WizardEvent], ...], *,
                   guards: dict[str, Callable[[Any], bool]] | None = None,
                   effects: dict[str, Effect] | None = None) -> Machine[State, WizardEvent, Any]:
    """A wizard's machine: ``transitions`` plus what every wizard has — ``cancel`` from every state
    but the end, and SAVING ─REFUSED→ FAILED."""
    named = {initial, *(s for t in transitions for s in (*t.sources, t.target))}
    common: tuple[Transition[State, WizardEvent], ...] = (
        transition(Action.CANCEL, named - TERMINAL, State.CANCELLED, effect="cancel"),
        transition(Signal.REFUSED, State.SAVING, State.FAILED))
    return Machine(name, (*transitions, *common), initial=initial, final=TERMINAL, guards=guards,
                   effects={"cancel": Wizard._on_cancel, **(effects or {})})
