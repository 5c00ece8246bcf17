"""The calibration wizards as state machines: plain inputs in, states, commands and outcomes out."""

from __future__ import annotations

import random

import pytest

from server.setup.wizards import (BeamWizard, Command, EncoderWizard, LoadCellWizard, State, WizardError)

G = 9.80665
OFFSET, SCALE = 61_234, 1850.0


def raw_for(mass_kg: float) -> int:
    return round(OFFSET + mass_kg * G * SCALE)


def feed(w, raw: int, n: int = 16, t: float = 1.0, jitter: int = 2) -> list[Command]:
    cmds = []
    for i in range(n):
        cmds += w.on_sample(0.0, raw + (i % 3 - 1) * jitter, t)
    return cmds


def step_status(w) -> dict[str, str]:
    return {s["key"]: s["status"] for s in w.view()["steps"]}


def weighed(mass_kg: float = 20) -> LoadCellWizard:
    """A full load cell calibration, zeroed and scaled with ``mass_kg``: at the optional second weight."""
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    w.act("measure", {}, 1.0)
    feed(w, raw_for(0))
    w.act("measure", {"mass_kg": mass_kg}, 2.0)
    feed(w, raw_for(mass_kg))
    assert w.state is State.CHECK
    return w


# -- load cell --------------------------------------------------------------------------------------
def test_load_cell_zero_weight_check_save():
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    assert w.state is State.UNLOAD and w.actions() == ["measure", "cancel"]
    assert w.act("measure", {}, 1.0) == [] and w.state is State.ZEROING
    feed(w, raw_for(0), n=8)
    assert w.state is State.ZEROING and w.view()["progress"] == 0.5
    feed(w, raw_for(0), n=8)
    assert w.state is State.WEIGHT and w.offset_counts == pytest.approx(OFFSET, abs=1)
    assert step_status(w) == {"zero": "done", "weight": "active", "check": "pending", "save": "pending"}
    w.act("measure", {"mass_kg": 20}, 2.0)
    feed(w, raw_for(20))
    assert w.state is State.CHECK and w.scale_counts_per_n == pytest.approx(SCALE, rel=1e-4)
    w.act("measure", {"mass_kg": 40}, 3.0)
    cmds = feed(w, raw_for(40))
    assert w.state is State.SAVING
    assert cmds == [Command("calibrate", {"offset_counts": pytest.approx(OFFSET, abs=1),
                                          "scale_counts_per_n": pytest.approx(SCALE, rel=1e-4)})]
    assert w.on_ack(True, {}, None, 4.0) == [] and w.state is State.DONE
    assert w.outcome.params["scale_counts_per_n"] == pytest.approx(SCALE, rel=1e-4)
    report = w.outcome.report
    assert report["weight"]["mass_kg"] == 20 and report["check"]["passed"] is True
    assert abs(report["check"]["error_pct"]) < 0.01
    assert w.actions() == [] and set(step_status(w).values()) == {"done"}


def test_load_cell_skip_the_check_and_a_refused_save():
    w = weighed()
    assert w.act("skip", {}, 3.0)[0].cmd == "calibrate"
    w.on_ack(False, None, "The node answered: no", 4.0)
    assert w.state is State.FAILED and w.problem == "The node answered: no" and w.outcome is None
    assert step_status(w)["save"] == "failed"
    with pytest.raises(WizardError) as exc:
        w.act("measure", {}, 5.0)
    assert exc.value.status == 409


def test_load_cell_refuses_bad_masses_and_wrong_steps():
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    with pytest.raises(WizardError, match="not possible now") as exc:
        w.act("skip", {}, 1.0)
    assert exc.value.status == 409
    w.act("measure", {}, 1.0)
    feed(w, raw_for(0))
    for bad in ({}, {"mass_kg": 0}, {"mass_kg": "20"}, {"mass_kg": 5000}):
        with pytest.raises(WizardError) as exc:
            w.act("measure", bad, 2.0)
        assert exc.value.status == 400
    assert w.state is State.WEIGHT


def test_a_weight_that_swings_or_does_not_register_is_measured_again():
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    w.act("measure", {}, 1.0)
    feed(w, raw_for(0))
    w.act("measure", {"mass_kg": 20}, 2.0)
    feed(w, raw_for(20), jitter=30_000)  # swinging: ±8 % of the signal
    assert w.state is State.WEIGHT and "moved" in w.problem
    w.act("measure", {"mass_kg": 20}, 3.0)
    feed(w, raw_for(0))  # nothing hangs from the cell
    assert w.state is State.WEIGHT and "changed by only" in w.problem


def test_a_failed_linearity_check_can_be_remeasured_or_saved_anyway():
    w = weighed()
    w.act("measure", {"mass_kg": 40}, 3.0)
    feed(w, raw_for(40 * 1.05))  # reads 5 % high
    assert w.state is State.CHECK and "+5.0 %" in w.problem and w.check["passed"] is False
    assert [c.cmd for c in w.act("skip", {}, 4.0)] == ["calibrate"] and w.state is State.SAVING
    w.on_ack(True, {}, None, 5.0)
    assert w.outcome.report["check"]["error_pct"] == pytest.approx(5.0, abs=0.01)


