"""Beam gates: single IR beams and dual (paired) beams, timed by the pin's own edge ticks.

Wiring (BCM, see ``docs/wiring.md``): the receiver's output to an input GPIO. Most break-beam
receivers are open-collector, low while the beam is broken (``broken_level = "low"``, with the Pi's
pull-up or a 10 kΩ to 3V3). A receiver powered from 5 V that drives its output high must go through
a level shifter or a divider (e.g. 10 kΩ / 20 kΩ) to stay below 3.3 V.

Edges come from gpiozero's ``DigitalInputDevice`` (interrupt-driven edge detection, not
``LineSensor``'s 100 Hz polling); the time of an event is the tick the pin reported for its edge.

- **Hold-off** (``holdoff_s``): after a counted break, further breaks within the hold-off (a swinging
  arm, the second leg) are ignored and counted in ``ignored``; so are their restores.
- **Dual beam** (``window_s``): a break counts only when both beams are broken within the window of
  each other (a knee or arm crosses one beam alone); its time is the later of the two edges. The gate
  is restored when both beams are clear again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from gpiozero import DigitalInputDevice


@dataclass(frozen=True)
class GateEvent:
    """``kind`` is ``"break"`` or ``"restore"``; ``t_us`` in node-clock µs."""

    kind: str
    t_us: int
    detail: dict[str, Any] | None = field(default=None)


class BeamLogic:
    """Pure single-beam logic: ``edge(t_us, broken)`` -> event or None, with a hold-off."""

    def __init__(self, holdoff_us: int = 0, broken: bool = False) -> None:
        self.holdoff_us = holdoff_us
        self.ignored = 0
        self._broken = broken
        self._last_break_us: int | None = None
        self._suppressed = False

    def edge(self, t_us: int, broken: bool) -> GateEvent | None:
        if broken == self._broken:
            return None
        self._broken = broken
        if broken:
            last = self._last_break_us
            if last is not None and t_us - last < self.holdoff_us:
                self._suppressed = True
                self.ignored += 1
                return None
            self._last_break_us = t_us
            self._suppressed = False
            return GateEvent("break", t_us)
        if self._suppressed:
            return None
        return GateEvent("restore", t_us)

    def resync(self, broken: tuple[bool, ...]) -> None:
        """Take ``broken[0]`` as the present state without an event (after the level was inverted)."""
        self._broken = broken[0]
        self._suppressed = True


class DualBeamLogic:
    """Pure dual-beam logic: ``edge(beam, t_us, broken)`` with ``beam`` 0 or 1."""

    def __init__(self, window_us: int, holdoff_us: int = 0, broken: tuple[bool, bool] = (False, False)) -> None:
        self.window_us = window_us
        self.holdoff_us = holdoff_us
        self.ignored = 0
        self.lone_breaks = 0
        self._broken = list(broken)
        self._break_us: list[int | None] = [None, None]
        self._active = all(broken)
        self._suppressed = False
        self._last_break_us: int | None = None

    def edge(self, beam: int, t_us: int, broken: bool) -> GateEvent | None:
        if broken == self._broken[beam]:
            return None
        self._broken[beam] = broken
        if broken:
            self._break_us[beam] = t_us
            return self._both_broken(beam, t_us)
        if self._active and not any(self._broken):
            self._active = False
            return None if self._suppressed else GateEvent("restore", t_us)
        return None

    def resync(self, broken: tuple[bool, ...]) -> None:
        """Take ``broken`` as the present states without an event (after the level was inverted)."""
        self._broken = list(broken)
        self._active = all(broken)
        self._suppressed = True

    def _both_broken(self, beam: int, t_us: int) -> GateEvent | None:
        other = 1 - beam
        other_us = self._break_us[other]
        if self._active or not self._broken[other] or other_us is None:
            return None
        if abs(t_us - other_us) > self.window_us:
            self.lone_breaks += 1
            return None
        self._active = True
        t_break = max(t_us, other_us)
        last = self._last_break_us
        if last is not None and t_break - last < self.holdoff_us:
            self._suppressed = True
            self.ignored += 1
            return None
        self._suppressed = False
        self._last_break_us = t_break
        edges = [self._break_us[0], self._break_us[1]]
        return GateEvent("break", t_break, {"edges_us": edges})


class _EdgeInput(DigitalInputDevice):  # type: ignore[misc]  # gpiozero has no type information
    """``DigitalInputDevice`` that hands each raw edge, with its tick, to ``on_edge(ticks, level)``."""

    def __init__(self, pin: int, *, pull_up: bool | None, pin_factory: Any, on_edge: Callable[[float, bool], None]):
        self._on_edge = on_edge
        super().__init__(pin, pull_up=pull_up, active_state=None if pull_up is not None else True,
                         pin_factory=pin_factory)

    def _pin_changed(self, ticks: float, state: Any) -> None:
        super()._pin_changed(ticks, state)
        self._on_edge(ticks, bool(state))


PULLS = {"up": True, "down": False, "none": None}


class BeamGate:
    """One or two beam receivers on ``pins`` (BCM) of ``pin_factory`` producing gate events.

    One pin: a single beam (``holdoff_s``). Two pins: a dual beam (``window_s``, ``holdoff_s``).
    ``broken_level``: ``"low"`` or ``"high"``, the receiver output while broken. ``pull``: ``"up"``,
    ``"down"`` or ``"none"``. ``tick_to_us`` maps pin ticks to node-clock µs. ``on_event(GateEvent)``
    is called from the pin callback thread."""

    def __init__(
        self,
        pins: tuple[int, ...],
        *,
        pin_factory: Any,
        tick_to_us: Callable[[float], int],
        on_event: Callable[[GateEvent], None],
        broken_level: str = "low",
        pull: str = "up",
        holdoff_s: float = 0.0,
        window_s: float = 0.02,
    ) -> None:
        if len(pins) not in (1, 2):
            raise ValueError("a beam gate has one or two pins")
        if broken_level not in ("low", "high"):
            raise ValueError("broken_level must be 'low' or 'high'")
        self.broken_level = broken_level
        self._tick_to_us = tick_to_us
        self._on_event = on_event
        self._inputs: list[_EdgeInput] = []
        for i, pin in enumerate(pins):
            self._inputs.append(_EdgeInput(pin, pull_up=PULLS[pull], pin_factory=pin_factory,
                                           on_edge=functools.partial(self._edge, i)))
        broken = tuple(self._is_broken(bool(d.pin.state)) for d in self._inputs)
        holdoff_us = round(holdoff_s * 1e6)
        if len(pins) == 1:
            self.logic: BeamLogic | DualBeamLogic = BeamLogic(holdoff_us, broken[0])
        else:
            self.logic = DualBeamLogic(round(window_s * 1e6), holdoff_us, broken)  # type: ignore[arg-type]

    def _is_broken(self, level: bool) -> bool:
        return level == (self.broken_level == "high")

    def _edge(self, index: int, ticks: float, level: bool) -> None:
        t_us = self._tick_to_us(ticks)
        broken = self._is_broken(level)
        if isinstance(self.logic, BeamLogic):
            event = self.logic.edge(t_us, broken)
        else:
            event = self.logic.edge(index, t_us, broken)
        if event is not None:
            self._on_event(event)

    @property
    def ignored(self) -> int:
        return self.logic.ignored

    def configure(self, *, holdoff_s: float | None = None, window_s: float | None = None,
                  invert: bool | None = None) -> None:
        """Change the hold-off, the dual-beam window, or flip ``broken_level`` (``invert=True``)."""
        if holdoff_s is not None:
            self.logic.holdoff_us = round(holdoff_s * 1e6)
        if window_s is not None:
            if not isinstance(self.logic, DualBeamLogic):
                raise ValueError("window_s applies to a dual beam only")
            self.logic.window_us = round(window_s * 1e6)
        if invert:
            self.broken_level = "high" if self.broken_level == "low" else "low"
            self.logic.resync(tuple(self._is_broken(bool(d.pin.state)) for d in self._inputs))

    def close(self) -> None:
        for dev in self._inputs:
            dev.close()
