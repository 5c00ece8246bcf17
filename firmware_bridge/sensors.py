"""Sensors of a node: each wraps a driver built from its ``[[sensor]]`` config, turns its readings into
samples and events for a :class:`Sink`, describes itself for ``desc`` and applies commands.

- ``load_cell`` (HX711): a ``force`` sample ``[t_us, force_n, raw_counts]`` per conversion; a ``fault``
  event when the chip saturates or stops sending data (once per episode); ``tare``, ``calibrate``,
  ``set_rate``. Uncalibrated cells send ``force_n`` 0.0 (the value must be a number) with the raw counts.
- ``encoder``: a ``position`` sample ``[t_us, position_m, counts]`` per decoded edge; ``calibrate``,
  ``configure`` (``invert``).
- ``beam`` / ``dual_beam``: ``break`` / ``restore`` events; ``configure`` (``holdoff_s``, ``window_s``,
  ``invert``).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable, Protocol

from firmware_bridge.beam import BeamGate, GateEvent
from firmware_bridge.clock import NodeClock
from firmware_bridge.config import SensorConfig
from firmware_bridge.encoder import QuadratureEncoder
from firmware_bridge.hx711 import HX711, HX711Reading, LoadCellCalibration, tare_offset

Reply = Callable[[bool, dict[str, Any] | None, str | None], None]


class CommandError(Exception):
    """A command cannot be applied; the ``ack``'s ``error`` is ``"<code>: <message>"`` with a code of
    ``docs/protocol.md`` §8: ``unknown_sensor``, ``unsupported``, ``bad_params``, ``busy``, ``failed``."""

    def __init__(self, message: str, code: str = "bad_params") -> None:
        super().__init__(message)
        self.code = code

    def ack_error(self) -> str:
        return f"{self.code}: {self}"


class Sink(Protocol):
    """Where sensors put their output (the node); called from driver threads, must be quick."""

    def sample(self, sensor_id: str, kind: str, sample: list[Any]) -> None: ...

    def event(self, sensor_id: str, kind: str, t_us: int, detail: dict[str, Any] | None = None) -> None: ...


def _number(params: dict[str, Any], key: str, positive: bool = False) -> float | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CommandError(f"'{key}' must be a number")
    if positive and value <= 0:
        raise CommandError(f"'{key}' must be > 0")
    return value


def _flag(params: dict[str, Any], key: str) -> bool | None:
    value = params.get(key)
    if value is not None and not isinstance(value, bool):
        raise CommandError(f"'{key}' must be true or false")
    return value


class Sensor:
    """Base: ``start``/``stop`` threads, ``close`` pins, ``describe`` for desc, ``command``."""

    kind = ""
    unit: str | None = None
    commands: tuple[str, ...] = ()

    def __init__(self, cfg: SensorConfig) -> None:
        self.cfg = cfg
        self.id = cfg.id

    def start(self) -> None:
        """Start any thread the sensor needs."""

    def stop(self) -> None:
        """Stop and join the sensor's threads."""

    def close(self) -> None:
        """Release the pins."""

    def poll(self, now_s: float) -> None:
        """Called often by the node's sender thread (time-outs of pending commands)."""

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "unit": self.unit, "rate_hz": None,
                "wiring": dict(self.cfg.pins), "calibration": self.calibration()}

    def calibration(self) -> dict[str, Any]:
        return {}

    def counters(self) -> dict[str, int]:
        return {}

    def command(self, cmd: str, params: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
        """Apply ``cmd``; return the ack result, or None when ``reply`` will be called later."""
        raise CommandError(f"sensor '{self.id}' ({self.kind}) does not take '{cmd}'", "unsupported")


class LoadCellSensor(Sensor):
    kind = "load_cell"
    unit = "N"
    commands = ("tare", "calibrate", "set_rate")

    def __init__(self, cfg: SensorConfig, *, pin_factory: Any, clock: NodeClock, sink: Sink,
                 clock_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        super().__init__(cfg)
        self._clock = clock
        self._sink = sink
        self.hx711 = HX711(
            cfg.pins["dout"], cfg.pins["sck"], pin_factory=pin_factory, gain=cfg["gain"],
            rate_hz=int(cfg.rate_hz or 10), rate_pin=cfg.pins.get("rate_pin"), clock_ns=clock_ns,
            max_high_ns=cfg["max_clock_high_us"] * 1000, name=cfg.id)
        self.cal = LoadCellCalibration(cfg["scale_counts_per_n"], cfg["offset_counts"] or 0.0)
        self._fault: str | None = None
        self._lock = threading.Lock()
        self._tare: tuple[int, list[int], Reply, float] | None = None  # (n, counts, reply, deadline)

    def start(self) -> None:
        self.hx711.start(self._on_reading)

    def stop(self) -> None:
        self.hx711.stop()

    def close(self) -> None:
        self.hx711.close()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["rate_hz"] = self.hx711.rate_hz
        d["wiring"]["gain"] = self.hx711.gain
        return d

    def calibration(self) -> dict[str, Any]:
        return {"scale_counts_per_n": self.cal.scale_counts_per_n, "offset_counts": self.cal.offset_counts,
                "uncalibrated": not self.cal.scale_counts_per_n}

    def counters(self) -> dict[str, int]:
        return {"hx711_overruns": self.hx711.overruns, "hx711_faults": self.hx711.faults}

    def _on_reading(self, reading: HX711Reading) -> None:
        t_us = self._clock.from_tick(reading.tick)
        if reading.counts is None:
            if reading.fault != self._fault:
                self._fault = reading.fault
                self._sink.event(self.id, "fault", t_us, {"reason": reading.fault})
            return
        self._fault = None
        self._feed_tare(reading.counts)
        force = self.cal.force_n(reading.counts)
        self._sink.sample(self.id, "force", [t_us, 0.0 if force is None else force, reading.counts])

    def _feed_tare(self, counts: int) -> None:
        with self._lock:
            if self._tare is None:
                return
            n, got, reply, _ = self._tare
            got.append(counts)
            if len(got) < n:
                return
            self._tare = None
        self.cal.offset_counts = tare_offset(got)
        reply(True, {"offset_counts": self.cal.offset_counts, "samples": n}, None)

    def poll(self, now_s: float) -> None:
        with self._lock:
            pending = self._tare
            if pending is None or now_s < pending[3]:
                return
            self._tare = None
        pending[2](False, None, f"tare timed out: {len(pending[1])} of {pending[0]} readings")

    def command(self, cmd: str, params: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
        if cmd == "tare":
            n = int(_number(params, "samples", positive=True) or self.cfg["tare_samples"])
            with self._lock:
                if self._tare is not None:
                    raise CommandError("a tare is already running", "busy")
                timeout_s = 2.0 + 2.0 * n / self.hx711.rate_hz
                self._tare = (n, [], reply, time.monotonic() + timeout_s)
            return None
        if cmd == "calibrate":
            scale = _number(params, "scale_counts_per_n")
            offset = _number(params, "offset_counts")
            if scale == 0:
                raise CommandError("'scale_counts_per_n' must not be 0")
            if scale is None and offset is None:
                raise CommandError("calibrate needs 'scale_counts_per_n' and/or 'offset_counts'")
            if scale is not None:
                self.cal.scale_counts_per_n = scale
            if offset is not None:
                self.cal.offset_counts = offset
            return self.calibration()
        if cmd == "set_rate":
            rate = _number(params, "rate_hz")
            try:
                self.hx711.set_rate(int(rate) if rate in (10, 80) else rate)  # type: ignore[arg-type]
            except ValueError as exc:
                raise CommandError(str(exc), "unsupported") from None
            return {"rate_hz": self.hx711.rate_hz}
        return super().command(cmd, params, reply)


class EncoderSensor(Sensor):
    kind = "encoder"
    unit = "m"
    commands = ("calibrate", "configure")

    def __init__(self, cfg: SensorConfig, *, pin_factory: Any, clock: NodeClock, sink: Sink) -> None:
        super().__init__(cfg)
        self._sink = sink
        self.encoder = QuadratureEncoder(
            cfg.pins["a"], cfg.pins["b"], pin_factory=pin_factory, counts_per_m=cfg["counts_per_m"],
            tick_to_us=clock.from_tick, on_sample=self._on_sample, invert=cfg["invert"],
            pull_up=cfg["pull_up"], simultaneous_us=cfg["simultaneous_us"])

    def _on_sample(self, t_us: int, position_m: float, counts: int) -> None:
        self._sink.sample(self.id, "position", [t_us, position_m, counts])

    def close(self) -> None:
        self.encoder.close()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["wiring"]["pull_up"] = self.cfg["pull_up"]
        return d

    def calibration(self) -> dict[str, Any]:
        return {"counts_per_m": self.encoder.counts_per_m, "invert": self.encoder.invert}

    def counters(self) -> dict[str, int]:
        return {"encoder_errors": self.encoder.errors}

    def command(self, cmd: str, params: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
        if cmd not in self.commands:
            return super().command(cmd, params, reply)
        counts_per_m = _number(params, "counts_per_m", positive=True) if cmd == "calibrate" else None
        invert = _flag(params, "invert")
        if counts_per_m is None and invert is None:
            raise CommandError(f"{cmd} needs " + ("'counts_per_m' and/or 'invert'" if cmd == "calibrate"
                                                  else "'invert'"))
        if counts_per_m is not None:
            self.encoder.counts_per_m = counts_per_m
        if invert is not None:
            self.encoder.invert = invert
        return self.calibration()


class BeamSensor(Sensor):
    """``beam`` (one pin) or ``dual_beam`` (two pins)."""

    unit = None
    commands = ("configure",)

    def __init__(self, cfg: SensorConfig, *, pin_factory: Any, clock: NodeClock, sink: Sink) -> None:
        super().__init__(cfg)
        self.kind = cfg.kind
        self._sink = sink
        pins = (cfg.pins["pin"],) if cfg.kind == "beam" else (cfg.pins["pins[0]"], cfg.pins["pins[1]"])
        self.gate = BeamGate(
            pins, pin_factory=pin_factory, tick_to_us=clock.from_tick, on_event=self._on_event,
            broken_level=cfg["broken_level"], pull=cfg["pull"], holdoff_s=cfg["holdoff_s"],
            window_s=cfg.options.get("window_s", 0.02))

    def _on_event(self, event: GateEvent) -> None:
        self._sink.event(self.id, event.kind, event.t_us, event.detail)

    def close(self) -> None:
        self.gate.close()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        wiring = {"pins": [d["wiring"]["pins[0]"], d["wiring"]["pins[1]"]]} if self.kind == "dual_beam" \
            else dict(d["wiring"])
        wiring.update(broken_level=self.gate.broken_level, pull=self.cfg["pull"])
        d["wiring"] = wiring
        return d

    def calibration(self) -> dict[str, Any]:
        out = {"holdoff_s": self.gate.logic.holdoff_us / 1e6}
        if self.kind == "dual_beam":
            out["window_s"] = self.gate.logic.window_us / 1e6  # type: ignore[union-attr]
        return out

    def counters(self) -> dict[str, int]:
        return {"beam_ignored": self.gate.ignored}

    def command(self, cmd: str, params: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
        if cmd != "configure":
            return super().command(cmd, params, reply)
        holdoff = _number(params, "holdoff_s")
        window = _number(params, "window_s", positive=True)
        invert = _flag(params, "invert")
        if holdoff is not None and holdoff < 0:
            raise CommandError("'holdoff_s' must be >= 0")
        if window is not None and self.kind != "dual_beam":
            raise CommandError("'window_s' applies to a dual_beam only")
        if holdoff is None and window is None and invert is None:
            raise CommandError("configure needs 'holdoff_s', 'window_s' and/or 'invert'")
        self.gate.configure(holdoff_s=holdoff, window_s=window, invert=invert)
        return {**self.calibration(), "broken_level": self.gate.broken_level}


def build_sensors(sensor_configs: Iterable[SensorConfig], *, pin_factory: Any, clock: NodeClock, sink: Sink,
                  clock_ns: Callable[[], int] = time.perf_counter_ns) -> list[Sensor]:
    """Build every sensor of a config; on failure close the ones already built and re-raise."""
    built: list[Sensor] = []
    try:
        for cfg in sensor_configs:
            if cfg.kind == "load_cell":
                built.append(LoadCellSensor(cfg, pin_factory=pin_factory, clock=clock, sink=sink, clock_ns=clock_ns))
            elif cfg.kind == "encoder":
                built.append(EncoderSensor(cfg, pin_factory=pin_factory, clock=clock, sink=sink))
            else:
                built.append(BeamSensor(cfg, pin_factory=pin_factory, clock=clock, sink=sink))
    except Exception:
        for sensor in built:
            sensor.close()
        raise
    return built
