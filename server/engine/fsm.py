"""Declarative state machines: the one way sledhub writes them (attempts, class sessions, calibrations).

A machine is data. Each :class:`Transition` says: ``event`` moves the subject from any of ``sources``
to ``target`` when the named ``guard`` holds, and names the ``effect`` (a handler) to run. A
:class:`Machine` holds the table with its guards (named predicates over the subject) and effects
(named handlers), checks the table when it is built, and answers one question: which transition does
this event take from the subject's state now? Where several transitions share an event and a source
state, the first declared whose guard holds wins.

The machine never changes anything itself: each user (``server/engine/machine.py``,
``server/classes/session.py``, ``server/setup/wizards.py``) applies the transition its own way (set a
field, build a new frozen value, run the effect) and raises its own domain error when no transition
is allowed. Pure: no I/O, no clock, no imports outside the standard library.

Example (a turnstile)::

    >>> from enum import StrEnum
    >>> class S(StrEnum):
    ...     LOCKED = "LOCKED"
    ...     OPEN = "OPEN"
    >>> class E(StrEnum):
    ...     COIN = "COIN"
    ...     PUSH = "PUSH"
    >>> class Gate:
    ...     state = S.LOCKED
    ...     coins = 0
    >>> turnstile = Machine("turnstile", [
    ...     transition(E.COIN, S.LOCKED, S.OPEN, guard="paid"),
    ...     transition(E.PUSH, S.OPEN, S.LOCKED)],
    ...     initial=S.LOCKED, guards={"paid": lambda g: g.coins > 0})
    >>> gate = Gate()
    >>> turnstile.allowed(gate, E.COIN) is None          # the guard fails
    True
    >>> gate.coins = 1
    >>> turnstile.allowed(gate, E.COIN).target
    <S.OPEN: 'OPEN'>
    >>> turnstile.allowed_events(gate)
    [<E.COIN: 'COIN'>]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class HasState(Protocol):
    """A machine's subject: anything with a ``state`` (an attempt, a class session, a wizard)."""

    @property
    def state(self) -> Any: ...


C = TypeVar("C", bound=HasState)


@dataclass(frozen=True)
class Transition(Generic[S, E]):
    """``event`` moves the subject from any of ``sources`` to ``target`` when ``guard`` (a name) holds;
    ``effect`` names the handler the machine's user runs for it (None: nothing beyond the move)."""

    event: E
    sources: frozenset[S]
    target: S
    guard: str | None = None
    effect: str | None = None


def transition(event: E, sources: S | Iterable[S], target: S, guard: str | None = None,
               effect: str | None = None) -> Transition[S, E]:
    """A :class:`Transition` from one source state or several."""
    srcs = frozenset([sources]) if isinstance(sources, Enum) else frozenset(sources)
    return Transition(event, srcs, target, guard, effect)


class MachineError(ValueError):
    """The table cannot be right (unknown or unused guard or effect, unreachable state, a way out of a
    final state)."""


class Machine(Generic[S, E, C]):
    """A checked transition table over states ``S`` and events ``E`` for subjects ``C``.

    ``states``: the machine's states (default: every state the table, ``initial`` and ``final``
    name); ``final``: states nothing leaves; ``guards``: name → predicate over the subject;
    ``effects``: name → handler (its signature is the user's business). Raises :class:`MachineError`
    when :meth:`problems` finds any, so a broken table fails at import.
    """

    def __init__(self, name: str, transitions: Iterable[Transition[S, E]], *, initial: S,
                 final: Collection[S] = (), states: Collection[S] | None = None,
                 guards: Mapping[str, Callable[[C], bool]] | None = None,
                 effects: Mapping[str, Callable[..., Any]] | None = None):
        self.name = name
        self.transitions: tuple[Transition[S, E], ...] = tuple(transitions)
        self.initial = initial
        self.final: frozenset[S] = frozenset(final)
        named = {s for t in self.transitions for s in (*t.sources, t.target)}
        self.states: frozenset[S] = frozenset(states) if states is not None else frozenset(
            {initial, *self.final, *named})
        self.guards: dict[str, Callable[[C], bool]] = dict(guards or {})
        self.effects: dict[str, Callable[..., Any]] = dict(effects or {})
        self.events: tuple[E, ...] = tuple(dict.fromkeys(t.event for t in self.transitions))
        found = self.problems()
        if found:
            raise MachineError(f"the {name} machine is broken: " + "; ".join(found))
        self._index: dict[tuple[E, S], list[tuple[Transition[S, E], Callable[[C], bool] | None]]] = {}
        for t in self.transitions:
            for src in t.sources:
                self._index.setdefault((t.event, src), []).append(
                    (t, None if t.guard is None else self.guards[t.guard]))

    # -- checks ---------------------------------------------------------------------------------------
    def reachable(self) -> frozenset[S]:
        """States reachable from ``initial`` through the table (guards ignored: any may hold)."""
        seen, todo = {self.initial}, [self.initial]
        while todo:
            here = todo.pop()
            for t in self.transitions:
                if here in t.sources and t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        return frozenset(seen)

    def problems(self) -> list[str]:
        """What is wrong with the table, one sentence each (empty when it is sound)."""
        out = []
        for t in self.transitions:
            label = f"{_name(t.event)} from {'/'.join(sorted(_name(s) for s in t.sources)) or 'nowhere'}"
            if not t.sources:
                out.append(f"{label} has no source state")
            if t.guard is not None and t.guard not in self.guards:
                out.append(f"{label} names an unknown guard {t.guard!r}")
            if t.effect is not None and t.effect not in self.effects:
                out.append(f"{label} names an unknown effect {t.effect!r}")
            if t.sources & self.final:
                out.append(f"{label} leaves a final state")
            strangers = (t.sources | {t.target}) - self.states
            if strangers:
                out.append(f"{label} names states outside the machine: {sorted(_name(s) for s in strangers)}")
        used_guards = {t.guard for t in self.transitions}
        out += [f"guard {name!r} is never used" for name in self.guards if name not in used_guards]
        used_effects = {t.effect for t in self.transitions}
        out += [f"effect {name!r} is never used" for name in self.effects if name not in used_effects]
        unreached = self.states - self.reachable()
        if unreached:
            out.append(f"states never reached from {_name(self.initial)}: {sorted(_name(s) for s in unreached)}")
        return out

    # -- questions --------------------------------------------------------------------------------------
    def allowed(self, subject: C, event: E) -> Transition[S, E] | None:
        """The transition ``event`` takes from ``subject.state`` now (the first whose guard holds), or None."""
        for t, guard in self._index.get((event, subject.state), ()):
            if guard is None or guard(subject):
                return t
        return None

    def allowed_events(self, subject: C, events: Iterable[E] | None = None) -> list[E]:
        """The ``events`` (default: the table's, in order of first declaration) allowed now."""
        return [e for e in (self.events if events is None else events) if self.allowed(subject, e) is not None]

    def effect(self, t: Transition[S, E]) -> Callable[..., Any] | None:
        """The handler ``t`` names (None when it names none)."""
        return None if t.effect is None else self.effects[t.effect]


def _name(x: Any) -> str:
    return str(x.value) if isinstance(x, Enum) else str(x)
