"""Sensors between drivers and the node: samples, fault events, commands (no broker needed)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.clock import NodeClock
from firmware_bridge.config import parse_config
from firmware_bridge.encoder import QuadratureDecoder
from firmware_bridge.fakes import FakeHX711
from firmware_bridge.sensors import CommandError, build_sensors
from tests.support.waiting import wait_for


class Sink:
    def __init__(self) -> None:
        self.samples: list[tuple[str, str, list]] = []
        self.events: list[tuple[str, str, int, dict | None]] = []

    def sample(self, sensor_id, kind, sample):
        self.samples.append((sensor_id, kind, sample))

    def event(self, sensor_id, kind, t_us, detail=None):
        self.events.append((sensor_id, kind, t_us, detail))


def cell_sensor(factory, step_clock, **cell):
    config = parse_config({"node": {"id": "n1"}, "sensor": [
        {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, **cell}]})
    sink = Sink()
    [sensor] = build_sensors(config.sensors, pin_factory=factory, clock=NodeClock(factory), sink=sink,
                             clock_ns=step_clock)
    return sensor, sink


@pytest.fixture
def chip(factory, step_clock):
    fake = FakeHX711(factory, 5, 6, source=lambda: 1_000, clock_ns=step_clock)
    yield fake
    fake.close()


def convert(chip, sensor, n=1):
    """Make ``n`` conversions and hand each reading to the sensor as its reader thread would."""
    for _ in range(n):
        assert chip.ready()
        reading = sensor.hx711.read(1.0)
        if reading is not None:
            sensor._on_reading(reading)


def test_load_cell_samples_force_and_reports_saturation_once_per_episode(factory, step_clock, chip):
    sensor, sink = cell_sensor(factory, step_clock, scale_counts_per_n=10.0, offset_counts=200)
    try:
        convert(chip, sensor)
        chip.saturate("high")
        convert(chip, sensor, 3)
        chip.saturate(None)
        convert(chip, sensor)
        chip.saturate("low")
        convert(chip, sensor)
    finally:
        sensor.close()
    assert [s[2][1:] for s in sink.samples] == [[80.0, 1000], [80.0, 1000]]
    assert [(e[1], e[3]) for e in sink.events] == [("fault", {"reason": "saturated_high"}),
                                                   ("fault", {"reason": "saturated_low"})]
    assert sensor.counters() == {"hx711_overruns": 0, "hx711_faults": 4}


def test_uncalibrated_cell_sends_raw_counts_with_zero_force(factory, step_clock, chip):
    sensor, sink = cell_sensor(factory, step_clock, uncalibrated=True)
    try:
        convert(chip, sensor)
    finally:
        sensor.close()
    assert sink.samples[0][2][1:] == [0.0, 1000]
    assert sensor.describe()["calibration"]["uncalibrated"] is True


def test_tare_command_completes_from_the_stream_and_times_out_without_data(factory, step_clock, chip):
    sensor, sink = cell_sensor(factory, step_clock, scale_counts_per_n=10.0, offset_counts=0)
    replies = []
    reply = lambda ok, result, error: replies.append((ok, result, error))  # noqa: E731
    try:
        assert sensor.command("tare", {"samples": 2}, reply) is None
        with pytest.raises(CommandError, match="already running"):
            sensor.command("tare", {}, reply)
        convert(chip, sensor, 2)
        assert replies == [(True, {"offset_counts": 1000.0, "samples": 2}, None)]
        sensor.command("tare", {"samples": 5}, reply)
        sensor.poll(now_s=1e12)
        assert replies[-1] == (False, None, "tare timed out: 0 of 5 readings")
        with pytest.raises(CommandError, match="must not be 0"):
            sensor.command("calibrate", {"scale_counts_per_n": 0}, reply)
        assert sensor.command("calibrate", {"scale_counts_per_n": 20}, reply)["scale_counts_per_n"] == 20
    finally:
        sensor.close()


def test_silent_chip_raises_one_no_data_fault(factory, step_clock, chip):
    sensor, sink = cell_sensor(factory, step_clock, uncalibrated=True)
    sensor.hx711.start(sensor._on_reading, no_data_s=0.05)
    try:
        wait_for(lambda: sink.events, 2, what="no-data fault")
    finally:
        sensor.close()
    assert sink.events[0][1:2] == ("fault",) and sink.events[0][3] == {"reason": "no_data"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(0, 3)), max_size=60))
def test_any_walk_with_bounce_decodes_to_the_net_count(moves):
    gray = [(0, 0), (1, 0), (1, 1), (0, 1)]
    dec = QuadratureDecoder(False, False)
    index, t = 0, 0
    for direction, bounces in moves:
        new = (index + direction) % 4
        line = "a" if gray[new][0] != gray[index][0] else "b"
        level = gray[new][0] if line == "a" else gray[new][1]
        for _ in range(bounces):
            dec.edge(line, bool(level), t)
            dec.edge(line, not level, t + 1)
            t += 2
        dec.edge(line, bool(level), t)
        t += 5
        index = new
    assert dec.counts == sum(d for d, _ in moves)
    assert dec.errors == 0
