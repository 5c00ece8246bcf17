"""Every result that is not OK says why in words (issue 14): the engine's scripts end each way a run
can end, and the result's ``reason_text`` is what the tablet and the wall show."""

from __future__ import annotations

from server.engine import ResultStatus, StartMode
from server.engine.reason_text import Why, reason_text
from tests.engine.harness import Script
from tests.engine.test_lane import lane
from tests.engine.test_sled import constant_pull, forces, go_script, sled


def test_a_sled_capped_short_of_the_line_says_the_cap_and_how_far_it_came():
    s = go_script(sled(distance_m=15.0, time_cap_s=25.0))
    forces(s, 4.0125, 30.0, 300.0)
    constant_pull(s, 4.0, 0.42, 10.5)                     # stalls at 10.5 m
    r = s.play().result("a1")
    assert r.status is ResultStatus.DNF
    assert r.reason_text == "time cap 25 s — stopped at 10.5 m"


def test_a_lane_capped_says_it_never_reached_the_finish():
    s = Script((lane(reverse_check=False, time_cap_s=20.0),)).arm(0.5, L1="a1").go(1.0, "L1")
    assert s.play().result("a1").reason_text == "time cap 20 s — did not reach the finish"


def test_a_false_start_says_how_long_before_go():
    s = go_script(sled()).ev("S1", "force", "force", 3.92, 400.0)  # GO signal at 4.0 s
    r = s.play().result("a1")
    assert (r.status, r.reason_text) == (ResultStatus.FALSE_START, "false start 0.08 s before GO (pulled)")


def test_a_reaction_under_the_minimum_says_the_reaction():
    cfg = sled(start_mode=StartMode.REACTION_RANDOM, countdown_s=0.0)
    s = Script((cfg,)).arm(0.5, S1="a1").go(1.0, "S1", delay_s=2.0)
    forces(s, 0.0, 3.0, 20.0)
    forces(s, 3.0125, 8.0, ramp=lambda t: 20 + (t - 3.0) * 2500)
    constant_pull(s, 3.2, 2.0, 10.5)
    r = s.play().result("a1")
    assert r.reason_text == "false start: reacted 0.05 s after GO (under 0.10 s)"


def test_a_pull_the_wrong_way_says_wrong_direction():
    s = go_script(sled())
    constant_pull(s, 4.2, 1.0, 1.5, direction=-1)
    r = s.play().result("a1")
    assert r.status is ResultStatus.DQ
    assert r.reason_text.startswith("wrong direction — sled moved") and "away from the athlete" in r.reason_text


def test_stop_and_abort_say_who_ended_it():
    s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").stop(6.0, "L1")
    assert s.play().result("a1").reason_text == "stopped by the instructor"
    s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").abort(5.0, "L1", "aborted by instructor")
    assert s.play().result("a1").reason_text == "aborted by instructor"
    s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").stop(2.0, "L1")   # still in the countdown
    assert s.play().result("a1").reason_text == "stopped before the start"


def test_every_status_but_ok_has_words():
    assert reason_text(Why(ResultStatus.OK, "finished")) is None
    assert reason_text(Why(ResultStatus.ABORTED, "stop all")) == "aborted: STOP ALL"
    assert reason_text(Why(ResultStatus.ABORTED, "station_removed")) == "aborted: station removed"
    assert reason_text(Why(ResultStatus.ABORTED, "")) == "aborted"
    assert reason_text(Why(ResultStatus.DNF, "manual_stop", distance_m=6.24)) == "stopped by the instructor at 6.2 m"
    assert reason_text(Why(ResultStatus.ABORTED, "stopped_before_start")) == "stopped before the start"
    assert reason_text(Why(ResultStatus.DQ, "wrong_direction")) == "wrong direction"
    for status in ResultStatus:
        if status is not ResultStatus.OK:
            assert reason_text(Why(status, "")), status
