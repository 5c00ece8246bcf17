"""Sleds: start modes, false starts, finish interpolation, direction, metrics, curves, DNF."""

from __future__ import annotations

import json

import pytest

from server.engine import (AttemptState, FalseStartPolicy, FalseStartReason, Progress, ResultStatus,
                           SledStationConfig, StartMode)
from tests.engine.harness import Script, jitter, us

S = AttemptState


def sled(**kw) -> SledStationConfig:
    kw.setdefault("station_id", "S1")
    kw.setdefault("distance_m", 10.0)
    return SledStationConfig(**kw)


def constant_pull(s: Script, t0_s: float, v_m_s: float, until_m: float, step_m: float = 0.01,
                  x0_m: float = 0.0, direction: int = 1) -> Script:
    """Encoder edges every ``step_m`` for a pull at constant speed starting at ``t0_s`` from ``x0_m``."""
    k = 1
    while k * step_m <= until_m + 1e-9:
        s.ev("S1", "wheel", "position", t0_s + k * step_m / v_m_s, x0_m + direction * k * step_m)
        k += 1
    return s


def forces(s: Script, t_from_s: float, t_to_s: float, f_n: float | None = None, ramp=None) -> Script:
    """Load-cell samples at 80 Hz: constant ``f_n`` or ``ramp(t_s)``."""
    n = 0
    while t_from_s + n * 0.0125 <= t_to_s:
        t = t_from_s + n * 0.0125
        s.ev("S1", "force", "force", t, f_n if ramp is None else ramp(t))
        n += 1
    return s


def go_script(cfg: SledStationConfig, go_s: float = 1.0) -> Script:
    """Armed at 0.5 s, go at ``go_s`` → GO at go_s + countdown; light force (20 N) from 0 s."""
    s = Script((cfg,)).arm(0.5, S1="a1").go(go_s, "S1")
    return forces(s, 0.0, go_s + cfg.countdown_s, 20.0)


class TestGoCountdown:
    def test_finish_is_interpolated_between_the_straddling_samples(self):
        s = go_script(sled(distance_m=1.0))
        for t, x in [(4.2, 0.3), (4.5, 0.7), (4.62, 0.95), (4.75, 1.05), (4.9, 1.4)]:
            s.ev("S1", "wheel", "position", t, x)
        r = s.play().result("a1")
        # 1.0 m lies halfway between 0.95 m (4.62 s) and 1.05 m (4.75 s) → 4.685 s
        assert (r.status, r.finish_t_us, r.time_s) == (ResultStatus.OK, 4_685_000, 0.685)
        assert r.metrics["distance_m"] == 1.0

    def test_time_from_go_and_reaction_from_the_force_crossing(self):
        s = go_script(sled())
        forces(s, 4.0125, 12.0, ramp=lambda t: min(600.0, 20 + (t - 4.0) * 1000))  # 150 N at 4.13 s
        constant_pull(s, 4.2, 2.0, 10.5)
        r = s.play().result("a1")
        assert r.status is ResultStatus.OK
        assert r.start_t_us == 4_000_000
        assert r.time_s == 5.2 and r.reaction_s == 0.13

    def test_reaction_from_motion_without_a_load_cell(self):
        s = Script((sled(),)).arm(0.5, S1="a1").go(1.0, "S1")
        constant_pull(s, 4.3, 2.0, 10.5)
        r = s.play().result("a1")
        # motion threshold 2 cm: the edge at 0.03 m (4.315 s) is the first beyond it
        assert (r.reaction_s, r.time_s) == (0.315, 5.3)
        assert r.metrics["peak_force_n"] is None and r.metrics["work_j"] is None and r.curve["force_n"] == []

    def test_distance_counts_from_the_rest_position_before_the_go_command(self):
        s = Script((sled(distance_m=2.0),)).arm(0.5, S1="a1")
        s.ev("S1", "wheel", "position", 0.1, 5.0).ev("S1", "wheel", "position", 0.2, 5.01)  # parked at 5.01
        s.go(1.0, "S1")
        constant_pull(s, 4.5, 1.0, 2.5, x0_m=5.01)
        r = s.play().result("a1")
        assert (r.time_s, r.finish_t_us) == (2.5, 6_500_000)

    def test_rest_position_defaults_to_the_configured_zero(self):
        s = Script((sled(distance_m=2.0, rest_position_m=0.0),)).arm(0.5, S1="a1").go(1.0, "S1")
        constant_pull(s, 4.5, 1.0, 2.5)
        assert s.play().result("a1").time_s == 2.5

    def test_splits_by_distance(self):
        s = go_script(sled(distance_m=10.0, split_distances_m=(2.5, 5.0)))
        constant_pull(s, 4.0, 2.0, 10.5, step_m=0.007)
        r = s.play().result("a1")
        assert (r.time_s, r.splits_s) == (5.0, [1.25, 2.5])

    def test_unevenly_spaced_encoder_samples(self):
        s = go_script(sled(distance_m=3.0))
        t, x = 4.0, 0.0
        for k in range(1, 400):
            dt = 0.004 + 0.006 * ((k * 7) % 5) / 4  # 4..10 ms apart
            t += dt
            x += dt * 1.5                          # 1.5 m/s
            s.ev("S1", "wheel", "position", t, x)
        r = s.play().result("a1")
        assert r.finish_t_us == pytest.approx(us(6.0), abs=1)


