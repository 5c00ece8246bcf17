"""The node clock: integer microseconds on the same base as the gpiozero pin ticks.

gpiozero 2.x local pin factories (``LGPIOFactory`` on a Pi) and ``MockFactory`` give ticks as float
seconds of ``time.monotonic()``; edge callbacks ``when_changed(ticks, state)`` carry the tick of the
edge itself (lgpio: the kernel's edge timestamp). Every ``t_us`` a node publishes, and the ``t_us`` of
its ``clock/pong``, comes from one :class:`NodeClock`, so the hub's offset estimate applies to edges.
"""

from __future__ import annotations

import logging
from typing import Callable, Protocol

US_PER_S = 1_000_000
#: an edge tick further than this from the factory's ticks now is on another clock (warned once)
TICK_SANITY_S = 3600.0

log = logging.getLogger("sledhub.bridge")


def ticks_to_us(ticks: float) -> int:
    """Return pin-factory ticks (float seconds) as integer microseconds (rounded to nearest)."""
    return round(ticks * US_PER_S)


class TicksSource(Protocol):
    """Anything with gpiozero's ``Factory.ticks()`` (float seconds, monotonic)."""

    def ticks(self) -> float: ...


class NodeClock:
    """The node clock in integer µs: ``clock()`` is now, ``clock.from_tick(ticks)`` is an edge time.

    ``offset_us`` is added to both, so a simulator running several nodes in one process can give each
    node its own clock origin (as separate boards would have) while edges and pongs stay consistent.
    """

    def __init__(self, pin_factory: TicksSource, offset_us: int = 0) -> None:
        self._factory = pin_factory
        self.offset_us = int(offset_us)
        self._tick_checked = False

    def __call__(self) -> int:
        return ticks_to_us(self._factory.ticks()) + self.offset_us

    def from_tick(self, ticks: float) -> int:
        """Return the node-clock µs of a pin tick (seconds, as passed to ``when_changed``).

        The first tick is checked against the factory's ticks now: a pin driver reporting edges on
        another clock (e.g. wall-clock time) would make every ``t_us`` wrong, so it is logged."""
        if not self._tick_checked:
            self._tick_checked = True
            if abs(self._factory.ticks() - ticks) > TICK_SANITY_S:
                log.error("pin edge ticks (%.3f s) are not on the pin factory's clock (%.3f s now): "
                          "edge times and clock/pong disagree", ticks, self._factory.ticks())
        return ticks_to_us(ticks) + self.offset_us


class MeasuredClock(NodeClock):
    """A node clock given as a plain ``clock_us()`` callable: pin ticks are mapped onto it by an offset
    measured once, at construction (``clock_us() - ticks``). Correct for any clock that runs at the rate
    of the pin ticks (i.e. monotonic plus a constant); the measurement error is a few µs."""

    def __init__(self, pin_factory: TicksSource, clock_us: Callable[[], int]) -> None:
        offset = int(clock_us()) - ticks_to_us(pin_factory.ticks())
        super().__init__(pin_factory, offset)
        self._clock_us = clock_us

    def __call__(self) -> int:
        return int(self._clock_us())


def as_node_clock(pin_factory: TicksSource, clock_us: Callable[[], int] | None) -> NodeClock:
    """Return ``clock_us`` as a :class:`NodeClock` (a default one on ``pin_factory`` when None)."""
    if clock_us is None:
        return NodeClock(pin_factory)
    if isinstance(clock_us, NodeClock):
        return clock_us
    return MeasuredClock(pin_factory, clock_us)
