"""Node configuration: one TOML file, defaults in code, every option documented below, checked at start.

Layout (see ``firmware_bridge/examples/*.toml``)::

    [node]        id, fw?, health_interval_s?
    [mqtt]        host, port, username?, password?, keepalive_s, reconnect_min_s, reconnect_max_s
    [outbox]      path, max_events, max_telemetry
    [telemetry]   batch_s, batch_max_samples
    [[sensor]]    id, kind = load_cell | encoder | beam | dual_beam, pins and options of the kind

Pins are BCM GPIO numbers (0-27). :func:`load_config` raises :class:`ConfigError` listing every
problem, each naming the file, the table (``[[sensor]] 'wheel'``) and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_bridge import __version__, wire
from firmware_bridge.tomlfile import TomlFileError, read_toml

ID_PATTERN = re.compile(wire.ID_PATTERN)
KINDS = ("load_cell", "encoder", "beam", "dual_beam")
BCM_PINS = range(0, 28)


class ConfigError(ValueError):
    """The node config is invalid; ``problems`` lists each one (also joined in the message)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = [f"{source}: {p}" for p in problems]
        super().__init__("invalid node config:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Option:
    """One config key: accepted Python types, default (``REQUIRED`` if none) and what it means."""

    types: tuple[type, ...]
    default: Any
    doc: str


REQUIRED = object()
NUM = (int, float)

NODE_OPTIONS = {
    "id": Option((str,), REQUIRED, "node id, the <id> in sledhub/v1/node/<id>/ (^[A-Za-z0-9_-]{1,64}$)"),
    "fw": Option((str,), f"sledhub-bridge {__version__}", "firmware name/version reported in desc"),
    "health_interval_s": Option(NUM, 5.0, "period of the retained health message (s)"),
}
MQTT_OPTIONS = {
    "host": Option((str,), "localhost", "hub broker host name or address"),
    "port": Option((int,), 1883, "hub broker TCP port"),
    "username": Option((str,), None, "broker login (the hub's `sledhub node add` prints it); when given it "
                       "must equal [node] id: the hub's broker uses it as the client id and lets a node "
                       "publish only under its own name"),
    "password": Option((str,), None, "broker password"),
    "keepalive_s": Option((int,), 15, "MQTT keepalive (s); the Last Will fires after ~1.5x this"),
    "reconnect_min_s": Option(NUM, 1.0, "first reconnect delay (s); doubles per failure"),
    "reconnect_max_s": Option(NUM, 30.0, "longest reconnect delay (s)"),
}
OUTBOX_OPTIONS = {
    "path": Option((str,), "/var/lib/sledhub/outbox.sqlite",
                   "SQLite file keeping events until the broker acknowledges them; relative paths are "
                   "relative to the config file; ':memory:' keeps them in memory only"),
    "max_events": Option((int,), 10000, "events kept while offline; newer ones beyond are dropped and counted"),
    "max_telemetry": Option((int,), 20000,
                            "telemetry samples kept in memory while offline; the oldest beyond are dropped and counted"),
}
TELEMETRY_OPTIONS = {
    "batch_s": Option(NUM, 0.05, "longest time a telemetry sample waits for its batch (s)"),
    "batch_max_samples": Option((int,), 64, "samples per tel message at most"),
}
SENSOR_COMMON = {
    "id": Option((str,), REQUIRED, "sensor id, unique on the node (^[A-Za-z0-9_-]{1,64}$)"),
    "kind": Option((str,), REQUIRED, "load_cell | encoder | beam | dual_beam"),
    "rate_hz": Option(NUM, None, "load_cell: conversions/s, 10 or 80 (default 10); encoders and beams "
                                 "report per edge, so it is accepted and ignored there"),
}
SENSOR_OPTIONS = {
    "load_cell": {
        "dout": Option((int,), REQUIRED, "GPIO <- HX711 DOUT"),
        "sck": Option((int,), REQUIRED, "GPIO -> HX711 PD_SCK"),
        "rate_pin": Option((int,), None, "GPIO -> HX711 RATE (omit if RATE is wired on the board)"),
        "gain": Option((int,), 128, "128 (channel A), 64 (channel A) or 32 (channel B)"),
        "scale_counts_per_n": Option(NUM, None, "counts per newton (calibration)"),
        "offset_counts": Option(NUM, None, "counts at zero load (calibration; `tare` measures it)"),
        "uncalibrated": Option((bool,), False, "true: run without calibration (force_n is null)"),
        "tare_samples": Option((int,), 10, "readings averaged by a tare"),
        "max_clock_high_us": Option((int,), 60, "longest SCK high phase (µs) before a read is discarded"),
    },
    "encoder": {
        "a": Option((int,), REQUIRED, "GPIO <- encoder channel A"),
        "b": Option((int,), REQUIRED, "GPIO <- encoder channel B"),
        "counts_per_m": Option(NUM, REQUIRED, "counts (4 per quadrature cycle) per metre of sled travel"),
        "invert": Option((bool,), False, "flip the sign so positive = sled toward the athlete"),
        "pull_up": Option((bool,), True, "enable the Pi's pull-ups (open-collector encoders)"),
        "simultaneous_us": Option((int,), 1, "A and B edges closer than this (µs) are an illegal transition"),
    },
    "beam": {
        "pin": Option((int,), REQUIRED, "GPIO <- beam receiver output"),
        "broken_level": Option((str,), "low", "receiver output while broken: low | high"),
        "pull": Option((str,), "up", "pull resistor: up | down | none"),
        "holdoff_s": Option(NUM, 0.5, "breaks within this time after a counted break are ignored (s)"),
    },
    "dual_beam": {
        "pins": Option((list,), REQUIRED, "two GPIOs <- the two receivers' outputs"),
        "broken_level": Option((str,), "low", "receiver output while broken: low | high"),
        "pull": Option((str,), "up", "pull resistor: up | down | none"),
        "holdoff_s": Option(NUM, 0.5, "breaks within this time after a counted break are ignored (s)"),
        "window_s": Option(NUM, 0.02, "both beams must break within this time of each other (s)"),
    },
}
PIN_KEYS = ("dout", "sck", "rate_pin", "a", "b", "pin")


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    keepalive_s: int
    reconnect_min_s: float
    reconnect_max_s: float


@dataclass(frozen=True)
class OutboxConfig:
    path: str
    max_events: int
    max_telemetry: int


@dataclass(frozen=True)
class SensorConfig:
    """One ``[[sensor]]``: ``id``, ``kind``, ``pins`` (name -> BCM) and every other option in ``options``."""

    id: str
    kind: str
    pins: dict[str, int]
    rate_hz: float | None
    options: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.options[key]


@dataclass(frozen=True)
class NodeConfig:
    node_id: str
    fw: str
    health_interval_s: float
    mqtt: MqttConfig
    outbox: OutboxConfig
    batch_s: float
    batch_max_samples: int
    sensors: tuple[SensorConfig, ...]
    source: str = "<config>"


def load_config(path: str | Path) -> NodeConfig:
    """Read and validate the TOML file at ``path``."""
    path = Path(path)
    try:
        data = read_toml(path)
    except TomlFileError as exc:
        raise ConfigError(exc.path, [exc.reason]) from exc
    return parse_config(data, source=str(path), base_dir=path.parent)


def parse_config(data: dict[str, Any], *, source: str = "<config>", base_dir: Path | None = None) -> NodeConfig:
    """Validate a parsed TOML document; relative outbox paths are resolved against ``base_dir``."""
    problems: list[str] = []
    known = {"node", "mqtt", "outbox", "telemetry", "sensor"}
    problems += [f"unknown table [{k}]" for k in data if k not in known]
    node = _section(data, "node", NODE_OPTIONS, problems)
    mqtt = _section(data, "mqtt", MQTT_OPTIONS, problems)
    outbox = _section(data, "outbox", OUTBOX_OPTIONS, problems)
    telemetry = _section(data, "telemetry", TELEMETRY_OPTIONS, problems)
    _check_values(node, mqtt, outbox, telemetry, problems)
    sensors = _sensors(data.get("sensor", []), problems)
    if problems:
        raise ConfigError(source, problems)
    out_path = outbox["path"]
    if out_path != ":memory:" and base_dir is not None and not Path(out_path).is_absolute():
        out_path = str(base_dir / out_path)
    return NodeConfig(
        node_id=node["id"], fw=node["fw"], health_interval_s=float(node["health_interval_s"]),
        mqtt=MqttConfig(**mqtt), outbox=OutboxConfig(out_path, outbox["max_events"], outbox["max_telemetry"]),
        batch_s=float(telemetry["batch_s"]), batch_max_samples=telemetry["batch_max_samples"],
        sensors=tuple(sensors), source=source,
    )


def _typed(value: Any, option: Option) -> bool:
    if isinstance(value, bool) and bool not in option.types:
        return False
    return isinstance(value, option.types)


def _fill(table: Any, options: dict[str, Option], where: str, problems: list[str]) -> dict[str, Any]:
    """Check ``table`` against ``options``: unknown keys, missing required keys, types; fill defaults."""
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table")
        return {k: (None if o.default is REQUIRED else o.default) for k, o in options.items()}
    out: dict[str, Any] = {}
    for key in table:
        if key not in options:
            problems.append(f"{where}: unknown key '{key}' (allowed: {', '.join(options)})")
    for key, option in options.items():
        if key not in table:
            if option.default is REQUIRED:
                problems.append(f"{where}: missing key '{key}' ({option.doc})")
                out[key] = None
            else:
                out[key] = option.default
        elif not _typed(table[key], option):
            names = "/".join(t.__name__ for t in option.types)
            problems.append(f"{where}: key '{key}' must be {names}, not {table[key]!r}")
            out[key] = None
        else:
            out[key] = table[key]
    return out


def _section(data: dict[str, Any], name: str, options: dict[str, Option], problems: list[str]) -> dict[str, Any]:
    if name not in data and any(o.default is REQUIRED for o in options.values()):
        problems.append(f"missing table [{name}]")
    return _fill(data.get(name, {}), options, f"[{name}]", problems)


def _positive(table: dict[str, Any], where: str, keys: tuple[str, ...], problems: list[str]) -> None:
    for key in keys:
        value = table.get(key)
        if value is not None and value <= 0:
            problems.append(f"{where}: key '{key}' must be > 0, not {value!r}")


def _check_values(node: dict[str, Any], mqtt: dict[str, Any], outbox: dict[str, Any], telemetry: dict[str, Any],
                  problems: list[str]) -> None:
    if node["id"] is not None and not ID_PATTERN.match(node["id"]):
        problems.append(f"[node]: key 'id' {node['id']!r} must match {ID_PATTERN.pattern}")
    if mqtt["username"] is not None and node["id"] is not None and mqtt["username"] != node["id"]:
        problems.append(f"[mqtt]: key 'username' {mqtt['username']!r} must equal [node] id {node['id']!r}")
    if mqtt["port"] is not None and not 0 < mqtt["port"] < 65536:
        problems.append(f"[mqtt]: key 'port' must be 1-65535, not {mqtt['port']!r}")
    _positive(node, "[node]", ("health_interval_s",), problems)
    _positive(mqtt, "[mqtt]", ("keepalive_s", "reconnect_min_s", "reconnect_max_s"), problems)
    _positive(outbox, "[outbox]", ("max_events", "max_telemetry"), problems)
    _positive(telemetry, "[telemetry]", ("batch_s", "batch_max_samples"), problems)
    if (telemetry["batch_max_samples"] or 0) > wire.MAX_SAMPLES_PER_BATCH:
        problems.append(f"[telemetry]: key 'batch_max_samples' must be at most {wire.MAX_SAMPLES_PER_BATCH} "
                        "(the protocol's limit)")


def _sensors(tables: Any, problems: list[str]) -> list[SensorConfig]:
    if not isinstance(tables, list):
        problems.append("'sensor' must be an array of tables: [[sensor]]")
        return []
    sensors: list[SensorConfig] = []
    pin_owner: dict[int, str] = {}
    for index, table in enumerate(tables, start=1):
        label = table.get("id") if isinstance(table, dict) else None
        where = f"[[sensor]] #{index}" + (f" '{label}'" if isinstance(label, str) else "")
        sensor = _sensor(table, where, problems)
        if sensor is None:
            continue
        if any(s.id == sensor.id for s in sensors):
            problems.append(f"{where}: duplicate sensor id '{sensor.id}'")
        for key, pin in sensor.pins.items():
            if pin in pin_owner:
                problems.append(f"{where}: key '{key}': GPIO{pin} is used twice (also {pin_owner[pin]})")
            else:
                pin_owner[pin] = f"{where} '{key}'"
        sensors.append(sensor)
    return sensors


def _sensor(table: Any, where: str, problems: list[str]) -> SensorConfig | None:
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table")
        return None
    kind = table.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        return None
    options = {**SENSOR_COMMON, **SENSOR_OPTIONS[kind]}
    before = len(problems)
    values = _fill(table, options, where, problems)
    if values["id"] is not None and not ID_PATTERN.match(values["id"]):
        problems.append(f"{where}: key 'id' {values['id']!r} must match {ID_PATTERN.pattern}")
    pins = _pins(values, where, problems)
    _check_kind(kind, values, where, problems)
    if len(problems) > before:
        return None
    rate = values.pop("rate_hz")
    if kind == "load_cell" and rate is None:
        rate = 10
    sensor_id = values.pop("id")
    values.pop("kind")
    for key in (*PIN_KEYS, "pins"):
        values.pop(key, None)
    return SensorConfig(sensor_id, kind, pins, rate, values)


def _pins(values: dict[str, Any], where: str, problems: list[str]) -> dict[str, int]:
    pins: dict[str, int] = {}
    for key in PIN_KEYS:
        if values.get(key) is not None:
            pins[key] = values[key]
    listed = values.get("pins")
    if listed is not None:
        if len(listed) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in listed):
            problems.append(f"{where}: key 'pins' must be two GPIO numbers, not {listed!r}")
            return pins
        if listed[0] == listed[1]:
            problems.append(f"{where}: key 'pins': GPIO{listed[0]} is used twice")
        pins["pins[0]"], pins["pins[1]"] = listed
    for key, pin in pins.items():
        if pin not in BCM_PINS:
            problems.append(f"{where}: key '{key}': GPIO{pin} is not a BCM GPIO (0-27)")
    return pins