class TestFirstMovement:
    cfg = sled(start_mode=StartMode.FIRST_MOVEMENT, distance_m=5.0)

    def test_time_starts_at_the_first_edge_of_a_sustained_movement(self):
        s = go_script(self.cfg)
        constant_pull(s, 5.0, 1.0, 5.5)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.start_t_us, r.time_s, r.reaction_s) == (ResultStatus.OK, 5_010_000, 4.99, 1.01)
        assert out.states("S1") == [S.ARMED, S.COUNTDOWN, S.READY, S.RUNNING, S.FINISHED]

    def test_a_wobble_that_falls_back_does_not_start(self):
        s = go_script(self.cfg)
        s.ev("S1", "wheel", "position", 4.5, 0.01).ev("S1", "wheel", "position", 4.6, 0.0)
        constant_pull(s, 5.0, 1.0, 5.5)
        assert s.play().result("a1").start_t_us == 5_010_000

    def test_no_movement_is_dnf_at_the_cap_after_go(self):
        out = go_script(sled(start_mode=StartMode.FIRST_MOVEMENT, time_cap_s=8.0)).play()
        r = out.result("a1")
        assert (r.status, r.reason, r.start_t_us) == (ResultStatus.DNF, "time_cap", None)
        assert out.states("S1")[-1] is S.DNF


