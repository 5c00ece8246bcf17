"""Quadrature encoder (the sled's measuring wheel): x4 decoding on every edge of A and B.

Wiring (BCM, see ``docs/wiring.md``): channel A and B to two input GPIOs. Open-collector encoders need
pull-ups to 3V3 (the Pi's internal ones, ``pull_up = true``, are ~50 kΩ: fine for short cables; add
4.7 kΩ to 3V3 for long runs). Never pull up to 5 V: Pi GPIOs are 3.3 V only.

Decoding: the lines' state (A, B) steps through the Gray sequence 00 -> 10 -> 11 -> 01 -> 00 for +1
count (A leads B) and backwards for -1; every edge of either line is one count (x4). Contact bounce
(a line toggling back and forth) decodes as +1/-1 pairs that net to zero. Illegal transitions are
counted in ``errors`` and never as motion:

- both lines changing at once (edges on A and B less than ``simultaneous_us`` apart): the direction
  is unknowable, so the step already taken for the first of the pair is undone;
- an edge reporting the level its line already had (an edge was missed: an impossible state jump).

gpiozero's ``RotaryEncoder`` is not used: it counts one step per cycle and ignores ``bounce_time``
in 2.0.1. Each decoded edge yields ``(t_us, position_m, counts)`` with ``t_us`` from the pin's tick.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from gpiozero import InputDevice

_GRAY_INDEX = {(0, 0): 0, (1, 0): 1, (1, 1): 2, (0, 1): 3}


@dataclass(frozen=True)
class Decoded:
    """Result of one edge: the count change (+1, -1; an undo is the opposite of the undone step)."""

    step: int
    counts: int


class QuadratureDecoder:
    """Pure x4 quadrature decoder fed with ``edge(line, level, t_us)``; no pins, no clock."""

    def __init__(self, a: bool, b: bool, *, simultaneous_us: int = 1) -> None:
        self._levels: dict[str, int] = {"a": int(a), "b": int(b)}
        self.simultaneous_us = simultaneous_us
        self.counts = 0
        self.errors = 0
        self._last: tuple[str, int, int] | None = None  # (line, t_us, step) of the last counted edge

    def edge(self, line: str, level: bool | int, t_us: int) -> Decoded | None:
        """Decode one edge of ``line`` (``"a"``/``"b"``) now at ``level``; None if no motion."""
        level = int(level)
        if self._levels[line] == level:
            self.errors += 1  # missed edge: this line already had that level
            return None
        old = _GRAY_INDEX[(self._levels["a"], self._levels["b"])]
        self._levels[line] = level
        new = _GRAY_INDEX[(self._levels["a"], self._levels["b"])]
        step = 1 if (new - old) % 4 == 1 else -1
        last = self._last
        if last is not None and last[0] != line and abs(t_us - last[1]) < self.simultaneous_us:
            self.errors += 1  # both lines changed at once: undo the first half, count no motion
            self._last = None
            self.counts -= last[2]
            return Decoded(-last[2], self.counts)
        self._last = (line, t_us, step)
        self.counts += step
        return Decoded(step, self.counts)


class QuadratureEncoder:
    """Encoder on ``a`` / ``b`` (BCM) of ``pin_factory``, decoding in the pins' edge callbacks.

    ``counts_per_m``: counts (x4) per metre of sled travel. ``invert`` flips the sign of position so
    that positive is the sled moving toward the athlete. ``tick_to_us`` maps a pin tick to node-clock
    µs. ``on_sample(t_us, position_m, counts)`` is called for every decoded edge (and every undo),
    from the pin callback thread; it must be quick."""

    def __init__(
        self,
        a: int,
        b: int,
        *,
        pin_factory: Any,
        counts_per_m: float,
        tick_to_us: Callable[[float], int],
        on_sample: Callable[[int, float, int], None],
        invert: bool = False,
        pull_up: bool = True,
        simultaneous_us: int = 1,
    ) -> None:
        if counts_per_m <= 0:
            raise ValueError("counts_per_m must be > 0")
        self.counts_per_m = counts_per_m
        self.invert = invert
        self._tick_to_us = tick_to_us
        self._on_sample = on_sample
        self._lock = threading.Lock()
        pull = True if pull_up else None
        active = None if pull_up else True
        self._a = InputDevice(a, pull_up=pull, active_state=active, pin_factory=pin_factory)
        self._b = InputDevice(b, pull_up=pull, active_state=active, pin_factory=pin_factory)
        self.decoder = QuadratureDecoder(
            bool(self._a.pin.state), bool(self._b.pin.state), simultaneous_us=simultaneous_us)
        for dev, handler in ((self._a, self._on_a), (self._b, self._on_b)):
            dev.pin.edges = "both"
            dev.pin.when_changed = handler

    @property
    def errors(self) -> int:
        return self.decoder.errors

    @property
    def counts(self) -> int:
        return self.decoder.counts

    def position_m(self, counts: int) -> float:
        """Position (m) of ``counts``, positive toward the athlete."""
        sign = -1.0 if self.invert else 1.0
        return sign * counts / self.counts_per_m

    def _on_a(self, ticks: float, state: int) -> None:
        self._edge("a", ticks, state)

    def _on_b(self, ticks: float, state: int) -> None:
        self._edge("b", ticks, state)

    def _edge(self, line: str, ticks: float, state: int) -> None:
        t_us = self._tick_to_us(ticks)
        with self._lock:
            decoded = self.decoder.edge(line, bool(state), t_us)
            if decoded is not None:
                self._on_sample(t_us, self.position_m(decoded.counts), decoded.counts)

    def close(self) -> None:
        """Detach the callbacks and release the pins."""
        for dev in (self._a, self._b):
            dev.pin.when_changed = None
            dev.close()
