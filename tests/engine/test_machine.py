"""The attempt state machine: the transition table, its guards, and what it refuses."""

from __future__ import annotations

import pytest

from server.engine import TRANSITIONS, AttemptEvent, AttemptState, FalseStartPolicy, StartMode
from server.engine.enums import ACTIVE_STATES, TERMINAL_STATES
from server.engine.machine import GUARDS, Attempt, TransitionRejected, allowed, fire

E, S, M = AttemptEvent, AttemptState, StartMode


def attempt(mode: StartMode = M.GO_COUNTDOWN, policy=FalseStartPolicy.VOID_REARM,
            state: AttemptState = S.IDLE) -> Attempt:
    return Attempt("st", "a1", "h1", mode, policy, serial=1, state=state)


def walk(a: Attempt, *events: AttemptEvent) -> list[AttemptState]:
    return [fire(a, ev, i, ev.value).state for i, ev in enumerate(events)]


@pytest.mark.parametrize("mode, events, states", [
    (M.GO_COUNTDOWN, [E.ARM, E.GO_COMMAND, E.GO_SIGNAL, E.FINISH],
     [S.ARMED, S.COUNTDOWN, S.RUNNING, S.FINISHED]),
    (M.REACTION_RANDOM, [E.ARM, E.GO_COMMAND, E.GO_SIGNAL, E.TIME_CAP],
     [S.ARMED, S.COUNTDOWN, S.RUNNING, S.DNF]),
    (M.FIRST_MOVEMENT, [E.ARM, E.GO_COMMAND, E.GO_SIGNAL, E.START_TRIGGER, E.FINISH],
     [S.ARMED, S.COUNTDOWN, S.READY, S.RUNNING, S.FINISHED]),
    (M.HOLD_IN_BEAM, [E.ARM, E.BEAM_ENTERED, E.BEAM_LEFT, E.BEAM_ENTERED, E.HOLD_ELAPSED, E.START_TRIGGER,
                      E.STOP], [S.ARMED, S.HOLDING, S.ARMED, S.HOLDING, S.READY, S.RUNNING, S.DNF]),
    (M.FLY_THROUGH, [E.ARM, E.START_TRIGGER, E.DISQUALIFY], [S.ARMED, S.RUNNING, S.DQ]),
])
def test_paths_through_the_machine(mode, events, states):
    assert walk(attempt(mode), *events) == states


@pytest.mark.parametrize("mode, event", [
    (M.HOLD_IN_BEAM, E.GO_COMMAND),      # uses_go
    (M.FLY_THROUGH, E.GO_COMMAND),
    (M.GO_COUNTDOWN, E.BEAM_ENTERED),    # holds_in_beam
    (M.GO_COUNTDOWN, E.START_TRIGGER),   # flies_through (from ARMED)
    (M.HOLD_IN_BEAM, E.START_TRIGGER),
])
def test_guards_refuse_events_of_other_start_modes(mode, event):
    a = attempt(mode, state=S.ARMED)
    assert allowed(a, event) is None
    with pytest.raises(TransitionRejected):
        fire(a, event, 0, "x")
    assert a.state is S.ARMED


def test_go_signal_goes_to_running_or_ready_by_mode():
    assert allowed(attempt(M.GO_COUNTDOWN, state=S.COUNTDOWN), E.GO_SIGNAL).target is S.RUNNING
    assert allowed(attempt(M.FIRST_MOVEMENT, state=S.COUNTDOWN), E.GO_SIGNAL).target is S.READY


def test_false_start_ends_the_attempt_only_under_void_rearm():
    assert allowed(attempt(policy=FalseStartPolicy.VOID_REARM, state=S.COUNTDOWN), E.FALSE_START).target \
        is S.FALSE_START
    assert allowed(attempt(policy=FalseStartPolicy.WARN_KEEP, state=S.COUNTDOWN), E.FALSE_START) is None


def test_stop_is_dnf_when_running_and_aborted_otherwise():
    assert allowed(attempt(state=S.RUNNING), E.STOP).target is S.DNF
    for state in (S.ARMED, S.COUNTDOWN, S.HOLDING, S.READY):
        assert allowed(attempt(state=state), E.STOP).target is S.ABORTED


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_every_active_state_can_be_aborted(state):
    assert allowed(attempt(state=state), E.ABORT).target is S.ABORTED


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
def test_terminal_states_accept_nothing(state):
    a = attempt(state=state)
    assert all(allowed(a, ev) is None for ev in E)


def test_time_cap_only_applies_once_the_athlete_may_move():
    for state in (S.ARMED, S.COUNTDOWN, S.HOLDING):
        assert allowed(attempt(state=state), E.TIME_CAP) is None


def test_table_is_consistent():
    assert all(tr.guard is None or tr.guard in GUARDS for tr in TRANSITIONS)
    assert all(not (tr.sources & TERMINAL_STATES) for tr in TRANSITIONS)
    targets = {tr.target for tr in TRANSITIONS}
    assert targets | {S.IDLE} == set(S)


def test_fire_records_time_and_reason_and_returns_the_output():
    a = attempt()
    out = fire(a, E.ARM, 1234, "armed")
    assert (out.state, out.t_us, out.reason, out.attempt_id, out.heat_id) == (S.ARMED, 1234, "armed", "a1", "h1")
    assert (a.state, a.state_t_us, a.reason) == (S.ARMED, 1234, "armed")
