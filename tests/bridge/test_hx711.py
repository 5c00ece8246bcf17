"""HX711 driver against the fake chip on mock pins: gains, saturation, overruns, tare/scale, ticks."""

from __future__ import annotations

import pytest

from firmware_bridge.fakes import FakeHX711
from firmware_bridge.hx711 import HX711, LoadCellCalibration, decode_counts, saturation, tare_offset
from tests.support.waiting import wait_for

DOUT, SCK = 5, 6


@pytest.fixture
def chip(factory, step_clock):
    fake = FakeHX711(factory, DOUT, SCK, source=lambda: 40_000, source_b=lambda: -12_000, clock_ns=step_clock)
    yield fake
    fake.close()


def make_driver(factory, step_clock, gain=128, **kw):
    return HX711(DOUT, SCK, pin_factory=factory, gain=gain, clock_ns=step_clock, **kw)


def read_once(fake, driver, tick=None):
    assert fake.ready(tick)
    return driver.read(timeout_s=1.0)


def test_decoding_of_24_bit_twos_complement():
    assert decode_counts(0x000001) == 1
    assert decode_counts(0x7FFFFE) == 8388606
    assert decode_counts(0xFFFFFF) == -1
    assert decode_counts(0x800001) == -8388607
    assert saturation(0x7FFFFF) == "saturated_high"
    assert saturation(0x800000) == "saturated_low"
    assert saturation(0x123456) is None


@pytest.mark.parametrize(("gain", "pulses", "mode", "expected"), [
    (128, 25, ("A", 128), 40_000),
    (64, 27, ("A", 64), 20_000),
    (32, 26, ("B", 32), -3_000),
])
def test_every_gain_mode_selects_channel_and_gain_with_its_pulse_count(factory, step_clock, chip, gain, pulses,
                                                                       mode, expected):
    driver = make_driver(factory, step_clock, gain)
    try:
        first = read_once(chip, driver)  # converted at A/128 after the driver's power-cycle reset
        readings = [read_once(chip, driver) for _ in range(3)]
    finally:
        driver.close()
    assert chip.last_pulses == pulses
    assert chip.mode == mode
    assert [r.counts for r in readings] == [expected] * 3
    if gain == 128:
        assert first.counts == 40_000 and driver.discarded == 0
    else:
        assert first is None and driver.discarded == 1  # converted at the reset gain: not trusted
    assert driver.overruns == 0


@pytest.mark.parametrize(("level", "fault"), [("high", "saturated_high"), ("low", "saturated_low")])
def test_saturation_is_a_fault_not_a_value(factory, step_clock, chip, level, fault):
    driver = make_driver(factory, step_clock)
    try:
        chip.saturate(level)
        bad = read_once(chip, driver)
        chip.saturate(None)
        good = read_once(chip, driver)
    finally:
        driver.close()
    assert bad.counts is None and bad.fault == fault
    assert driver.faults == 1
    assert good.counts == 40_000 and good.fault is None


def test_out_of_range_input_saturates_like_the_chip(factory, step_clock):
    fake = FakeHX711(factory, DOUT, SCK, source=lambda: 9_000_000, clock_ns=step_clock)
    driver = make_driver(factory, step_clock)
    try:
        reading = read_once(fake, driver)
    finally:
        driver.close()
        fake.close()
    assert reading.fault == "saturated_high"


def test_a_read_whose_clock_high_overran_is_discarded_and_counted(factory, step_clock, chip):
    driver = make_driver(factory, step_clock)
    try:
        power_downs = chip.power_downs
        assert chip.ready()
        # Calls per pulse: driver t0, fake at rise, fake at fall, driver t1. Stall at the fall of pulse 10:
        step_clock.stall_in(4 * 9 + 3, 100_000)
        assert driver.read(timeout_s=1.0) is None
        after = read_once(chip, driver)
    finally:
        driver.close()
    assert driver.overruns == 1
    assert chip.power_downs == power_downs + 1  # the chip saw > 60 µs high too and reset
    assert after.counts == 40_000  # reset gain A/128 is the configured gain: the next read is good


def test_after_an_overrun_a_non_default_gain_discards_the_reset_conversion(factory, step_clock, chip):
    driver = make_driver(factory, step_clock, gain=64)
    try:
        read_once(chip, driver)
        assert read_once(chip, driver).counts == 20_000
        assert chip.ready()
        step_clock.stall_in(3, 100_000)  # the first pulse overruns
        assert driver.read(timeout_s=1.0) is None
        assert read_once(chip, driver) is None  # converted at A/128 after the reset
        assert read_once(chip, driver).counts == 20_000
    finally:
        driver.close()
    assert driver.overruns == 1
    assert driver.discarded == 2


def test_reading_is_stamped_with_the_tick_of_douts_falling_edge(factory, step_clock, chip):
    driver = make_driver(factory, step_clock)
    try:
        tick = factory.ticks() + 12.345
        reading = read_once(chip, driver, tick=tick)
    finally:
        driver.close()
    assert reading.tick == tick


def test_read_times_out_without_data(factory, step_clock, chip):
    driver = make_driver(factory, step_clock)
    try:
        assert driver.read(timeout_s=0.02) is None
    finally:
        driver.close()


def test_tare_then_scale_gives_force_in_newtons(factory, step_clock):
    force = [0.0]
    fake = FakeHX711(factory, DOUT, SCK, source=lambda: force[0], scale_counts_per_n=2280.0,
                     offset_counts=-84_120, rate_hz=500, clock_ns=step_clock)
    driver = make_driver(factory, step_clock, rate_hz=80)
    fake.start()
    try:
        offset = driver.tare(n=5, timeout_s=5)
        cal = LoadCellCalibration(scale_counts_per_n=2280.0, offset_counts=offset)
        force[0] = 250.0
        counts = driver.read_counts(3, timeout_s=5)[-1]
    finally:
        fake.stop()
        driver.close()
        fake.close()
    assert offset == -84_120
    assert cal.force_n(counts) == pytest.approx(250.0, abs=1 / 2280)


def test_uncalibrated_cell_has_no_force_and_tare_needs_readings():
    assert LoadCellCalibration(None, 0).force_n(1234) is None
    assert tare_offset([1, 2, 3, 6]) == 3
    with pytest.raises(ValueError):
        tare_offset([])


def test_reader_thread_delivers_readings_and_reports_a_silent_chip(factory, step_clock, chip):
    driver = make_driver(factory, step_clock)
    got = []
    driver.start(got.append, no_data_s=0.05)
    try:
        chip.ready()
        wait_for(lambda: any(r.counts == 40_000 for r in got), 2, what="a reading")
        wait_for(lambda: any(r.fault == "no_data" for r in got), 2, what="the no-data fault")
    finally:
        driver.close()
    assert [r.fault for r in got].count("no_data") == 1


def test_rate_pin_selects_10_or_80_per_second(factory, step_clock):
    fake = FakeHX711(factory, DOUT, SCK, rate_pin=13, clock_ns=step_clock)
    driver = make_driver(factory, step_clock, rate_hz=10, rate_pin=13)
    try:
        assert fake.current_rate_hz() == 10
        driver.set_rate(80)
        assert fake.current_rate_hz() == 80
        with pytest.raises(ValueError):
            driver.set_rate(40)
    finally:
        driver.close()
        fake.close()
    fixed = make_driver(factory, step_clock, rate_hz=10)
    try:
        with pytest.raises(ValueError, match="wired"):
            fixed.set_rate(80)
    finally:
        fixed.close()
