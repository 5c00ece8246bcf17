"""The class state machine: transitions, guards, the interval clock, pause/resume, restart."""

from __future__ import annotations

import pytest

from server.errors import Conflict
from server.classes.rotation import Heat
from server.classes.session import (TRANSITIONS, Event, Session, State, Timing, allowed_events, clock_view, due_event,
                                    fire, restored)

TIMING = Timing(work_s=20.0, rest_s=10.0, countdown_s=3.0, auto_go=True)
PLAN = ((Heat((("s1", "a"), ("s2", "b"))), Heat((("s1", "c"),))),
        (Heat((("s1", "b"), ("s2", "a"))), Heat((("s2", "c"),))))


def session(**kw) -> Session:
    return Session(timing=kw.pop("timing", TIMING), plan=kw.pop("plan", PLAN), **kw)


def run(s: Session, *events: Event, now: float = 0.0) -> Session:
    for e in events:
        s, _ = fire(s, e, now)
    return s


def test_start_points_at_the_first_heat_and_is_ready():
    s = run(session(), Event.START)
    assert (s.state, s.round_no, s.heat_no) == (State.READY, 1, 1)


def test_start_needs_a_heat():
    with pytest.raises(Conflict, match="cannot START while the class is SETUP"):
        fire(session(plan=()), Event.START, 0)
    with pytest.raises(Conflict):
        fire(session(plan=((Heat(()),),)), Event.START, 0)


def test_go_starts_the_work_interval_with_the_countdown():
    s = run(session(), Event.START, Event.GO, now=50)
    assert s.state is State.WORK
    assert s.remaining_s(50) == 23.0 and s.remaining_s(60) == 13.0
    assert clock_view(s, 51)["countdown_remaining_s"] == 2.0
    assert due_event(s, 72.9) is None and due_event(s, 73.0) is Event.HEAT_OVER


def test_heat_over_moves_the_pointer_and_rests():
    s = run(session(), Event.START, Event.GO, Event.HEAT_OVER, now=10)
    assert (s.state, s.round_no, s.heat_no) == (State.TRANSITION, 1, 2)
    assert s.remaining_s(10) == 10.0 and due_event(s, 20) is Event.REST_OVER


def test_rest_over_goes_straight_to_work_with_auto_go_and_to_ready_without():
    s = run(session(), Event.START, Event.GO, Event.HEAT_OVER, Event.REST_OVER)
    assert s.state is State.WORK
    manual = run(session(timing=Timing(20, 10, 3, auto_go=False)), Event.START, Event.GO, Event.HEAT_OVER,
                 Event.REST_OVER)
    assert manual.state is State.READY


def test_pointer_crosses_rounds_and_the_last_heat_ends_the_class():
    s = run(session(), Event.START, *([Event.GO, Event.HEAT_OVER, Event.REST_OVER][:2]))
    s = run(s, Event.REST_OVER, Event.HEAT_OVER)
    assert (s.round_no, s.heat_no) == (2, 1)
    s = run(s, Event.REST_OVER, Event.HEAT_OVER, Event.REST_OVER)
    assert (s.state, s.round_no, s.heat_no) == (State.WORK, 2, 2)
    assert run(s, Event.HEAT_OVER).state is State.DONE


def test_empty_heats_are_skipped():
    plan = ((Heat((("s1", "a"),)), Heat(()), Heat((("s1", "b"),))),)
    s = run(session(plan=plan), Event.START, Event.GO, Event.HEAT_OVER)
    assert s.heat_no == 3


def test_skip_in_each_state():
    ready = run(session(), Event.START, Event.SKIP)
    assert (ready.state, ready.heat_no) == (State.READY, 2)
    work = run(session(), Event.START, Event.GO, Event.SKIP)
    assert (work.state, work.heat_no) == (State.TRANSITION, 2)
    rest = run(work, Event.SKIP)
    assert rest.state is State.WORK


def test_pause_freezes_the_clock_and_resume_continues_it():
    s = run(session(), Event.START, Event.GO, now=0)
    paused, _ = fire(s, Event.PAUSE, 5.0)
    assert paused.state is State.PAUSED and paused.resume_to is State.WORK
    assert paused.remaining_s(1000) == 18.0
    assert due_event(paused, 1000) is None
    resumed, _ = fire(paused, Event.RESUME, 1000)
    assert resumed.state is State.WORK and resumed.remaining_s(1000) == 18.0 and resumed.remaining_s(1018) == 0


def test_stop_all_in_work_resumes_as_ready_at_the_same_heat():
    s = run(session(), Event.START, Event.GO, now=0)
    stopped, _ = fire(s, Event.STOP_ALL, 4)
    assert (stopped.state, stopped.resume_to, stopped.heat_no) == (State.PAUSED, State.READY, 1)
    again = run(stopped, Event.STOP_ALL)
    assert again.resume_to is State.READY
    assert run(again, Event.RESUME).state is State.READY


def test_stop_all_while_resting_keeps_the_rest():
    s = run(session(), Event.START, Event.GO, Event.HEAT_OVER, now=0)
    stopped, _ = fire(s, Event.STOP_ALL, 4)
    assert stopped.resume_to is State.TRANSITION and stopped.paused_remaining_s == 6


def test_finish_from_anywhere_but_done():
    for events in ([], [Event.START], [Event.START, Event.GO], [Event.START, Event.PAUSE]):
        assert run(run(session(), *events), Event.FINISH).state is State.DONE
    with pytest.raises(Conflict, match="allowed now: none"):
        fire(run(session(), Event.FINISH), Event.FINISH, 0)


def test_illegal_events_say_what_is_allowed():
    with pytest.raises(Conflict) as err:
        fire(run(session(), Event.START, Event.PAUSE), Event.GO, 0)
    assert "allowed now: RESUME, STOP_ALL, FINISH" in str(err.value)
    assert allowed_events(session()) == [Event.START, Event.FINISH]


def test_restart_brings_running_classes_back_paused():
    work = run(session(), Event.START, Event.GO, Event.HEAT_OVER, Event.REST_OVER)
    back = restored(work)
    assert (back.state, back.resume_to, back.round_no, back.heat_no) == (State.PAUSED, State.READY, 1, 2)
    rest = restored(run(session(), Event.START, Event.GO, Event.HEAT_OVER))
    assert (rest.resume_to, rest.paused_remaining_s) == (State.TRANSITION, 10.0)
    paused_work = restored(run(session(), Event.START, Event.GO, Event.PAUSE))
    assert paused_work.resume_to is State.READY
    assert restored(session()) == session()


def test_json_round_trip():
    s = run(session(pods=(("a", "c"), ("b",))), Event.START, Event.GO, Event.PAUSE, now=3)
    assert Session.from_json(s.to_json()) == s


def test_every_state_but_done_can_finish_and_every_target_is_a_state():
    sources = {src for t in TRANSITIONS if t.event is Event.FINISH for src in t.sources}
    assert sources == set(State) - {State.DONE}
    assert all(isinstance(t.target, State) for t in TRANSITIONS)
