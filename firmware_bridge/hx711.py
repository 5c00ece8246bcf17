"""HX711 24-bit load-cell ADC, bit-banged on two GPIOs through a gpiozero pin factory.

Wiring (BCM numbers, see ``docs/wiring.md``): HX711 ``DOUT`` -> an input GPIO, ``PD_SCK`` <- an output
GPIO, optional ``RATE`` <- an output GPIO (high = 80 samples/s, low = 10 samples/s; tie it to GND or
VCC on the board instead if the rate is fixed). Power the HX711 board from 3V3 so DOUT is a 3.3 V
signal.

Protocol (datasheet): DOUT goes low when a conversion is ready. Each of 24 SCK pulses shifts one bit
out, MSB first, as 24-bit two's complement; 1-3 further pulses (25/26/27 in all) choose the channel
and gain of the *next* conversion (A/128, B/32, A/64). 0x7FFFFF / 0x800000 mean the input is out of
range (saturated): reported as a fault, never as a value. SCK high for more than 60 µs powers the chip
down and resets it to A/128: Python can be pre-empted mid-pulse, so each SCK high phase is timed with
``clock_ns`` and a read that overran is discarded and counted (``overruns``).

Time stamps: a reading's ``tick`` is the tick of DOUT's falling edge (data ready) as reported by the
pin's ``when_changed(ticks, state)``; if that edge was not seen (DOUT already low), the factory's
ticks at the moment DOUT was found low.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from gpiozero import DigitalOutputDevice, InputDevice

#: gain -> total SCK pulses per read-out (the 25th-27th select the next conversion's channel/gain).
GAIN_PULSES = {128: 25, 32: 26, 64: 27}
#: rate (samples/s) -> level of the RATE pin.
RATE_LEVELS = {10: False, 80: True}
MAX_HIGH_NS = 60_000
SATURATED_HIGH = 0x7FFFFF
SATURATED_LOW = 0x800000


def decode_counts(raw24: int) -> int:
    """Return the signed value of a 24-bit two's complement word."""
    return raw24 - 0x1000000 if raw24 & 0x800000 else raw24


def saturation(raw24: int) -> str | None:
    """Return ``"saturated_high"`` / ``"saturated_low"`` for the chip's out-of-range codes, else None."""
    if raw24 == SATURATED_HIGH:
        return "saturated_high"
    if raw24 == SATURATED_LOW:
        return "saturated_low"
    return None


@dataclass(frozen=True)
class HX711Reading:
    """One conversion: ``tick`` (factory ticks, s) of data-ready, ``counts`` (signed) or a ``fault``."""

    tick: float
    counts: int | None
    fault: str | None = None


