"""Lanes: start modes, false starts, gate order, splits, shuttles, hold-off, dual beams, DNF."""

from __future__ import annotations

import pytest

from server.engine import (AttemptState, FalseStartPolicy, FalseStartReason, LaneStationConfig, ResultStatus,
                           StartMode)
from tests.engine.harness import Script, jitter

S = AttemptState
GO = StartMode.GO_COUNTDOWN


def lane(**kw) -> LaneStationConfig:
    kw.setdefault("station_id", "L1")
    return LaneStationConfig(**kw)


def go_run(cfg: LaneStationConfig, *, leave_s: float = 4.35, gates: tuple[tuple[str, float], ...] = (),
           go_s: float = 1.0) -> Script:
    """Armed at 0.5 s, go at ``go_s`` (GO at go_s + 3 s), athlete stands in the start beam from 0.2 s."""
    s = Script((cfg,)).arm(0.5, L1="a1").go(go_s, "L1")
    s.beam("L1", "start", 0.2, leave_s)
    for role, t in gates:
        s.beam("L1", role, t)
    return s


class TestGoCountdown:
    def test_time_runs_from_go_to_finish_and_reaction_from_leaving_the_beam(self):
        out = go_run(lane(), gates=(("finish", 9.0),)).play()
        r = out.result("a1")
        assert (r.status, r.reason) == (ResultStatus.OK, "finished")
        assert r.start_t_us == 4_000_000 and r.finish_t_us == 9_000_000
        assert r.time_s == 5.0 and r.reaction_s == 0.35
        assert out.states("L1") == [S.ARMED, S.COUNTDOWN, S.RUNNING, S.FINISHED]

    def test_athlete_behind_the_line_starts_by_breaking_the_beam(self):
        s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").beam("L1", "start", 4.4).beam("L1", "finish", 8.0)
        r = s.play().result("a1")
        assert (r.status, r.time_s, r.reaction_s) == (ResultStatus.OK, 4.0, 0.4)

    def test_countdown_length_is_configurable(self):
        out = go_run(lane(countdown_s=5.0), leave_s=6.3, gates=(("finish", 9.0),)).play()
        assert out.result("a1").start_t_us == 6_000_000

    def test_fast_reaction_is_only_recorded_in_countdown_mode(self):
        r = go_run(lane(), leave_s=4.05, gates=(("finish", 9.0),)).play().result("a1")
        assert (r.status, r.reaction_s, r.false_start) == (ResultStatus.OK, 0.05, None)

    def test_finish_before_the_start_passage_does_not_count(self):
        s = Script((lane(reverse_check=False),)).arm(0.5, L1="a1").go(1.0, "L1").beam("L1", "finish", 5.0)
        s.beam("L1", "start", 6.0)
        r = s.play().result("a1")
        assert (r.status, r.reason) == (ResultStatus.DNF, "time_cap")