class TestFalseStarts:
    def test_force_before_go(self):
        s = go_script(sled()).ev("S1", "force", "force", 2.5, 400.0)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.reason, r.false_start) == (ResultStatus.FALSE_START, "false_start_force", "force")
        assert out.false_starts[0].t_us == 2_500_000
        assert out.states("S1") == [S.ARMED, S.COUNTDOWN, S.FALSE_START, S.ARMED]

    def test_motion_before_go(self):
        s = go_script(sled())
        constant_pull(s, 2.0, 0.5, 0.05)
        out = s.play()
        assert out.result("a1").reason == "false_start_motion"
        assert out.false_starts[0].reason is FalseStartReason.MOTION

    def test_backward_motion_before_go_is_also_a_false_start(self):
        s = go_script(sled())
        constant_pull(s, 2.0, 0.5, 0.05, direction=-1)
        assert s.play().result("a1").status is ResultStatus.FALSE_START

    def test_small_creep_and_pretension_are_tolerated(self):
        s = go_script(sled(distance_m=2.0))
        s.ev("S1", "force", "force", 2.5, 140.0).ev("S1", "wheel", "position", 2.6, 0.01)
        constant_pull(s, 4.5, 1.0, 2.5, x0_m=0.01)
        r = s.play().result("a1")
        assert (r.status, r.false_start) == (ResultStatus.OK, None)
        assert r.time_s == 2.49  # distance from the rest at the go command (0.0), the creep included

    def test_force_before_the_go_command_is_not_judged(self):
        s = Script((sled(distance_m=2.0),)).arm(0.5, S1="a1").ev("S1", "force", "force", 0.7, 500.0)
        s.go(1.0, "S1")
        constant_pull(s, 4.5, 1.0, 2.5)
        assert s.play().result("a1").status is ResultStatus.OK

    def test_warn_keep_times_from_go_and_flags(self):
        cfg = sled(distance_m=2.0, false_start_policy=FalseStartPolicy.WARN_KEEP)
        s = Script((cfg,)).arm(0.5, S1="a1").go(1.0, "S1")
        constant_pull(s, 3.5, 1.0, 2.5)   # moves 0.5 s before GO
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.false_start, r.time_s) == (ResultStatus.OK, "motion", 1.5)
        assert out.false_starts[0].voided is False

    def test_reaction_under_100_ms_in_reaction_mode(self):
        cfg = sled(start_mode=StartMode.REACTION_RANDOM, countdown_s=0.0)
        s = Script((cfg,)).arm(0.5, S1="a1").go(1.0, "S1", delay_s=2.0)
        forces(s, 0.0, 3.0, 20.0)
        forces(s, 3.0125, 8.0, ramp=lambda t: 20 + (t - 3.0) * 2500)   # 150 N at 3.052 s
        constant_pull(s, 3.2, 2.0, 10.5)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.reason, r.reaction_s) == (ResultStatus.FALSE_START, "false_start_reaction", 0.052)

    def test_reaction_mode_needs_a_delay_in_the_window(self):
        cfg = sled(start_mode=StartMode.REACTION_RANDOM, reaction_window_s=(1.0, 2.0))
        s = Script((cfg,)).arm(0.5, S1="a1")
        with pytest.raises(ValueError, match="reaction window"):
            s.go(1.0, "S1", delay_s=0.5).play()


class TestDirection:
    def test_pull_away_from_the_athlete_is_dq(self):
        s = go_script(sled())
        constant_pull(s, 4.2, 1.0, 1.5, direction=-1)
        out = s.play()
        r = out.result("a1")
        assert (r.status, r.reason) == (ResultStatus.DQ, "wrong_direction")
        assert r.time_s is None
        assert any(w.startswith("wrong_direction") for w in r.warnings)

    def test_a_small_backward_slip_is_a_warning_and_does_not_count(self):
        s = go_script(sled(distance_m=2.0))
        s.ev("S1", "wheel", "position", 4.1, -0.05)     # slips back 5 cm after GO
        constant_pull(s, 4.2, 1.0, 2.5, x0_m=-0.05)
        r = s.play().result("a1")
        assert r.status is ResultStatus.OK
        assert r.finish_t_us == 6_250_000               # 2 m from 0.0, not from -0.05
        assert r.warnings == ["backward_motion: sled moved 0.050 m away from the athlete"]


class TestMetrics:
    def pull(self) -> Script:
        cfg = sled(distance_m=10.0, sled_mass_kg=80.0)
        s = go_script(cfg)
        forces(s, 4.0125, 9.5, ramp=lambda t: 400.0 if t < 5.0 else 600.0 if t < 5.5 else 400.0)
        constant_pull(s, 4.2, 2.0, 10.5, step_m=0.005)
        return s

    def test_force_velocity_power_work(self):
        r = self.pull().play().result("a1")
        m = r.metrics
        assert r.time_s == 5.2
        assert m["peak_force_n"] == 600.0 and m["time_to_peak_force_s"] == 1.0
        assert m["mean_force_n"] == pytest.approx(400 + 200 * 0.5 / 5.2, abs=3)
        assert m["peak_velocity_m_s"] == pytest.approx(2.0, abs=1e-6)
        assert m["mean_velocity_m_s"] == pytest.approx(10 / 5.2, abs=1e-3)
        assert m["peak_power_w"] == pytest.approx(1200.0, abs=1)
        assert m["work_j"] == pytest.approx(400 * 10 + 200 * 1.0, abs=10)   # 600 N over 1 m
        assert m["distance_m"] == 10.0 and m["sled_mass_kg"] == 80.0

    def test_curves_are_decimated_and_aligned(self):
        r = self.pull().play().result("a1")
        c = r.curve
        assert len(c["t_s"]) == len(c["force_n"]) == len(c["velocity_m_s"]) == 100
        assert c["t_s"][0] == 0.0 and c["t_s"][-1] == r.time_s
        assert max(c["force_n"]) == 600.0 and c["velocity_m_s"][-1] == pytest.approx(2.0)
        json.dumps(r.to_dict())

    def test_velocity_smoothing_does_not_shift_the_finish(self):
        for window in (0.02, 0.2):
            s = go_script(sled(distance_m=3.0, velocity_window_s=window))
            constant_pull(s, 4.0, 1.5, 3.5, step_m=0.013)
            assert s.play().result("a1").finish_t_us == 6_000_000

    def test_progress_while_running(self):
        out = self.pull().play()
        progress = out.of(Progress)
        assert progress and all(p.station_id == "S1" for p in progress)
        mid = [p for p in progress if 6.0 < p.elapsed_s + 4.0 < 8.0]
        assert mid and all(p.velocity_m_s == pytest.approx(2.0, abs=0.01) for p in mid)
        assert all(p.force_n == 400.0 and p.power_w == pytest.approx(800, abs=5) for p in mid)
        times = [p.t_us for p in progress]
        assert all(b - a >= 100_000 for a, b in zip(times, times[1:]))


