"""Beam gates: edge ticks as event times, hold-off, dual-beam window, active level."""

from __future__ import annotations

import time

import pytest

from firmware_bridge.beam import BeamGate, BeamLogic, DualBeamLogic, GateEvent
from firmware_bridge.clock import NodeClock
from firmware_bridge.fakes import FakeBeam


def gate(factory, pins, events, **kw):
    return BeamGate(pins, pin_factory=factory, tick_to_us=NodeClock(factory).from_tick, on_event=events.append, **kw)


def test_event_time_is_the_pins_edge_tick_not_the_callback_time(factory):
    beam = FakeBeam(factory, 22)
    events = []
    g = gate(factory, (22,), events, holdoff_s=0)
    try:
        edge_tick = factory.ticks() - 0.250  # the edge happened 250 ms before the callback runs
        before_us = round(time.monotonic() * 1e6)
        beam.break_(tick=edge_tick)
        beam.restore(tick=edge_tick + 0.0123)
    finally:
        g.close()
    assert events == [GateEvent("break", round(edge_tick * 1e6)), GateEvent("restore", round((edge_tick + 0.0123) * 1e6))]
    assert before_us - events[0].t_us > 200_000  # far from when the callback ran


def test_holdoff_ignores_and_counts_rebreaks(factory):
    beam = FakeBeam(factory, 22)
    events = []
    g = gate(factory, (22,), events, holdoff_s=0.5)
    t = factory.ticks()
    try:
        beam.break_(t)
        beam.restore(t + 0.05)
        beam.break_(t + 0.10)    # second leg: ignored
        beam.restore(t + 0.20)   # its restore too
        beam.break_(t + 0.60)    # after the hold-off: counted
    finally:
        g.close()
    assert [(e.kind, e.t_us) for e in events] == [
        ("break", round(t * 1e6)), ("restore", round((t + 0.05) * 1e6)), ("break", round((t + 0.6) * 1e6))]
    assert g.ignored == 1


def test_active_high_receiver(factory):
    beam = FakeBeam(factory, 22, active_low=False)
    events = []
    g = gate(factory, (22,), events, broken_level="high", pull="down", holdoff_s=0)
    try:
        beam.break_()
        beam.restore()
    finally:
        g.close()
    assert [e.kind for e in events] == ["break", "restore"]


def test_configure_invert_flips_the_level(factory):
    beam = FakeBeam(factory, 22, active_low=False)   # wired active-high, configured the wrong way
    events = []
    g = gate(factory, (22,), events, broken_level="low", pull="none", holdoff_s=0)
    try:
        g.configure(invert=True, holdoff_s=0.0)
        beam.break_()
        beam.restore()
    finally:
        g.close()
    assert g.broken_level == "high"
    assert [e.kind for e in events] == ["break", "restore"]


def test_dual_beam_counts_only_when_both_break_within_the_window(factory):
    upper, lower = FakeBeam(factory, 23), FakeBeam(factory, 24)
    events = []
    g = gate(factory, (23, 24), events, window_s=0.02, holdoff_s=0)
    t = factory.ticks()
    try:
        upper.break_(t)               # an arm alone
        upper.restore(t + 0.03)
        lower.break_(t + 0.05)        # a knee alone, 50 ms later: no pair
        lower.restore(t + 0.08)
        upper.break_(t + 1.000)       # the body: both within 12 ms
        lower.break_(t + 1.012)
        upper.restore(t + 1.2)
        lower.restore(t + 1.25)
    finally:
        g.close()
    assert [(e.kind, e.t_us) for e in events] == [("break", round((t + 1.012) * 1e6)),
                                                  ("restore", round((t + 1.25) * 1e6))]
    assert events[0].detail == {"edges_us": [round((t + 1.0) * 1e6), round((t + 1.012) * 1e6)]}


def test_dual_beam_pair_outside_window_is_not_a_break():
    logic = DualBeamLogic(window_us=20_000)
    assert logic.edge(0, 1_000_000, True) is None
    assert logic.edge(1, 1_020_001, True) is None
    assert logic.lone_breaks == 1
    assert logic.edge(1, 1_030_000, False) is None


def test_dual_beam_holdoff_and_out_of_order_edges():
    logic = DualBeamLogic(window_us=20_000, holdoff_us=500_000)
    assert logic.edge(1, 1_010_000, True) is None
    assert logic.edge(0, 1_000_000, True).t_us == 1_010_000  # later edge, even if reported first
    logic.edge(0, 1_100_000, False)
    assert logic.edge(1, 1_100_000, False).kind == "restore"
    logic.edge(0, 1_200_000, True)
    assert logic.edge(1, 1_201_000, True) is None            # within hold-off
    assert logic.ignored == 1
    logic.edge(0, 1_300_000, False)
    assert logic.edge(1, 1_300_000, False) is None           # restore of an ignored break


def test_single_beam_logic_ignores_repeated_levels():
    logic = BeamLogic(holdoff_us=0)
    assert logic.edge(5, False) is None
    assert logic.edge(10, True).kind == "break"
    assert logic.edge(11, True) is None


def test_gate_rejects_bad_settings(factory):
    with pytest.raises(ValueError):
        gate(factory, (), [])
    with pytest.raises(ValueError):
        gate(factory, (22,), [], broken_level="sideways")
    g = gate(factory, (22,), [])
    try:
        with pytest.raises(ValueError):
            g.configure(window_s=0.01)
    finally:
        g.close()
