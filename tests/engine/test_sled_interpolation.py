"""Sled finish-time interpolation against a physical model (mass, friction, pull force → encoder edges).

With encoder edges at ≥ 100 Hz around the finish, the finish interpolated between the two
straddling edges must be within 1 ms of the model's exact crossing time (it is typically within a
few µs: within one edge interval the sled's acceleration barely bends the position curve).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.engine import ResultStatus, SledStationConfig, StartMode
from tests.engine.harness import Script
from tests.engine.sled_model import SledModel, simulate

GO_S = 4.0   # GO signal: go command at 1.0 s + 3 s countdown


@st.composite
def pulls(draw):
    mass_kg, mu = draw(st.floats(40, 200)), draw(st.floats(0.25, 0.6))
    friction_n = mass_kg * mu * 9.81
    model = SledModel(mass_kg=mass_kg, friction_mu=mu, peak_force_n=friction_n * draw(st.floats(1.6, 3.0)),
                      rise_s=draw(st.floats(0.1, 0.6)), stride_hz=draw(st.floats(0.8, 2.0)),
                      stride_depth=draw(st.floats(0.0, 0.35)), step_m=draw(st.floats(0.002, 0.02)),
                      v0_m_s=draw(st.floats(2.0, 4.0)))
    distance = draw(st.sampled_from([5.0, 10.0, 15.0]))
    reaction_s = draw(st.floats(0.1, 0.5))
    return model, distance, reaction_s


def run_pull(model: SledModel, distance: float, reaction_s: float, mode=StartMode.GO_COUNTDOWN):
    t_pull_us = (GO_S + reaction_s) * 1e6
    trace = simulate(model, t_pull_us, distance + 0.3, marks_m=(distance,), max_s=50.0)
    cfg = SledStationConfig("S1", distance, start_mode=mode, force_threshold_n=100.0)
    s = Script((cfg,)).arm(0.5, S1="a1").go(1.0, "S1")
    s.samples("S1", "wheel", "position", trace.edges)
    s.samples("S1", "force", "force", [(t, f + 10.0) for t, f in trace.forces[::12]])
    return trace, s.play().result("a1")


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pull=pulls())
def test_finish_within_1ms_of_the_model_at_100hz_edges_or_more(pull):
    model, distance, reaction_s = pull
    trace, r = run_pull(model, distance, reaction_s)
    assume(distance in trace.crossings)
    edge_rate_hz = trace.edge_rate_at(distance)
    assume(edge_rate_hz >= 100)
    assert r.status is ResultStatus.OK
    error_us = abs(r.finish_t_us - trace.crossings[distance])
    assert error_us <= 1_000, (error_us, edge_rate_hz)
    assert abs(r.time_s - (trace.crossings[distance] - GO_S * 1e6) / 1e6) <= 0.001


def test_typical_error_is_microseconds():
    model = SledModel(mass_kg=90, friction_mu=0.45, peak_force_n=900, step_m=0.01)   # ~100–150 Hz edges
    trace, r = run_pull(model, 15.0, 0.2)
    rate = trace.edge_rate_at(15.0)
    assert 100 <= rate <= 200
    assert abs(r.finish_t_us - trace.crossings[15.0]) <= 20


def test_first_movement_starts_at_the_first_encoder_edge():
    model = SledModel(step_m=0.005)
    trace, r = run_pull(model, 10.0, 0.7, mode=StartMode.FIRST_MOVEMENT)
    assert r.start_t_us == round(trace.edges[0][0])
    assert abs(r.finish_t_us - trace.crossings[10.0]) <= 50
    assert abs(r.reaction_s - (trace.edges[0][0] / 1e6 - GO_S)) <= 0.001