class TestEndings:
    def test_dnf_at_the_cap_keeps_the_partial_metrics(self):
        s = go_script(sled(distance_m=20.0, time_cap_s=6.0))
        forces(s, 4.0125, 12.0, 300.0)
        constant_pull(s, 4.0, 1.0, 12.0)
        r = s.play().result("a1")
        assert (r.status, r.reason, r.time_s, r.finish_t_us) == (ResultStatus.DNF, "time_cap", None, None)
        assert r.metrics["distance_m"] == pytest.approx(6.0, abs=0.01)
        assert r.metrics["elapsed_s"] == 6.0

    def test_manual_stop(self):
        s = go_script(sled(distance_m=20.0)).stop(7.0, "S1")
        constant_pull(s, 4.0, 1.0, 12.0)
        r = s.play().result("a1")
        assert (r.status, r.reason) == (ResultStatus.DNF, "manual_stop")
        assert r.metrics["distance_m"] == pytest.approx(3.0, abs=0.01)

    def test_abort_during_countdown(self):
        out = go_script(sled()).abort(2.0, "S1", "strap came loose").play()
        r = out.result("a1")
        assert (r.status, r.reason, r.start_t_us) == (ResultStatus.ABORTED, "strap came loose", None)


@pytest.mark.parametrize("seed", range(4))
def test_sled_results_do_not_depend_on_arrival(seed):
    s = TestMetrics().pull()
    in_order = s.play().result("a1")
    shuffled = s.play(delay_us=jitter(seed), duplicate=lambda ev: (ev.t_us + seed) % 3 == 0,
                      advance_every=7).result("a1")
    assert shuffled == in_order


@pytest.mark.parametrize("rest_counts", [407, 410, 413, 421])
def test_a_pull_that_stops_exactly_on_the_finish_line_finishes(rest_counts):
    """Issue 13 (1): positions are counts / counts-per-metre, so ``x - rest`` of a sled that stops on
    the line can come out a hair short of ``distance_m`` in floating point (16.0175 - 1.0175 =
    14.999999999999998). That was DNF time_cap with ``distance_m`` 15.0 and no finish."""
    cpm = 400.0
    cfg = sled(distance_m=15.0, time_cap_s=10.0)
    s = Script((cfg,)).arm(0.5, S1="a1").go(1.0, "S1")
    s.ev("S1", "wheel", "position", 0.2, rest_counts / cpm)
    forces(s, 0.0, 4.0, 20.0)
    forces(s, 4.0125, 9.0, 400.0)
    last = rest_counts + 6000
    for k in range(rest_counts + 1, last + 1):
        s.ev("S1", "wheel", "position", 4.2 + (k - rest_counts) * 0.0005, k / cpm)
    assert last / cpm - rest_counts / cpm < 15.0  # the case this test is about
    r = s.play().result("a1")
    assert r.status is ResultStatus.OK
    assert r.finish_t_us == us(4.2 + 6000 * 0.0005)
    assert r.metrics["distance_m"] == 15.0