class TestFalseStarts:
    def test_start_beam_before_go_voids_and_rearms(self):
        out = go_run(lane(), leave_s=3.5, gates=(("finish", 8.0),)).play()
        r = out.result("a1")
        assert (r.status, r.reason, r.false_start) == (ResultStatus.FALSE_START, "false_start_start_beam",
                                                       "start_beam")
        assert r.time_s is None
        (fs,) = out.false_starts
        assert (fs.reason, fs.voided, fs.t_us) == (FalseStartReason.START_BEAM, True, 3_500_000)
        assert out.states("L1") == [S.ARMED, S.COUNTDOWN, S.FALSE_START, S.ARMED]
        rearmed = out.of(type(fs))[0]
        assert rearmed.attempt_id == "a1"
        armed_again = [o for o in out.items if getattr(o, "rearmed_from", None) == "a1"]
        assert armed_again and armed_again[0].attempt_id == "a1~2"

    def test_rearmed_attempt_runs_on_a_new_go(self):
        s = go_run(lane(), leave_s=3.5)
        s.beam("L1", "start", 5.0, 20.0).go(10.0, "L1").beam("L1", "finish", 24.0)
        out = s.play()
        assert out.result("a1").status is ResultStatus.FALSE_START
        r2 = out.result("a1~2")
        assert (r2.status, r2.start_t_us, r2.time_s, r2.reaction_s) == (ResultStatus.OK, 13_000_000, 11.0, 7.0)

    def test_second_false_start_gets_the_next_try_number(self):
        s = go_run(lane(), leave_s=3.5)
        s.beam("L1", "start", 5.0, 11.0).go(10.0, "L1")
        out = s.play()
        assert [r.status for r in out.results.values()] == [ResultStatus.FALSE_START] * 2
        assert set(out.results) == {"a1", "a1~2"}
        assert out.states("L1")[-1] is S.ARMED

    def test_warn_keep_flags_and_keeps_timing_from_go(self):
        cfg = lane(false_start_policy=FalseStartPolicy.WARN_KEEP)
        out = go_run(cfg, leave_s=3.8, gates=(("finish", 9.0),)).play()
        r = out.result("a1")
        assert (r.status, r.time_s, r.false_start) == (ResultStatus.OK, 5.0, "start_beam")
        assert r.reaction_s == -0.2
        assert any(w.startswith("false_start:start_beam") for w in r.warnings)
        (fs,) = out.false_starts
        assert fs.voided is False and fs.policy is FalseStartPolicy.WARN_KEEP

    def test_movement_in_the_beam_before_the_go_command_is_not_a_false_start(self):
        s = Script((lane(),)).arm(0.5, L1="a1").beam("L1", "start", 0.6, 0.8).beam("L1", "start", 0.9, 4.3)
        s.go(1.0, "L1").beam("L1", "finish", 9.0)
        assert s.play().result("a1").status is ResultStatus.OK

    def test_reaction_under_100_ms_is_a_false_start_in_reaction_mode(self):
        cfg = lane(start_mode=StartMode.REACTION_RANDOM, countdown_s=0.0)
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1", delay_s=2.0).beam("L1", "start", 0.2, 3.09)
        s.beam("L1", "finish", 7.0)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.reason, r.reaction_s) == (ResultStatus.FALSE_START, "false_start_reaction", 0.09)
        assert out.false_starts[0].reason is FalseStartReason.REACTION

    def test_reaction_of_exactly_100_ms_is_fine(self):
        cfg = lane(start_mode=StartMode.REACTION_RANDOM, countdown_s=0.0)
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1", delay_s=2.0).beam("L1", "start", 0.2, 3.1)
        s.beam("L1", "finish", 7.0)
        r = s.play().result("a1")
        assert (r.status, r.time_s, r.reaction_s) == (ResultStatus.OK, 4.0, 0.1)

    def test_fast_reaction_under_warn_keep_is_flagged(self):
        cfg = lane(start_mode=StartMode.REACTION_RANDOM, countdown_s=0.0,
                   false_start_policy=FalseStartPolicy.WARN_KEEP)
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1", delay_s=2.0).beam("L1", "start", 0.2, 3.05)
        s.beam("L1", "finish", 7.0)
        r = s.play().result("a1")
        assert (r.status, r.time_s, r.false_start) == (ResultStatus.OK, 4.0, "reaction")


