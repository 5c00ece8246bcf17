"""Fixtures of the bridge tests: mock pin factories, a stepping ns clock, an MQTT spy."""

from __future__ import annotations

import pytest

from firmware_bridge.fakes import mock_factory
from tests.bridge.helpers import Spy, StepClock


@pytest.fixture
def factory():
    """A MockFactory whose pins are FakePins, closed after the test."""
    f = mock_factory()
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def step_clock() -> StepClock:
    return StepClock()


@pytest.fixture
def spy(broker):
    s = Spy(broker)
    try:
        yield s
    finally:
        s.close()
