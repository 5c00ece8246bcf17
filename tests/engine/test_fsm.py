"""The shared declarative state machine (server/engine/fsm.py): lookups, guards, and the table checks."""

from __future__ import annotations

import doctest
from dataclasses import dataclass
from enum import StrEnum

import pytest

from server.engine import fsm
from server.engine.fsm import Machine, MachineError, transition


class S(StrEnum):
    IDLE = "IDLE"
    ON = "ON"
    OFF = "OFF"
    BROKEN = "BROKEN"


class E(StrEnum):
    PRESS = "PRESS"
    KICK = "KICK"
    FIX = "FIX"


@dataclass
class Lamp:
    state: S = S.IDLE
    bulbs: int = 1


GUARDS = {"has_bulb": lambda lamp: lamp.bulbs > 0, "no_bulb": lambda lamp: lamp.bulbs == 0}


def lamp_machine(*extra, final=(S.BROKEN,), **kw) -> Machine:
    table = (transition(E.PRESS, (S.IDLE, S.OFF), S.ON, "has_bulb", "light"),
             transition(E.PRESS, (S.IDLE, S.OFF), S.BROKEN, "no_bulb"),
             transition(E.PRESS, S.ON, S.OFF),
             transition(E.KICK, {S.ON, S.OFF}, S.BROKEN), *extra)
    return Machine("lamp", table, initial=S.IDLE, final=final, guards=kw.pop("guards", GUARDS),
                   effects=kw.pop("effects", {"light": lambda lamp: "lit"}), **kw)


def test_the_first_transition_whose_guard_holds_wins():
    m = lamp_machine()
    assert m.allowed(Lamp(S.IDLE, bulbs=1), E.PRESS).target is S.ON
    assert m.allowed(Lamp(S.IDLE, bulbs=0), E.PRESS).target is S.BROKEN
    assert m.allowed(Lamp(S.ON), E.PRESS).target is S.OFF
    assert m.allowed(Lamp(S.IDLE), E.KICK) is None
    assert m.allowed(Lamp(S.BROKEN), E.PRESS) is None


def test_allowed_events_keep_the_order_asked_for():
    m = lamp_machine()
    assert m.allowed_events(Lamp(S.ON)) == [E.PRESS, E.KICK]   # the table's order
    assert m.allowed_events(Lamp(S.ON), [E.KICK, E.FIX, E.PRESS]) == [E.KICK, E.PRESS]
    assert m.allowed_events(Lamp(S.BROKEN)) == []


def test_effects_are_looked_up_by_the_name_in_the_table():
    m = lamp_machine()
    t = m.allowed(Lamp(S.IDLE), E.PRESS)
    assert t.effect == "light" and m.effect(t)(Lamp()) == "lit"
    assert m.effect(m.allowed(Lamp(S.ON), E.PRESS)) is None


def test_a_single_source_or_several():
    assert transition(E.PRESS, S.ON, S.OFF).sources == frozenset({S.ON})
    assert transition(E.PRESS, [S.ON, S.OFF], S.OFF).sources == frozenset({S.ON, S.OFF})


def test_a_sound_table_has_no_problems():
    m = lamp_machine()
    assert m.problems() == []
    assert m.reachable() == m.states == frozenset(S)
    assert m.events == (E.PRESS, E.KICK)


@pytest.mark.parametrize("extra, kw, problem", [
    ((transition(E.FIX, S.OFF, S.ON, "is_new"),), {}, "FIX from OFF names an unknown guard 'is_new'"),
    ((transition(E.FIX, S.OFF, S.ON, effect="solder"),), {}, "FIX from OFF names an unknown effect 'solder'"),
    ((transition(E.FIX, S.BROKEN, S.OFF),), {}, "FIX from BROKEN leaves a final state"),
    ((transition(E.FIX, (), S.OFF),), {}, "FIX from nowhere has no source state"),
    ((), {"states": (S.IDLE, S.ON, S.BROKEN)}, "KICK from OFF/ON names states outside the machine: ['OFF']"),
    ((), {"guards": {"has_bulb": GUARDS["has_bulb"]}}, "PRESS from IDLE/OFF names an unknown guard 'no_bulb'"),
    ((), {"guards": {**GUARDS, "is_new": bool}}, "guard 'is_new' is never used"),
    ((), {"effects": {"light": str, "solder": str}}, "effect 'solder' is never used"),
])
def test_a_broken_table_fails_when_it_is_built(extra, kw, problem):
    with pytest.raises(MachineError, match="the lamp machine is broken") as err:
        lamp_machine(*extra, **kw)
    assert problem in str(err.value)


def test_an_unreachable_state_is_named():
    table = (transition(E.PRESS, S.IDLE, S.ON), transition(E.PRESS, S.OFF, S.ON))
    with pytest.raises(MachineError, match=r"states never reached from IDLE: \['OFF'\]"):
        Machine("lamp", table, initial=S.IDLE)


def test_the_module_example_runs():
    failures, tried = doctest.testmod(fsm)
    assert tried >= 8 and failures == 0


def sledhub_machines() -> dict[str, Machine]:
    from server.classes import session
    from server.engine import machine
    from server.setup import wizards
    return {"attempt": machine.MACHINE, "class session": session.MACHINE,
            **{cls.__name__: cls.MACHINE for cls in (wizards.LoadCellWizard, wizards.EncoderWizard, wizards.BeamWizard)}}


@pytest.mark.parametrize("name", sorted(sledhub_machines()))
def test_every_sledhub_machine_is_sound(name):
    m = sledhub_machines()[name]
    assert m.problems() == []
    assert all(t.guard is None or t.guard in m.guards for t in m.transitions)   # guards exist
    assert m.reachable() == m.states                                             # every state reachable
    assert not any(t.sources & m.final for t in m.transitions)                   # nothing leaves the end
    assert m.final and m.final <= m.states