class HX711:
    """Bit-banged HX711 on ``dout`` / ``sck`` (BCM) of ``pin_factory``.

    ``gain``: 128 (channel A), 64 (channel A) or 32 (channel B). ``rate_hz``: 10 or 80; with
    ``rate_pin`` the driver drives the chip's RATE input, otherwise the rate is the board's wiring and
    only used for timeouts. ``clock_ns``: high-resolution clock (ns) that times SCK pulses.
    Use :meth:`read` for one reading, or :meth:`start` / :meth:`stop` for a reader thread.
    """

    def __init__(
        self,
        dout: int,
        sck: int,
        *,
        pin_factory: Any,
        gain: int = 128,
        rate_hz: int = 10,
        rate_pin: int | None = None,
        clock_ns: Callable[[], int] = time.perf_counter_ns,
        max_high_ns: int = MAX_HIGH_NS,
        name: str = "hx711",
    ) -> None:
        if gain not in GAIN_PULSES:
            raise ValueError(f"gain must be one of {sorted(GAIN_PULSES)}, not {gain!r}")
        self.name = name
        self.gain = gain
        self.max_high_ns = max_high_ns
        self._clock_ns = clock_ns
        self._factory = pin_factory
        self.overruns = 0
        self.faults = 0
        self.discarded = 0
        self._dout = InputDevice(dout, pull_up=None, active_state=True, pin_factory=pin_factory)
        self._sck = DigitalOutputDevice(sck, initial_value=False, pin_factory=pin_factory)
        self._rate = None if rate_pin is None else DigitalOutputDevice(rate_pin, pin_factory=pin_factory)
        self.rate_hz = rate_hz
        self.set_rate(rate_hz)
        self._ready = threading.Event()
        self._reading = False
        self._edge_tick: float | None = None
        self._last_read_end = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._io_lock = threading.Lock()
        self._dout.pin.edges = "both"
        self._dout.pin.when_changed = self._on_dout
        self._next_gain = 128
        self.power_cycle()

    # -- configuration ----------------------------------------------------------------------------
    def set_rate(self, rate_hz: int) -> None:
        """Select 10 or 80 samples/s on the RATE pin; without one, only the wired rate is allowed."""
        if rate_hz not in RATE_LEVELS:
            raise ValueError(f"rate_hz must be 10 or 80, not {rate_hz!r}")
        if self._rate is None:
            if rate_hz != self.rate_hz:
                raise ValueError(f"{self.name}: the rate is wired on the board ({self.rate_hz} /s); no rate_pin")
            return
        self._rate.value = RATE_LEVELS[rate_hz]
        self.rate_hz = rate_hz

    def power_cycle(self) -> None:
        """Hold SCK high for more than 60 µs, then low: the chip resets to channel A gain 128."""
        with self._io_lock:
            pin = self._sck.pin
            start = self._clock_ns()
            give_up = time.monotonic() + 0.05  # an injected clock that never advances must not hang us
            pin.state = True
            while self._clock_ns() - start <= 2 * self.max_high_ns and time.monotonic() < give_up:
                time.sleep(self.max_high_ns / 1e9)
            pin.state = False
            self._next_gain = 128

    # -- data ready -------------------------------------------------------------------------------
    def _on_dout(self, ticks: float, state: int) -> None:
        # Runs in the pin's callback thread; only plain assignments and Event.set (no driver locks).
        if not state and not self._reading and ticks > self._last_read_end:
            self._edge_tick = ticks
            self._ready.set()

    def _wait_ready(self, timeout_s: float) -> float | None:
        """Wait until DOUT is low; return the data-ready tick, or None on timeout/stop."""
        deadline = time.monotonic() + timeout_s
        poll_s = min(0.05, 0.5 / self.rate_hz)
        while not self._stop.is_set():
            if not self._dout.pin.state:
                tick, self._edge_tick = self._edge_tick, None
                return tick if tick is not None else self._factory.ticks()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._ready.wait(min(remaining, poll_s))
            self._ready.clear()
        return None

    # -- read-out ---------------------------------------------------------------------------------
    def _shift(self, pulses: int) -> tuple[int, bool]:
        """Clock ``pulses`` pulses; return (first 24 bits, whether any SCK high phase overran)."""
        sck, dout, clock, limit = self._sck.pin, self._dout.pin, self._clock_ns, self.max_high_ns
        value = 0
        overran = False
        for i in range(pulses):
            t0 = clock()
            sck.state = True
            bit = dout.state
            sck.state = False
            if clock() - t0 > limit:
                overran = True
            if i < 24:
                value = (value << 1) | bool(bit)
        return value, overran

    def read(self, timeout_s: float = 1.0) -> HX711Reading | None:
        """Wait for data (up to ``timeout_s``) and read it out.

        Returns None on timeout, on an overrun (counted in ``overruns``) and for the first reading after
        a reset when ``gain`` is not 128 (converted at A/128; counted in ``discarded``). Saturation
        returns a reading with ``fault`` set (counted in ``faults``)."""
        tick = self._wait_ready(timeout_s)
        if tick is None:
            return None
        with self._io_lock:
            self._reading = True
            try:
                raw, overran = self._shift(GAIN_PULSES[self.gain])
            finally:
                self._reading = False
                self._last_read_end = self._factory.ticks()
                self._ready.clear()
            converted_at, self._next_gain = self._next_gain, (128 if overran else self.gain)
        if overran:
            self.overruns += 1
            return None
        if converted_at != self.gain:
            self.discarded += 1
            return None
        fault = saturation(raw)
        if fault:
            self.faults += 1
            return HX711Reading(tick, None, fault)
        return HX711Reading(tick, decode_counts(raw))

    def read_counts(self, n: int, timeout_s: float = 5.0) -> list[int]:
        """Return the counts of the next ``n`` good readings (skipping faults); TimeoutError if slow."""
        deadline = time.monotonic() + timeout_s
        out: list[int] = []
        while len(out) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: {len(out)} of {n} readings in {timeout_s} s")
            reading = self.read(remaining)
            if reading is not None and reading.counts is not None:
                out.append(reading.counts)
        return out

    def tare(self, n: int = 10, timeout_s: float = 5.0) -> float:
        """Average ``n`` readings with nothing on the load cell; return them as ``offset_counts``."""
        return tare_offset(self.read_counts(n, timeout_s))

    # -- reader thread ----------------------------------------------------------------------------
    def start(self, on_reading: Callable[[HX711Reading], None], no_data_s: float | None = None) -> None:
        """Read continuously in a thread, calling ``on_reading`` for each reading or fault.

        When no data comes for ``no_data_s`` (default: 1 s or 5 conversion periods, the longer), one
        ``HX711Reading(tick, None, "no_data")`` is delivered (a dead or unplugged chip)."""
        if self._thread is not None:
            return
        silence = no_data_s if no_data_s is not None else max(1.0, 5.0 / self.rate_hz)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_reading, silence), name=f"hx711-{self.name}", daemon=True)
        self._thread.start()

    def _run(self, on_reading: Callable[[HX711Reading], None], silence_s: float) -> None:
        last_data = time.monotonic()
        reported = False
        while not self._stop.is_set():
            reading = self.read(timeout_s=min(0.25, silence_s))
            now = time.monotonic()
            if reading is not None:
                last_data, reported = now, False
                on_reading(reading)
            elif not reported and now - last_data > silence_s and not self._stop.is_set():
                reported = True
                self.faults += 1
                on_reading(HX711Reading(self._factory.ticks(), None, "no_data"))

    def stop(self) -> None:
        """Stop the reader thread and wait for it."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._ready.set()
            thread.join()
            self._stop.clear()

    def close(self) -> None:
        """Stop and release the pins."""
        self.stop()
        self._dout.pin.when_changed = None
        for dev in (self._dout, self._sck, self._rate):
            if dev is not None:
                dev.close()


def tare_offset(counts: Sequence[int]) -> float:
    """Return the mean of ``counts``: the zero-load offset in counts."""
    if not counts:
        raise ValueError("tare needs at least one reading")
    return sum(counts) / len(counts)


@dataclass
class LoadCellCalibration:
    """Counts -> newtons: ``force_n = (counts - offset_counts) / scale_counts_per_n``.

    ``scale_counts_per_n`` None means uncalibrated: :meth:`force_n` returns None."""

    scale_counts_per_n: float | None = None
    offset_counts: float = 0.0

    def force_n(self, counts: int) -> float | None:
        if not self.scale_counts_per_n:
            return None
        return (counts - self.offset_counts) / self.scale_counts_per_n