def test_no_readings_while_sampling_goes_back_with_a_message():
    w = LoadCellWizard("w1", "n", "force", started_s=0.0, sample_timeout_s=4.0)
    w.act("measure", {}, 1.0)
    feed(w, raw_for(0), n=3, t=1.5)
    w.tick(5.0)
    assert w.state is State.ZEROING
    w.tick(5.6)
    assert w.state is State.UNLOAD and "No readings" in w.problem


def test_rezero_keeps_the_scale_and_checks_the_cell_is_still():
    with pytest.raises(WizardError, match="no scale yet"):
        LoadCellWizard("w1", "n", "force", started_s=0.0, mode="zero")
    w = LoadCellWizard("w1", "n", "force", started_s=0.0, mode="zero", scale_counts_per_n=SCALE)
    assert [s["key"] for s in w.view()["steps"]] == ["zero", "save"]
    w.act("measure", {}, 1.0)
    feed(w, raw_for(0), jitter=20_000)  # ±11 N: someone leans on it
    assert w.state is State.UNLOAD and "keep the sled" in w.problem
    w.act("measure", {}, 2.0)
    cmds = feed(w, raw_for(0) + 5000)
    assert cmds == [Command("calibrate", {"offset_counts": pytest.approx(OFFSET + 5000, abs=1)})]
    w.on_ack(True, {}, None, 3.0)
    assert w.outcome.params == {"offset_counts": pytest.approx(OFFSET + 5000, abs=1), "scale_counts_per_n": SCALE}


def test_cancel_ends_any_wizard_without_a_command():
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    assert w.act("cancel", {}, 1.0) == [] and w.state is State.CANCELLED
    assert step_status(w)["zero"] == "cancelled" and w.view()["ended"] is True


# -- encoder ----------------------------------------------------------------------------------------
def test_encoder_pull_a_measured_distance():
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0, latest_counts=-25, counts_per_m=100.0)
    w.act("start", {}, 1.0)
    assert w.start_counts == -25
    for c in range(-24, 2476):
        w.on_sample(None, c, 2.0)
    assert w.view()["live"] == {"counts": 2500, "distance_m_now_calibration": 25.0}
    cmds = w.act("finish", {"distance_m": 10}, 3.0)
    assert cmds == [Command("calibrate", {"counts_per_m": 250.0, "invert": False})]
    w.on_ack(True, {"counts_per_m": 250.0}, None, 4.0)
    assert w.state is State.DONE and "back to its start" in w.message
    assert w.outcome.params == {"counts_per_m": 250.0, "invert": False}
    assert w.outcome.report["delta_counts"] == 2500


def test_encoder_counting_backwards_sets_invert_and_a_wheel_that_did_not_turn_is_told():
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0)
    w.act("start", {}, 1.0)
    w.on_sample(None, 7, 1.5)  # no count known at start: the first reading is the start
    assert w.act("finish", {"distance_m": 10}, 2.0) == [] and "moved only 0 counts" in w.problem
    with pytest.raises(WizardError) as exc:
        w.act("finish", {"distance_m": 0}, 2.0)
    assert exc.value.status == 400
    for c in range(6, 7 - 2001, -1):
        w.on_sample(None, c, 2.5)
    assert w.act("finish", {"distance_m": 8}, 3.0) == [Command("calibrate", {"counts_per_m": 250.0, "invert": True})]


def test_encoder_restart_goes_back_to_the_mark():
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0, latest_counts=10)
    w.act("start", {}, 1.0)
    w.act("restart", {}, 2.0)
    assert w.state is State.MARK and w.start_counts is None


# -- beams ------------------------------------------------------------------------------------------
def walk_through(w, t_us: int, times: int, block_us: int = 300_000, gap_us: int = 1_200_000) -> int:
    for _ in range(times):
        w.on_event("break", t_us, None, t_us / 1e6)
        t_us += block_us
        w.on_event("restore", t_us, None, t_us / 1e6)
        t_us += gap_us
    return t_us


def test_beam_three_clean_breaks_then_clear():
    w = BeamWizard("w3", "n", "finish", started_s=0.0)
    t = walk_through(w, 1_000_000, 3)
    assert w.passes == 3 and w.state is State.WATCH and w.view()["progress"] == 1.0
    w.tick((t - 1_200_000) / 1e6 + 0.5)
    assert w.state is State.WATCH  # must rest clear for settle_s first
    w.tick((t - 1_200_000) / 1e6 + 1.1)
    assert w.state is State.DONE and w.outcome.params == {}
    assert w.outcome.report == {"passes": 3, "block_ms": [300.0] * 3, "flickers": 0, "dual_gap_ms": None,
                                "polarity_fixed": False}


