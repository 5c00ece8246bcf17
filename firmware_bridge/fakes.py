"""Fakes of the sensor hardware on gpiozero ``MockFactory`` pins, for tests and for the hub's simulator.

They drive the same pins a real node's drivers read, so a node built from a config on a
``MockFactory`` runs unchanged against them:

- :class:`FakeHX711` answers clock pulses like the chip (data ready = DOUT low at the conversion
  rate, one bit per SCK rising edge MSB first, 25/26/27 pulses choose the next channel and gain,
  SCK high > 60 µs powers it down and resets it to channel A gain 128).
- :class:`FakeEncoderWheel` drives A/B through the quadrature Gray sequence, with optional contact
  bounce and illegal (simultaneous) transitions.
- :class:`FakeBeam` drives a beam receiver's output.

Every action that makes an edge takes an optional ``tick`` (float seconds on the factory's
``time.monotonic()`` base): the edge is reported to ``when_changed`` with exactly that tick, so a
simulator can place edges at the exact times its physics gives, and tests can prove that drivers
timestamp with the pin's tick rather than with the time their callback ran.

**Order matters:** create the fakes *before* the drivers (or the :class:`~firmware_bridge.node.Node`)
on the same factory, or use :func:`mock_factory`, whose pins are all :class:`FakePin`. A driver's
pull-up/down setting drives a mock input pin at construction (gpiozero's MockPin models the pull
resistor), so give a fake the idle level that matches the driver's pull.

Several ``MockFactory`` instances coexist in one process (pins and reservations are per factory), so
a simulator may give each node its own factory, or share one with distinct pin numbers per node.

A simulated sled node, in outline::

    factory = mock_factory()
    hx_clock = StepClock()
    cell = FakeHX711(factory, 5, 6, source=lambda: model.force_n, scale_counts_per_n=2280.0,
                     offset_counts=-84120, rate_hz=80, clock_ns=hx_clock)
    wheel = FakeEncoderWheel(factory, 17, 27)
    node = Node(config, pin_factory=factory, clock_us=NodeClock(factory, offset_us=3_000_000),
                clock_ns=hx_clock, outbox_path=":memory:")
    cell.start(); node.start()
    wheel.step(+1, tick=edge_time_s)      # for every count change of the model, at its exact time
    ...
    node.stop(); cell.close()
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from gpiozero.pins.mock import MockFactory, MockPin, PinState

HX711_MAX = 0x7FFFFF
HX711_MIN = -0x800000
POWER_DOWN_NS = 60_000
#: gain mode -> (channel, gain); the mode applies to the conversion after the pulses that chose it.
GAIN_MODES = {25: ("A", 128), 26: ("B", 32), 27: ("A", 64)}


class FakePin(MockPin):  # type: ignore[misc]  # gpiozero has no type information
    """A ``MockPin`` that can be driven with an explicit edge tick and reports output changes.

    ``drive(state, tick)`` changes an input pin's level and calls ``when_changed(tick, state)``.
    Output listeners (``add_output_listener(fn)``) are called with the new level whenever a driver sets
    the pin as an output, after the change (used for the HX711's SCK).

    ``states`` (gpiozero's history of ``PinState(seconds since the previous change, level)``, read by
    ``assert_states``) keeps only the newest :attr:`history_limit` entries. gpiozero's ``MockPin``
    keeps every one: a simulated HX711 at 80 conversions/s toggles SCK and DOUT ~5,000 times a second,
    so the demo's two sleds grew by ~1 MB/s and a demo left running for days ran out of memory.
    """

    _state: Any  # set by MockPin
    _last_change: float
    states: "deque[Any]"  # PinState history, set by clear_states (which MockPin's __init__ calls)
    #: how many past states ``states`` keeps (oldest dropped first); a subclass may change it.
    history_limit = 1000

    def __init__(self, factory: Any, info: Any) -> None:
        self._forced_tick: float | None = None
        self._output_listeners: list[Callable[[bool], None]] = []
        super().__init__(factory, info)

    def _change_state(self, value: Any) -> bool:
        if self._state == value:
            return False
        t = self._forced_tick if self._forced_tick is not None else self._factory.ticks()
        self._state = value
        self.states.append(PinState(t - self._last_change, value))
        self._last_change = t
        return True

    def clear_states(self) -> None:
        """Forget the history but the present level (gpiozero's ``MockPin.clear_states``), bounded."""
        super().clear_states()
        self.states = deque(self.states, maxlen=self.history_limit)

    def _set_state(self, value: Any) -> None:
        super()._set_state(value)
        for listener in list(self._output_listeners):
            listener(bool(value))

    def drive(self, state: bool, tick: float | None = None) -> None:
        """Drive this input pin to ``state``; the edge (if any) is reported with ``tick`` (s)."""
        self._forced_tick = tick
        try:
            if state:
                self.drive_high()
            else:
                self.drive_low()
        finally:
            self._forced_tick = None

    def add_output_listener(self, listener: Callable[[bool], None]) -> None:
        self._output_listeners.append(listener)

    def remove_output_listener(self, listener: Callable[[bool], None]) -> None:
        if listener in self._output_listeners:
            self._output_listeners.remove(listener)


def mock_factory() -> MockFactory:
    """Return a new ``MockFactory`` whose pins are :class:`FakePin` (any creation order works)."""
    return MockFactory(pin_class=FakePin)


def fake_pin(pin_factory: MockFactory, number: int) -> FakePin:
    """Return BCM pin ``number`` of ``pin_factory`` as a :class:`FakePin`, creating it if needed.

    Raises ``TypeError`` if a driver already created it as a plain ``MockPin``."""
    pin = pin_factory.pin(number, pin_class=FakePin)
    if not isinstance(pin, FakePin):
        raise TypeError(
            f"GPIO{number} already exists as {type(pin).__name__}: create the fake before the driver, "
            "or use firmware_bridge.fakes.mock_factory()"
        )
    return pin


class StepClock:
    """A nanosecond clock that advances ``step_ns`` per call (thread-safe), for HX711 timing.

    Shared by a :class:`FakeHX711` and its driver (``Node(..., clock_ns=clock)``), it makes every SCK
    high phase look short however busy the process is, so reads never overrun (with the default
    ``perf_counter_ns`` a loaded process overruns now and then, as a real Pi would). ``stall_in(k, ns)`` makes the k-th next call
    jump ``ns`` further: a forced overrun (the driver discards the read, the fake powers down)."""

    def __init__(self, step_ns: int = 1000) -> None:
        self.t = 0
        self.step_ns = step_ns
        self.calls = 0
        self._stall: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.calls += 1
            self.t += self.step_ns
            if self._stall is not None and self.calls == self._stall[0]:
                self.t += self._stall[1]
                self._stall = None
            return self.t

    def stall_in(self, k: int, ns: int) -> None:
        with self._lock:
            self._stall = (self.calls + k, ns)


def _to_24_bit(counts: int) -> int:
    return counts & 0xFFFFFF


class FakeHX711:
    """An HX711 24-bit load-cell ADC answering clock pulses on mock pins ``dout`` / ``sck`` (BCM).

    ``source()`` gives the bridge signal of channel A: raw counts at gain 128, or, when
    ``scale_counts_per_n`` is given, a force in N turned into ``offset_counts + force * scale``.
    ``source_b()`` is channel B, in counts at gain 128 (default 0). Counts at gain 64 / 32 are the
    gain-128 value times 64/128 / 32/128; values beyond the 24-bit range saturate to
    0x7FFFFF / 0x800000 like the chip. :meth:`saturate` forces saturation.

    Conversions happen when :meth:`ready` is called (tests) or at ``rate_hz`` from :meth:`start`
    (simulator); with ``rate_pin`` the rate follows that pin like the chip's RATE input
    (high = 80 /s, low = 10 /s). ``clock_ns`` (default ``time.perf_counter_ns``) times SCK high
    phases for the 60 µs power-down; tests share one fake clock with the driver.
    """

    def __init__(
        self,
        pin_factory: MockFactory,
        dout: int,
        sck: int,
        *,
        source: Callable[[], float] | None = None,
        scale_counts_per_n: float | None = None,
        offset_counts: float = 0.0,
        source_b: Callable[[], float] | None = None,
        rate_hz: float = 10.0,
        rate_pin: int | None = None,
        clock_ns: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self._dout = fake_pin(pin_factory, dout)
        self._sck = fake_pin(pin_factory, sck)
        self._rate_pin = None if rate_pin is None else fake_pin(pin_factory, rate_pin)
        self.source = source or (lambda: 0)
        self.source_b = source_b or (lambda: 0)
        self.scale_counts_per_n = scale_counts_per_n
        self.offset_counts = offset_counts
        self.rate_hz = rate_hz
        self._clock_ns = clock_ns
        self._lock = threading.RLock()
        self._forced: int | None = None
        self._bits = 0
        self._has_data = False
        self._pulses = 0
        self._sck_rise_ns: int | None = None
        #: (channel, gain) of the next conversion; the chip starts at channel A gain 128.
        self.mode: tuple[str, int] = ("A", 128)
        self.conversions = 0
        self.missed = 0
        self.power_downs = 0
        self.reads = 0
        self.last_pulses = 0
        self.stray_pulses = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._dout.drive(True)
        self._sck.add_output_listener(self._on_sck)

    # -- the chip ---------------------------------------------------------------------------------
    def saturate(self, level: str | None) -> None:
        """Force the next conversions to ``"high"`` (0x7FFFFF), ``"low"`` (0x800000) or normal (None)."""
        if level not in (None, "high", "low"):
            raise ValueError("level must be 'high', 'low' or None")
        self._forced = None if level is None else (HX711_MAX if level == "high" else HX711_MIN)

    def counts_now(self) -> int:
        """Return the signed counts a conversion would produce now, at the current mode."""
        if self._forced is not None:
            return self._forced
        channel, gain = self.mode
        if channel == "A":
            value = float(self.source())
            counts = self.offset_counts + value * self.scale_counts_per_n if self.scale_counts_per_n else value
        else:
            counts = float(self.source_b())
        scaled = round(counts * gain / 128)
        return max(HX711_MIN, min(HX711_MAX, scaled))

    @property
    def powered_down(self) -> bool:
        """True while SCK has been high for more than 60 µs (by ``clock_ns``)."""
        rise = self._sck_rise_ns
        return rise is not None and self._clock_ns() - rise > POWER_DOWN_NS

    def ready(self, tick: float | None = None) -> bool:
        """Finish one conversion now: DOUT falls (edge at ``tick``) with the new data.

        Returns False (and counts ``missed``) when the conversion is lost: powered down, a read-out in
        progress, or the previous data never read (then DOUT stays low and only the data changes)."""
        with self._lock:
            if self.powered_down:
                return False
            if 0 < self._pulses < 25:
                self.missed += 1
                return False
            self._end_readout()
            self._bits = _to_24_bit(self.counts_now())
            self.conversions += 1
            if self._has_data:
                self.missed += 1
                return False
            self._has_data = True
            self._dout.drive(False, tick)
            return True

    def _end_readout(self) -> None:
        if self._pulses >= 25:
            self.mode = GAIN_MODES[min(self._pulses, 27)]
            self.last_pulses = self._pulses
            self.reads += 1
        self._pulses = 0

    def _on_sck(self, high: bool) -> None:
        with self._lock:
            if high:
                self._sck_rise_ns = self._clock_ns()
                self._rising_edge()
                return
            rise, self._sck_rise_ns = self._sck_rise_ns, None
            if rise is not None and self._clock_ns() - rise > POWER_DOWN_NS:
                self._power_down_reset()

    def _rising_edge(self) -> None:
        if not self._has_data and self._pulses == 0:
            self.stray_pulses += 1
            return
        self._pulses += 1
        if self._pulses <= 24:
            self._dout.drive(bool((self._bits >> (24 - self._pulses)) & 1))
        if self._pulses == 24:
            self._has_data = False
        elif self._pulses == 25:
            self._dout.drive(True)

    def _power_down_reset(self) -> None:
        self.power_downs += 1
        self._pulses = 0
        self._has_data = False
        self.mode = ("A", 128)
        self._dout.drive(True)

    # -- free-running conversions (simulator) -----------------------------------------------------
    def current_rate_hz(self) -> float:
        if self._rate_pin is not None:
            return 80.0 if self._rate_pin.state else 10.0
        return self.rate_hz

    def start(self) -> None:
        """Convert continuously at :meth:`current_rate_hz` in a thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"fake-hx711-{self._dout.info.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_t = time.monotonic()
        while True:
            next_t += 1.0 / self.current_rate_hz()
            if self._stop.wait(max(0.0, next_t - time.monotonic())):
                return
            self.ready()

    def stop(self) -> None:
        """Stop the conversion thread and wait for it."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def close(self) -> None:
        """Stop and detach from the SCK pin."""
        self.stop()
        self._sck.remove_output_listener(self._on_sck)


GRAY = ((0, 0), (1, 0), (1, 1), (0, 1))  # +1 step: A leads B


class FakeEncoderWheel:
    """A quadrature encoder wheel on mock pins ``a`` / ``b`` (BCM).

    One count is one Gray-code step (4 per cycle). +1 means A leads B (00 -> 10 -> 11 -> 01 -> 00 as
    (A, B)), the direction the wiring doc assigns to "sled toward the athlete". Each step reads the
    lines' present levels and toggles one of them, so the wheel starts from whatever idle level the
    driver's pull-ups set. ``bounce`` (per call or default) adds that many extra back-and-forth
    toggles of the changing line before it settles, ``bounce_gap_s`` apart.
    """

    def __init__(self, pin_factory: MockFactory, a: int, b: int, *, bounce: int = 0, bounce_gap_s: float = 2e-6):
        self._a = fake_pin(pin_factory, a)
        self._b = fake_pin(pin_factory, b)
        self._factory = pin_factory
        self.bounce = bounce
        self.bounce_gap_s = bounce_gap_s
        self.position_counts = 0
        self._lock = threading.Lock()

    def _index(self) -> int:
        return GRAY.index((int(self._a.state), int(self._b.state)))

    def step(self, direction: int, tick: float | None = None, bounce: int | None = None) -> None:
        """Move one count (+1 or -1); the settling edge is at ``tick`` plus the bounce time."""
        if direction not in (1, -1):
            raise ValueError("direction must be +1 or -1")
        with self._lock:
            new_a, new_b = GRAY[(self._index() + direction) % 4]
            pin, level = (self._a, bool(new_a)) if new_a != self._a.state else (self._b, bool(new_b))
            t = self._factory.ticks() if tick is None else tick
            for _ in range(self.bounce if bounce is None else bounce):
                pin.drive(level, t)
                pin.drive(not level, t + self.bounce_gap_s)
                t += 2 * self.bounce_gap_s
            pin.drive(level, t)
            self.position_counts += direction

    def move_counts(self, n: int, *, start_tick: float | None = None, interval_s: float = 0.0,
                    bounce: int | None = None) -> None:
        """Move ``n`` counts (sign = direction); edge k at ``start_tick + k * interval_s`` if given."""
        direction = 1 if n > 0 else -1
        for k in range(abs(n)):
            tick = None if start_tick is None else start_tick + k * interval_s
            self.step(direction, tick, bounce)

    def set_position_counts(self, n: int, **kwargs: Any) -> None:
        """Move to absolute count ``n`` (from this fake's own count), one step at a time."""
        if n != self.position_counts:
            self.move_counts(n - self.position_counts, **kwargs)

    def glitch(self, tick: float | None = None) -> None:
        """Flip both lines with the same tick: an illegal transition (noise); the count is unchanged.

        Call it twice to put the lines back where they were."""
        with self._lock:
            t = self._factory.ticks() if tick is None else tick
            self._a.drive(not self._a.state, t)
            self._b.drive(not self._b.state, t)


class FakeBeam:
    """An IR beam receiver's output on mock pin ``pin`` (BCM).

    ``active_low=True``: the output is low while the beam is broken (the common open-collector
    receiver with a pull-up); ``False``: high while broken. Starts unbroken."""

    def __init__(self, pin_factory: MockFactory, pin: int, *, active_low: bool = True):
        self._pin = fake_pin(pin_factory, pin)
        self.active_low = active_low
        self._pin.drive(active_low)

    @property
    def broken(self) -> bool:
        return bool(self._pin.state) != self.active_low

    def break_(self, tick: float | None = None) -> None:
        """Break the beam; the edge is reported with ``tick`` (s) if given."""
        self._pin.drive(not self.active_low, tick)

    def restore(self, tick: float | None = None) -> None:
        """Restore the beam; the edge is reported with ``tick`` (s) if given."""
        self._pin.drive(self.active_low, tick)