class TestHoldInBeam:
    cfg = lane(start_mode=StartMode.HOLD_IN_BEAM, hold_s=3.0)

    def test_time_starts_on_leaving_after_the_hold(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "start", 1.0, 4.5).beam("L1", "finish", 10.0)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.start_t_us, r.time_s, r.reaction_s) == (ResultStatus.OK, 4_500_000, 5.5, None)
        assert out.states("L1") == [S.ARMED, S.HOLDING, S.READY, S.RUNNING, S.FINISHED]

    def test_leaving_early_resets_the_hold(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "start", 1.0, 2.0)
        s.beam("L1", "start", 3.0, 6.5).beam("L1", "finish", 10.0)
        out = s.play()
        assert out.result("a1").start_t_us == 6_500_000
        assert out.states("L1")[:5] == [S.ARMED, S.HOLDING, S.ARMED, S.HOLDING, S.READY]

    def test_leaving_before_a_restarted_hold_completes_does_not_start(self):
        # the first hold's timer (due at 4.0 s) must not complete the second hold (3.0 → 6.0 s)
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "start", 1.0, 2.0)
        s.beam("L1", "start", 3.0, 5.0).beam("L1", "finish", 10.0)
        out = s.play(until_s=30.0)
        assert out.states("L1") == [S.ARMED, S.HOLDING, S.ARMED, S.HOLDING, S.ARMED]
        assert out.results == {}

    def test_athlete_already_in_the_beam_when_armed(self):
        s = Script((self.cfg,)).beam("L1", "start", 0.2, 4.0).arm(0.5, L1="a1").beam("L1", "finish", 8.0)
        r = s.play().result("a1")
        assert (r.start_t_us, r.time_s) == (4_000_000, 4.0)

    def test_go_is_not_needed_and_ignored(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").go(0.6, "L1").beam("L1", "start", 1.0, 4.5)
        s.beam("L1", "finish", 10.0)
        assert s.play().result("a1").time_s == 5.5

    def test_limb_rebreak_after_leaving_does_not_restart(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "start", 1.0, 4.5).beam("L1", "start", 4.6, 4.65)
        s.beam("L1", "finish", 10.0)
        assert s.play().result("a1").time_s == 5.5


class TestFlyThrough:
    cfg = lane(start_mode=StartMode.FLY_THROUGH, split_roles=("split1",))

    def test_time_starts_at_the_start_gate(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "start", 2.0).beam("L1", "split1", 4.0)
        s.beam("L1", "finish", 6.5)
        r = s.play().result("a1")
        assert (r.status, r.time_s, r.splits_s, r.reaction_s) == (ResultStatus.OK, 4.5, [2.0], None)

    def test_wrong_direction_run_is_dq(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "finish", 2.0).beam("L1", "split1", 4.0)
        s.beam("L1", "start", 6.5)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.reason, r.time_s) == (ResultStatus.DQ, "wrong_direction", None)
        assert out.states("L1") == [S.ARMED, S.DQ]

    def test_stray_finish_break_then_a_real_start_is_not_dq_when_a_split_is_in_between(self):
        s = Script((self.cfg,)).arm(0.5, L1="a1").beam("L1", "finish", 1.0).beam("L1", "start", 2.0)
        s.beam("L1", "split1", 4.0).beam("L1", "finish", 6.5)
        assert s.play().result("a1").status is ResultStatus.OK

    def test_reverse_check_can_be_disabled(self):
        cfg = lane(start_mode=StartMode.FLY_THROUGH, reverse_check=False)
        s = Script((cfg,)).arm(0.5, L1="a1").beam("L1", "finish", 2.0).beam("L1", "start", 6.5)
        out = s.play()
        assert out.states("L1") == [S.ARMED, S.RUNNING, S.DNF]


class TestRoute:
    def test_splits_are_cumulative_times(self):
        cfg = lane(split_roles=("split1", "split2"))
        r = go_run(cfg, gates=(("split1", 6.0), ("split2", 7.5), ("finish", 9.25))).play().result("a1")
        assert (r.time_s, r.splits_s) == (5.25, [2.0, 3.5])

    def test_a_missed_split_is_none_with_a_warning(self):
        cfg = lane(split_roles=("split1", "split2"))
        r = go_run(cfg, gates=(("split2", 7.5), ("finish", 9.25))).play().result("a1")
        assert (r.status, r.splits_s, r.warnings) == (ResultStatus.OK, [None, 3.5], ["missed_gate:split1"])

    def test_out_of_order_split_does_not_count(self):
        cfg = lane(split_roles=("split1", "split2"))
        r = go_run(cfg, gates=(("split2", 6.0), ("split1", 7.0), ("finish", 9.0))).play().result("a1")
        # split2 first: split1 was skipped; the later split1 break is behind and ignored
        assert (r.splits_s, r.time_s) == ([None, 2.0], 5.0)

    def test_wrong_direction_after_go_is_dq(self):
        cfg = lane(split_roles=("split1",))
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1")
        s.beam("L1", "finish", 4.5).beam("L1", "split1", 6.0).beam("L1", "start", 8.0)
        r = s.play().result("a1")
        assert (r.status, r.reason) == (ResultStatus.DQ, "wrong_direction")

    def test_wrong_direction_without_splits(self):
        s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").beam("L1", "finish", 4.5).beam("L1", "start", 8.0)
        assert s.play().result("a1").status is ResultStatus.DQ

    def test_shuttle_passes_turn_and_start_lines_alternately(self):
        cfg = lane(shuttle_legs=3)
        s = go_run(cfg, gates=(("turn", 6.0), ("start", 8.0), ("turn", 10.0), ("finish", 10.2)))
        r = s.play().result("a1")
        # legs end at turn (6.0), start line (8.0), finish (10.2); the second turn break is not on the route
        assert (r.status, r.time_s, r.splits_s) == (ResultStatus.OK, 6.2, [2.0, 4.0])
        assert r.metrics["route"] == ["start", "turn", "start", "finish"]

    def test_shuttle_cannot_skip_the_turn(self):
        cfg = lane(shuttle_legs=2)
        r = go_run(cfg, gates=(("finish", 7.0),)).play().result("a1")
        assert r.status is ResultStatus.DNF
        assert "gate_order:finish_before_turn" in r.warnings

    def test_explicit_route_with_a_shared_start_finish_beam(self):
        cfg = lane(route=("turn", "start"))
        r = go_run(cfg, gates=(("turn", 6.0), ("start", 8.5))).play().result("a1")
        assert (r.status, r.time_s, r.splits_s) == (ResultStatus.OK, 4.5, [2.0])

    def test_lane_without_start_gate(self):
        cfg = lane(start_gate=False, split_roles=("split1",))
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1").beam("L1", "split1", 6.0).beam("L1", "finish", 8.0)
        r = s.play().result("a1")
        assert (r.status, r.time_s, r.splits_s, r.reaction_s) == (ResultStatus.OK, 4.0, [2.0], None)