def test_beam_that_reads_the_wrong_way_round_is_flipped_with_the_users_ok():
    w = BeamWizard("w3", "n", "start", started_s=0.0)
    # wrong polarity: idle reads broken; a person passing reads as a short clear spell
    t = 1_000_000
    for _ in range(3):
        w.on_event("restore", t, None, t / 1e6)
        t += 300_000
        w.on_event("break", t, None, t / 1e6)
        t += 1_500_000
    w.tick(t / 1e6 + 2.0)
    assert w.state is State.INVERTED and "wrong way round" in w.problem and w.actions() == ["fix", "cancel"]
    assert w.act("fix", {}, t / 1e6 + 3) == [Command("configure", {"invert": True})]
    w.on_ack(True, {"holdoff_s": 0.5, "broken_level": "high"}, None, t / 1e6 + 3.1)
    assert w.state is State.WATCH and w.passes == 0
    t = walk_through(w, t + 5_000_000, 3)
    w.tick((t - 1_200_000) / 1e6 + 1.1)
    assert w.state is State.DONE and w.outcome.params == {"broken_level": "high"}
    assert w.outcome.report["polarity_fixed"] is True


def test_a_person_standing_in_a_good_beam_is_not_taken_for_wrong_polarity():
    w = BeamWizard("w3", "n", "start", started_s=0.0)
    t = walk_through(w, 1_000_000, 2, gap_us=1_000_000)
    w.on_event("break", t, None, t / 1e6)  # then stands in it
    w.tick(t / 1e6 + 3.5)
    assert w.state is State.WATCH and "read BROKEN for over 3 s" in w.problem


def test_beam_flicker_is_reported_and_silence_fails():
    w = BeamWizard("w3", "n", "start", started_s=0.0)
    t = 1_000_000
    for _ in range(3):
        w.on_event("break", t, None, t / 1e6)
        w.on_event("restore", t + 2_000, None, t / 1e6)
        t += 100_000
    assert w.flickers == 3 and w.passes == 0 and "flickers" in w.problem
    quiet = BeamWizard("w4", "n", "start", started_s=0.0, no_event_timeout_s=60)
    quiet.tick(59.0)
    assert quiet.state is State.WATCH
    quiet.tick(61.0)
    assert quiet.state is State.FAILED and "No break seen in 60 s" in quiet.problem


def test_dual_beam_reports_how_far_apart_its_beams_break():
    w = BeamWizard("w3", "n", "finish", started_s=0.0, window_s=0.02)
    w.on_event("break", 1_000_000, {"edges_us": [998_000, 1_000_000]}, 1.0)
    w.on_event("restore", 1_300_000, None, 1.3)
    assert w.view()["live"]["dual_gap_ms"] == 2.0 and w.passes == 1


# -- encoder under reordering (issue 13, 3) -------------------------------------------------------------
def reordered(samples: list[tuple[int, int]], seed: int) -> list[tuple[int, int]]:
    """``(t_us, counts)`` in an arrival order where each sample is delayed 0–200 ms at random."""
    rng = random.Random(seed)
    return [s for _, s in sorted((t + rng.randrange(200_000), (t, c)) for t, c in samples)]


def pull(w: EncoderWizard, start: int, counts: int, t0_us: int, seed: int) -> None:
    """A 10 m pull of ``counts`` edges (one sample per edge, 1 ms apart), delivered out of order."""
    edges = [(t0_us + i * 1000, start + i) for i in range(1, counts + 1)]
    for t, c in reordered(edges, seed):
        w.on_sample(None, c, t / 1e6, t)


@pytest.mark.parametrize("seed", range(5))
def test_encoder_takes_the_newest_reading_by_node_time_not_the_last_to_arrive(seed):
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0)
    for t, c in reordered([(i * 1000, 100 + i) for i in range(300)], seed):  # a nudge before the start
        w.on_sample(None, c, t / 1e6, t)
    assert (w.latest_counts, w.latest_t_us) == (399, 299_000)
    w.act("start", {}, 1.0)
    assert w.start_counts == 399
    pull(w, 399, 4000, 2_000_000, seed + 100)
    assert w.latest_counts == 4399
    assert w.act("finish", {"distance_m": 10}, 9.0) == [Command("calibrate", {"counts_per_m": 400.0,
                                                                               "invert": False})]


@pytest.mark.parametrize("seed", range(5))
def test_encoder_without_a_reading_before_start_starts_at_the_earliest_sample(seed):
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0)
    w.act("start", {}, 1.0)
    pull(w, 0, 4000, 2_000_000, seed)
    assert (w.start_counts, w.start_t_us) == (1, 2_001_000)  # the first edge: one count from rest
    assert w.act("finish", {"distance_m": 10}, 9.0) == [Command("calibrate", {"counts_per_m": 399.9,
                                                                               "invert": False})]


def test_live_readings_show_the_newest_sample_by_node_time():
    from server.protocol import TelemetryBatch
    from server.setup.readings import LiveReadings
    readings = LiveReadings()
    newer = TelemetryBatch("n", "b1", 2, "wheel", "position", ((2_000, 0.5, 200), (3_000, 0.51, 204)), 10, True)
    older = TelemetryBatch("n", "b1", 1, "wheel", "position", ((1_000, 0.4, 160),), 11, True)
    readings.on_batch(newer)
    readings.on_batch(older)  # arrives last, but is older
    r = readings.get("n", "wheel")
    assert (r.raw, r.t_us, r.value) == (204, 3_000, 0.51)