def _check_kind(kind: str, v: dict[str, Any], where: str, problems: list[str]) -> None:
    if kind == "load_cell":
        if v["rate_hz"] is not None and v["rate_hz"] not in (10, 80):
            problems.append(f"{where}: key 'rate_hz' must be 10 or 80 for an HX711, not {v['rate_hz']!r}")
        if v["gain"] is not None and v["gain"] not in (128, 64, 32):
            problems.append(f"{where}: key 'gain' must be 128, 64 or 32, not {v['gain']!r}")
        _check_calibration(v, where, problems)
        _positive(v, where, ("tare_samples", "max_clock_high_us"), problems)
    elif kind == "encoder":
        _positive(v, where, ("counts_per_m", "simultaneous_us"), problems)
    else:
        if v["broken_level"] not in (None, "low", "high"):
            problems.append(f"{where}: key 'broken_level' must be 'low' or 'high', not {v['broken_level']!r}")
        if v["pull"] not in (None, "up", "down", "none"):
            problems.append(f"{where}: key 'pull' must be 'up', 'down' or 'none', not {v['pull']!r}")
        if v["holdoff_s"] is not None and v["holdoff_s"] < 0:
            problems.append(f"{where}: key 'holdoff_s' must be >= 0, not {v['holdoff_s']!r}")
        if kind == "dual_beam":
            _positive(v, where, ("window_s",), problems)


def _check_calibration(v: dict[str, Any], where: str, problems: list[str]) -> None:
    scale, offset = v["scale_counts_per_n"], v["offset_counts"]
    if v["uncalibrated"]:
        if scale is not None:
            problems.append(f"{where}: key 'uncalibrated' is true but 'scale_counts_per_n' is set: choose one")
        return
    for key, value in (("scale_counts_per_n", scale), ("offset_counts", offset)):
        if value is None:
            problems.append(f"{where}: missing calibration value '{key}' "
                            "(or set uncalibrated = true to run without one)")
    if scale == 0:
        problems.append(f"{where}: key 'scale_counts_per_n' must not be 0")