class TestHoldoffAndDualBeams:
    def test_limb_rebreaks_within_holdoff_are_ignored_and_counted(self):
        cfg = lane(split_roles=("split1",), shuttle_legs=1, holdoff_s=0.5)
        s = go_run(cfg, gates=(("split1", 6.0),))
        s.beam("L1", "split1", 6.3, 6.35).beam("L1", "start", 4.5, 4.55).beam("L1", "finish", 8.0)
        r = s.play().result("a1")
        assert (r.time_s, r.splits_s, r.warnings) == (4.0, [2.0], [])
        assert r.metrics["rebreaks_ignored"] == 1  # split1; the start beam re-break came 0.15 s after leaving

    def test_holdoff_keeps_a_turn_gate_limb_from_counting_as_the_next_passage(self):
        # route start → turn → turn → finish (explicit): the second turn passage must be a real one
        cfg = lane(route=("turn", "turn", "finish"), holdoff_s=0.5)
        s = go_run(cfg, gates=(("turn", 6.0), ("finish", 9.0)))
        s.beam("L1", "turn", 6.2, 6.25).beam("L1", "turn", 7.5)
        r = s.play().result("a1")
        assert (r.status, r.splits_s) == (ResultStatus.OK, [2.0, 3.5])

    def test_without_holdoff_the_limb_would_count(self):
        cfg = lane(route=("turn", "turn", "finish"), holdoff_s=0.0)
        s = go_run(cfg, gates=(("turn", 6.0), ("finish", 9.0)))
        s.beam("L1", "turn", 6.2, 6.25).beam("L1", "turn", 7.5)
        assert s.play().result("a1").splits_s == [2.0, 2.2]

    def test_dual_beam_gate_needs_both_beams(self):
        cfg = lane(dual_beam_roles=frozenset({"finish"}))
        s = go_run(cfg)
        s.beam("L1", "finish", 7.0, 7.05)            # arm swing through beam A only
        s.beam("L1", "finish.b", 7.5, 7.55)          # and through beam B only, later
        s.beam("L1", "finish", 8.93, 9.2)            # knee through A 70 ms early ...
        s.beam("L1", "finish.b", 9.0, 9.2)           # ... torso through B: the passage
        r = s.play().result("a1")
        assert (r.status, r.finish_t_us, r.time_s) == (ResultStatus.OK, 9_000_000, 5.0)

    def test_dual_start_gate_first_beam_event_is_not_a_false_start(self):
        cfg = lane(dual_beam_roles=frozenset({"start"}))
        s = Script((cfg,)).arm(0.5, L1="a1").go(1.0, "L1")
        s.ev("L1", "start", "break", 2.0).ev("L1", "start", "restore", 2.1)   # one beam only, in countdown
        s.beam("L1", "start", 4.2, 4.4).beam("L1", "start.b", 4.25, 4.4).beam("L1", "finish", 8.0)
        r = s.play().result("a1")
        assert (r.status, r.false_start, r.reaction_s) == (ResultStatus.OK, None, 0.25)

    def test_single_beam_would_take_the_knee(self):
        s = go_run(lane()).beam("L1", "finish", 8.93, 9.2)
        assert s.play().result("a1").finish_t_us == 8_930_000

    def test_beam_b_of_a_single_gate_is_an_unknown_role(self):
        s = go_run(lane(), gates=(("finish", 9.0),)).beam("L1", "finish.b", 8.0)
        engine_out = s.play()
        assert engine_out.result("a1").time_s == 5.0


