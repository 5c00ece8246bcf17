"""Quadrature decoding: x4 counts both ways, contact bounce, illegal transitions, pin ticks."""

from __future__ import annotations

import pytest

from firmware_bridge.clock import NodeClock
from firmware_bridge.encoder import QuadratureDecoder, QuadratureEncoder
from firmware_bridge.fakes import FakeEncoderWheel

A, B = 17, 27
FORWARD = [("a", 1), ("b", 1), ("a", 0), ("b", 0)]  # 00 -> 10 -> 11 -> 01 -> 00: A leads B


def feed(decoder, edges, t0=0, dt=100):
    out = []
    for i, (line, level) in enumerate(edges):
        d = decoder.edge(line, bool(level), t0 + i * dt)
        out.append(None if d is None else d.step)
    return out


def test_forward_cycle_counts_four_per_cycle():
    dec = QuadratureDecoder(False, False)
    assert feed(dec, FORWARD * 3) == [1] * 12
    assert dec.counts == 12 and dec.errors == 0


def test_backward_cycle_counts_down():
    dec = QuadratureDecoder(False, False)
    backward = [("b", 1), ("a", 1), ("b", 0), ("a", 0)]
    assert feed(dec, backward * 2) == [-1] * 8
    assert dec.counts == -8 and dec.errors == 0


def test_contact_bounce_nets_to_zero():
    dec = QuadratureDecoder(False, False)
    bouncing = [("a", 1), ("a", 0), ("a", 1), ("a", 0), ("a", 1)]  # settles high: one count
    assert feed(dec, bouncing) == [1, -1, 1, -1, 1]
    assert dec.counts == 1 and dec.errors == 0


def test_both_lines_at_once_is_an_error_and_no_motion():
    dec = QuadratureDecoder(False, False, simultaneous_us=1)
    assert dec.edge("a", True, 1000).step == 1
    undo = dec.edge("b", True, 1000)  # same µs: 00 -> 11 in one go
    assert undo.step == -1 and undo.counts == 0
    assert dec.errors == 1
    # decoding goes on from the real state (11)
    assert dec.edge("a", False, 2000).step == 1
    assert dec.counts == 1


def test_a_missed_edge_is_an_impossible_jump_counted_as_error():
    dec = QuadratureDecoder(False, False)
    assert dec.edge("a", True, 10).step == 1
    assert dec.edge("a", True, 20) is None  # A was already high
    assert dec.errors == 1 and dec.counts == 1


@pytest.fixture
def wheel_and_encoder(factory):
    wheel = FakeEncoderWheel(factory, A, B)
    samples = []
    enc = QuadratureEncoder(A, B, pin_factory=factory, counts_per_m=400.0, tick_to_us=NodeClock(factory).from_tick,
                            on_sample=lambda *s: samples.append(s))
    yield wheel, enc, samples
    enc.close()


def test_wheel_both_directions_with_bounce(wheel_and_encoder):
    wheel, enc, samples = wheel_and_encoder
    wheel.move_counts(40, bounce=2)
    assert enc.counts == 40 and samples[-1][1] == pytest.approx(0.1)
    wheel.move_counts(-60, bounce=1)
    assert enc.counts == -20 and samples[-1][1:] == (pytest.approx(-0.05), -20)
    assert enc.errors == 0
    assert len(samples) == 40 * 5 + 60 * 3  # every decoded edge is a sample, bounce included


def test_glitches_are_errors_not_motion(wheel_and_encoder):
    wheel, enc, samples = wheel_and_encoder
    wheel.move_counts(5)
    wheel.glitch()
    wheel.glitch()
    assert enc.counts == 5 and enc.errors == 2
    wheel.move_counts(3)
    assert enc.counts == 8


def test_samples_carry_the_pin_tick_and_invert_flips_position(factory):
    wheel = FakeEncoderWheel(factory, A, B)
    samples = []
    enc = QuadratureEncoder(A, B, pin_factory=factory, counts_per_m=200.0, invert=True,
                            tick_to_us=NodeClock(factory, offset_us=5_000_000).from_tick,
                            on_sample=lambda *s: samples.append(s))
    try:
        start = factory.ticks() + 100.0
        wheel.move_counts(4, start_tick=start, interval_s=0.001)
    finally:
        enc.close()
    assert [s[0] for s in samples] == [round((start + k * 0.001) * 1e6) + 5_000_000 for k in range(4)]
    assert samples[-1][1:] == (pytest.approx(-0.02), 4)


def test_encoder_needs_positive_counts_per_m(factory):
    with pytest.raises(ValueError):
        QuadratureEncoder(A, B, pin_factory=factory, counts_per_m=0, tick_to_us=round, on_sample=print)
