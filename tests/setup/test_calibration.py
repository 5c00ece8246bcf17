"""Calibration arithmetic: tare, scale from a known mass, linearity, wheel counts per metre, drift."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.setup import calibration as cal
from server.setup.calibration import CalibrationError


def test_tare_is_the_mean_of_the_no_load_counts():
    stats = cal.sample_stats([100, 102, 98, 100])
    assert (stats.n, stats.mean, stats.low, stats.high) == (4, 100.0, 98, 102)
    assert stats.std == pytest.approx(2 ** 0.5)
    with pytest.raises(CalibrationError, match="no readings"):
        cal.sample_stats([])


def test_scale_from_a_known_mass_uses_standard_gravity():
    # 20 kg hang: 196.133 N; 1850 counts per N above an offset of 61234
    raw = 61_234 + 20 * 9.80665 * 1850
    assert cal.scale_counts_per_n(raw, 61_234, 20) == pytest.approx(1850)
    assert cal.force_of_mass_n(20) == pytest.approx(196.133)
    # a load cell wired the other way round gives a negative scale, and still reads positive newtons
    neg = cal.scale_counts_per_n(61_234 - 20 * 9.80665 * 1850, 61_234, 20)
    assert neg == pytest.approx(-1850)
    assert cal.force_n(61_234 - 300 * 1850, 61_234, neg) == pytest.approx(300)


def test_scale_refuses_a_reading_that_did_not_move_and_silly_masses():
    with pytest.raises(CalibrationError, match="changed by only 10 counts"):
        cal.scale_counts_per_n(1010, 1000, 20)
    for mass in (0, -1, 1001, float("nan"), True, "20", None):
        with pytest.raises(CalibrationError):
            cal.check_mass(mass)


def test_linearity_error_is_signed_percent_of_the_true_weight():
    scale, offset = 1850.0, 61_234.0
    exact = offset + 40 * 9.80665 * scale
    assert cal.linearity_error_pct(exact, offset, scale, 40) == pytest.approx(0)
    reads_high = offset + 40 * 9.80665 * scale * 1.03
    assert cal.linearity_error_pct(reads_high, offset, scale, 40) == pytest.approx(3.0)


def test_wheel_counts_per_metre_and_direction():
    assert cal.wheel_counts_per_m(2500, 10) == (250.0, False)
    assert cal.wheel_counts_per_m(-2500, 10) == (250.0, True)  # counted backwards: invert
    with pytest.raises(CalibrationError, match="moved only 3 counts"):
        cal.wheel_counts_per_m(3, 10)
    for bad in (0.1, 101, float("inf"), True):
        with pytest.raises(CalibrationError):
            cal.wheel_counts_per_m(2500, bad)


def test_zero_drift_is_the_force_read_with_no_load():
    assert cal.zero_drift_n(61_234 + 25 * 1850, 61_234, 1850) == pytest.approx(25)


@settings(max_examples=60, deadline=None)
@given(scale=st.floats(50, 20_000) | st.floats(-20_000, -50), offset=st.floats(-2e6, 2e6),
       m1=st.floats(1, 200), m2=st.floats(1, 200), noise=st.lists(st.integers(-3, 3), min_size=16, max_size=16))
@example(scale=50.0, offset=1.25, m1=1.0, m2=1.0, noise=[0] * 16)  # a small signal: rounding is 0.14 %
def test_two_point_calibration_recovers_a_linear_cell(scale, offset, m1, m2, noise):
    """A linear cell read with ±3 counts of noise (the same noise in every run of readings, so it cancels):
    the hub's scale and the linearity check are off by no more than the chip's 1-count rounding allows."""
    tare = cal.sample_stats([round(offset) + n for n in noise])
    weight = cal.sample_stats([round(offset + m1 * 9.80665 * scale) + n for n in noise])
    got = cal.scale_counts_per_n(weight.mean, tare.mean, m1)
    signal1 = m1 * 9.80665 * abs(scale)
    assert abs(got - scale) / abs(scale) <= 1.0 / signal1 + 1e-12
    check = cal.sample_stats([round(offset + m2 * 9.80665 * scale) + n for n in noise])
    signal2 = m2 * 9.80665 * abs(scale)
    assert abs(cal.linearity_error_pct(check.mean, tare.mean, got, m2)) <= 100 * (1.0 / signal1 + 1.0 / signal2) + 1e-9
