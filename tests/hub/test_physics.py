import pytest

from server.sim.physics import ShuffleAthlete, Sled, SledAthlete, SledRun


def test_sled_accelerates_to_a_plausible_pace_and_friction_holds_a_weak_pull():
    run = SledRun(SledAthlete(f0_n=600), Sled(mass_kg=60, friction_mu=0.45))
    states = run.trajectory(until_m=15.0)
    t15 = SledRun.time_at_distance(states, 15.0)
    assert 5.0 < t15 < 15.0  # a 15 m reverse pull with 60 kg takes seconds, not milliseconds
    assert max(s.velocity_m_s for s in states) < 3.2
    weak = SledRun(SledAthlete(f0_n=200), Sled(mass_kg=60, friction_mu=0.45))  # 200 N < μmg = 265 N
    assert weak.trajectory(until_m=1.0, max_s=3.0)[-1].position_m == 0.0


def test_encoder_crossings_are_ordered_and_exact():
    run = SledRun(sled=Sled(counts_per_m=200))
    states = run.trajectory(until_m=2.0)
    crossings = run.count_crossings(states)
    counts = [c for _, c in crossings]
    assert counts == list(range(1, len(counts) + 1))
    times = [t for t, _ in crossings]
    assert times == sorted(times)
    # the crossing of count 200 is the time the sled reaches 1.000 m
    assert crossings[199][0] == pytest.approx(SledRun.time_at_distance(states, 1.0), abs=1e-9)


def test_shuffle_positions_and_beam_windows():
    a = ShuffleAthlete(top_speed_m_s=2.5, accel_s=1.0, body_depth_m=0.3)
    assert a.position_at(1.0) == pytest.approx(1.25)
    assert a.time_at(a.position_at(3.0)) == pytest.approx(3.0)
    brk, restore = a.beam_window(10.0)
    assert 0 < brk < restore and restore - brk == pytest.approx(0.3 / 2.5)


def test_pull_yields_what_the_trajectorys_crossings_give_one_state_at_a_time():
    run = SledRun(SledAthlete(), Sled(counts_per_m=200.0))
    states = run.trajectory(until_m=3.0)
    expected = run.count_crossings(states)
    pulled = list(run.pull(until_m=3.0))
    assert [(t, c) for t, c, _ in pulled] == expected
    # the force is the harness force of the step the crossing falls in
    for t_s, _c, force_n in pulled[::50]:
        assert force_n == states[int(round(t_s / run.dt_s - 0.5))].force_n
    assert len(pulled) == 600