class TestEndings:
    def test_dnf_at_time_cap_after_go(self):
        out = go_run(lane(time_cap_s=10.0)).play()
        r = out.result("a1")
        assert (r.status, r.reason, r.time_s, r.metrics["elapsed_s"]) == (ResultStatus.DNF, "time_cap", None, 10.0)
        assert out.states("L1")[-1] is S.DNF

    def test_finish_exactly_at_the_cap_counts(self):
        r = go_run(lane(time_cap_s=5.0), gates=(("finish", 9.0),)).play().result("a1")
        assert (r.status, r.time_s) == (ResultStatus.OK, 5.0)

    def test_fly_through_cap_counts_from_the_start(self):
        cfg = lane(start_mode=StartMode.FLY_THROUGH, time_cap_s=5.0)
        s = Script((cfg,)).arm(0.5, L1="a1").beam("L1", "start", 20.0).beam("L1", "finish", 24.0)
        assert s.play().result("a1").time_s == 4.0

    def test_manual_stop_while_running_is_dnf(self):
        s = go_run(lane(), gates=(("finish", 9.0),)).stop(6.0, "L1")
        r = s.play().result("a1")
        assert (r.status, r.reason, r.metrics["elapsed_s"]) == (ResultStatus.DNF, "manual_stop", 2.0)

    def test_stop_before_the_start_is_aborted(self):
        s = Script((lane(),)).arm(0.5, L1="a1").go(1.0, "L1").stop(2.0, "L1")
        r = s.play().result("a1")
        assert (r.status, r.reason) == (ResultStatus.ABORTED, "stopped_before_start")

    def test_abort_with_reason(self):
        s = go_run(lane(), gates=(("finish", 9.0),)).abort(6.0, "L1", "athlete slipped")
        out = s.play()
        assert (out.result("a1").status, out.result("a1").reason) == (ResultStatus.ABORTED, "athlete slipped")
        assert out.states("L1")[-1] is S.ABORTED


class TestHeatOfLanes:
    def test_three_lanes_start_together_and_finish_independently(self):
        cfgs = tuple(lane(station_id=f"L{i}", split_roles=("split1",)) for i in (1, 2, 3))
        s = Script(cfgs).arm(0.5, heat_id="H", L1="a1", L2="a2", L3="a3").go(1.0, "H")
        for i, (react, split, fin) in enumerate([(0.3, 6.0, 8.0), (0.25, 6.5, 9.0), (0.4, 5.5, 7.5)], start=1):
            s.beam(f"L{i}", "start", 0.2, 4.0 + react).beam(f"L{i}", "split1", split).beam(f"L{i}", "finish", fin)
        out = s.play(delay_us=jitter(3), duplicate=lambda ev: ev.t_us % 3 == 0)
        times = {k: (r.time_s, r.splits_s, r.reaction_s) for k, r in out.results.items()}
        assert times == {"a1": (4.0, [2.0], 0.3), "a2": (5.0, [2.5], 0.25), "a3": (3.5, [1.5], 0.4)}
        heat_states = [o.state.value for o in out.items if type(o).__name__ == "HeatStateChanged"]
        assert heat_states == ["ARMED", "COUNTDOWN", "RUNNING", "DONE"]

    def test_a_voided_lane_leaves_the_others_running(self):
        cfgs = (lane(station_id="L1"), lane(station_id="L2"))
        s = Script(cfgs).arm(0.5, heat_id="H", L1="a1", L2="a2").go(1.0, "H")
        s.beam("L1", "start", 0.2, 3.0).beam("L2", "start", 0.2, 4.3).beam("L2", "finish", 8.0)
        out = s.play()
        assert out.result("a1").status is ResultStatus.FALSE_START
        assert out.result("a2").time_s == 4.0


@pytest.mark.parametrize("seed", range(5))
def test_lane_results_do_not_depend_on_arrival(seed):
    cfg = lane(split_roles=("split1", "split2"), dual_beam_roles=frozenset({"finish"}))
    s = go_run(cfg, gates=(("split1", 6.0), ("split2", 7.0)))
    s.beam("L1", "split1", 6.1, 6.12).beam("L1", "finish", 8.9, 9.1).beam("L1", "finish.b", 9.0, 9.1)
    in_order = s.play().result("a1")
    shuffled = s.play(delay_us=jitter(seed), duplicate=lambda ev: (ev.t_us // 1000 + seed) % 2 == 0,
                      advance_every=3).result("a1")
    assert shuffled == in_order
    assert (in_order.time_s, in_order.splits_s) == (5.0, [2.0, 3.0])
