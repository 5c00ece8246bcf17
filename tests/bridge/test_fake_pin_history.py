"""The fakes' pins keep a bounded history: a simulator that runs for days must not grow (issue 15)."""

from __future__ import annotations

from firmware_bridge.fakes import FakeHX711, FakePin, fake_pin
from firmware_bridge.hx711 import HX711
from tests.bridge.helpers import StepClock

DOUT, SCK = 5, 6


def test_a_driven_pin_keeps_only_its_newest_states(factory):
    pin = fake_pin(factory, 4)
    for k in range(3 * FakePin.history_limit):
        pin.drive(k % 2 == 0, tick=1.0 + k * 0.001)
    assert len(pin.states) == FakePin.history_limit
    # gpiozero's own checks still read the history: the newest states, oldest first
    expected = [(k % 2 == 0) for k in range(3 * FakePin.history_limit)][-FakePin.history_limit:]
    pin.assert_states(expected)
    assert [s.state for s in pin.states] == expected
    assert abs(pin.states[-1].timestamp - 0.001) < 1e-9  # seconds since the previous change


def test_clear_states_keeps_the_bound(factory):
    pin = fake_pin(factory, 4)
    pin.clear_states()
    for k in range(2 * FakePin.history_limit):
        pin.drive(k % 2 == 1)
    assert len(pin.states) == FakePin.history_limit


def test_reading_a_fake_hx711_for_a_long_time_does_not_grow_its_pins(factory):
    """Each read toggles SCK 50 times and DOUT up to 25: before the bound, 400 reads left ~30,000 states."""
    clock = StepClock()
    chip = FakeHX711(factory, DOUT, SCK, source=lambda: 40_000, clock_ns=clock)
    driver = HX711(DOUT, SCK, pin_factory=factory, clock_ns=clock)
    try:
        for _ in range(400):
            assert chip.ready()
            driver.read(timeout_s=1.0)
    finally:
        driver.close()
        chip.close()
    pins = [fake_pin(factory, DOUT), fake_pin(factory, SCK)]
    assert chip.reads >= 399  # a read-out is counted when the next conversion starts
    assert all(len(p.states) <= FakePin.history_limit for p in pins)


def test_every_pin_of_a_mock_dry_run_keeps_a_bounded_history():
    """``sledhub-bridge --mock``: the node's drivers open their pins on the dry run's factory; every one
    is a FakePin, so a dry run left running for days does not grow either."""
    from firmware_bridge.cli import _mock_factory_with_fakes
    from firmware_bridge.node import Node
    from tests.bridge.helpers import node_config

    config = node_config(None, [
        {"id": "force", "kind": "load_cell", "dout": DOUT, "sck": SCK, "rate_hz": 80, "gain": 128,
         "scale_counts_per_n": 2280.0, "offset_counts": 0.0},
        {"id": "wheel", "kind": "encoder", "a": 17, "b": 27, "counts_per_m": 200.0},
        {"id": "start", "kind": "beam", "pin": 22},
    ])
    factory, fakes = _mock_factory_with_fakes(config)
    node = Node(config, pin_factory=factory)
    try:
        pins = list(factory.pins.values())
        assert {p.info.name for p in pins} >= {"GPIO5", "GPIO6", "GPIO17", "GPIO27", "GPIO22"}
        assert all(isinstance(p, FakePin) and p.states.maxlen == FakePin.history_limit for p in pins)
        assert len(fakes) == 1
    finally:
        node.stop()
        for fake in fakes:
            fake.close()
        factory.close()
