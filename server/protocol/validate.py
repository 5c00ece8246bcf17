"""Hand-written validation of protocol v1 payloads: fast, and in step with ``docs/schemas/*.json``.

Each ``check_<type>(node, obj, rx_us, sensor_check)`` takes the parsed JSON object of one message and
returns its typed message, or raises :class:`Reject` with a reason (the counter name) and a detail
(the field). Structural checks mirror the schema; the checks a schema cannot express are listed in
``SEMANTIC_REASONS`` and in ``docs/protocol.md``. Unknown fields are ignored (v1 grows additively).

JSON Schema semantics are followed where they differ from Python's: an integral float (``5.0``) is an
integer, ``true`` is not a number.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Collection

from firmware_bridge import wire
from server.protocol.messages import (
    COUNT_MAX, ERROR_MAX_CHARS, EVENT_SENSORS, FW_MAX_CHARS, INT64_MAX, INT64_MIN, MAX_PAYLOAD_BYTES,
    MAX_SAMPLES_PER_BATCH, MAX_SENSORS_PER_NODE, SENSOR_UNITS, TELEMETRY_SENSOR, UNIT_MAX_CHARS, ClockPong,
    CommandAck, Inbound, NodeDescriptor, NodeHealth, NodeStatus, SensorEvent, SensorInfo, TelemetryBatch, is_id,
)

#: Rejections a JSON Schema cannot express (everything else is a schema violation).
SEMANTIC_REASONS = frozenset({
    "node_mismatch",     # status/desc "node" differs from the topic's node id
    "duplicate_sensor",  # two sensors with one id in a descriptor
    "t_us_order",        # samples of a batch not in non-decreasing t_us
    "unknown_sensor",    # sensor not in this boot's descriptor
    "kind_mismatch",     # event/telemetry kind the sensor's kind cannot send
    "bad_number",        # NaN/Infinity, or a number too large for a double
    "duplicate",         # (node, boot_id, seq) seen before
    "late",              # seq older than the dedupe memory: maybe a duplicate, maybe lost; dropped
})

#: ``sensor_check(boot_id, sensor_id, allowed_sensor_kinds)`` → True when checked against the boot's
#: descriptor, False when no descriptor of that boot is known; raises Reject if the sensor is wrong.
SensorCheck = Callable[[str, str, "frozenset[str] | None"], bool]


class Reject(Exception):
    """A message the hub does not accept: ``reason`` is a counter name, ``detail`` says where."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


_MISSING = object()


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # inf or nan (e.g. 1e400)
        raise Reject("bad_number", text[:40])
    return value


def _no_constant(name: str) -> Any:
    raise Reject("bad_number", name)


_decode = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant).decode


def parse_payload(payload: Any) -> dict[str, Any]:
    """UTF-8 JSON object of at most ``MAX_PAYLOAD_BYTES``, numbers finite; else Reject."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    elif not isinstance(payload, bytes):
        if not isinstance(payload, (bytearray, memoryview)):
            raise Reject("bad_json", f"payload is {type(payload).__name__}, not bytes")
        payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Reject("oversized", f"{len(payload)} bytes")
    if not payload:
        raise Reject("empty_payload")
    try:
        obj = _decode(payload.decode("utf-8"))
    except Reject:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise Reject("bad_json", str(exc)[:80]) from None
    if type(obj) is not dict:
        raise Reject("bad_json", "not a JSON object")
    return obj


# field readers ---------------------------------------------------------------------------------

def _missing_or_bad(obj: dict[str, Any], key: str) -> Reject:
    return Reject("missing_field" if key not in obj else "bad_field", key)


def _int(obj: dict[str, Any], key: str, lo: int, hi: int) -> int:
    x = obj.get(key, _MISSING)
    if type(x) is not int:
        if type(x) is float and x.is_integer():
            x = int(x)
        else:
            raise _missing_or_bad(obj, key)
    if x < lo or x > hi:
        raise Reject("bad_field", key)
    return x


def _id(obj: dict[str, Any], key: str) -> str:
    x = obj.get(key, _MISSING)
    if type(x) is str and is_id(x):
        return x
    raise _missing_or_bad(obj, key)


def _text(obj: dict[str, Any], key: str, max_chars: int) -> str:
    x = obj.get(key, _MISSING)
    if type(x) is str and 0 < len(x) <= max_chars:
        return x
    raise _missing_or_bad(obj, key)


def _enum(obj: dict[str, Any], key: str, allowed: Collection[str]) -> str:
    x = obj.get(key, _MISSING)
    if type(x) is str and x in allowed:
        return x
    raise _missing_or_bad(obj, key)


def _object(obj: dict[str, Any], key: str, required: bool = False) -> dict[str, Any] | None:
    x = obj.get(key, _MISSING)
    if type(x) is dict:
        return x
    if x is _MISSING and not required:
        return None
    raise _missing_or_bad(obj, key)


def _number(x: Any, key: str) -> float:
    """A JSON number as a finite float (ints too large for a double are ``bad_number``)."""
    t = type(x)
    if t is float:
        return x  # type: ignore[no-any-return]  # a float, by the check above
    if t is int:
        try:
            return float(x)
        except OverflowError:
            raise Reject("bad_number", key) from None
    raise Reject("bad_field", key)


def _sample_int(x: Any, lo: int, hi: int) -> int:
    if type(x) is not int:
        if type(x) is float and x.is_integer():
            x = int(x)
        else:
            raise Reject("bad_field", "samples")
    if x < lo or x > hi:
        raise Reject("bad_field", "samples")
    return x  # type: ignore[no-any-return]  # an int, by the checks above


def _version(obj: dict[str, Any]) -> None:
    v = obj.get("v", _MISSING)
    if v == 1 and type(v) in (int, float):
        return
    raise Reject("missing_field" if v is _MISSING else "bad_version", "v")


# one checker per message type -------------------------------------------------------------------

def check_status(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> NodeStatus:
    _version(obj)
    claimed = _id(obj, "node")
    state = _enum(obj, "state", ("online", "offline"))
    boot_id = _id(obj, "boot_id")
    if claimed != node:
        raise Reject("node_mismatch", claimed)
    return NodeStatus(node, state, boot_id, rx_us)


def _sensor(s: Any) -> SensorInfo:
    if type(s) is not dict:
        raise Reject("bad_field", "sensors")
    sid = _id(s, "id")
    kind = _id(s, "kind")
    unit = s.get("unit", _MISSING)
    if not (unit is None or (type(unit) is str and len(unit) <= UNIT_MAX_CHARS)):
        raise Reject("missing_field" if unit is _MISSING else "bad_field", "sensors.unit")
    if kind in SENSOR_UNITS and unit != SENSOR_UNITS[kind]:
        raise Reject("bad_field", "sensors.unit")
    rate = s.get("rate_hz", _MISSING)
    if rate is not None:
        if rate is _MISSING:
            raise Reject("missing_field", "sensors.rate_hz")
        rate = _number(rate, "sensors.rate_hz")
        if not rate > 0:
            raise Reject("bad_field", "sensors.rate_hz")
    wiring = s.get("wiring", _MISSING)
    if type(wiring) is not dict:
        raise Reject("missing_field" if wiring is _MISSING else "bad_field", "sensors.wiring")
    calibration = s.get("calibration", _MISSING)
    if calibration is _MISSING:
        calibration = None
    elif type(calibration) is not dict:
        raise Reject("bad_field", "sensors.calibration")
    return SensorInfo(sid, kind, unit, rate, wiring, calibration)


def check_desc(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> NodeDescriptor:
    _version(obj)
    claimed = _id(obj, "node")
    boot_id = _id(obj, "boot_id")
    fw = obj.get("fw", _MISSING)
    if not (type(fw) is str and 0 < len(fw) <= FW_MAX_CHARS and fw.isascii() and fw.isprintable()):
        raise _missing_or_bad(obj, "fw")
    raw = obj.get("sensors", _MISSING)
    if type(raw) is not list or len(raw) > MAX_SENSORS_PER_NODE:
        raise _missing_or_bad(obj, "sensors")
    sensors = tuple(_sensor(s) for s in raw)
    if claimed != node:
        raise Reject("node_mismatch", claimed)
    if len({s.id for s in sensors}) != len(sensors):
        raise Reject("duplicate_sensor", "sensors.id")
    return NodeDescriptor(node, boot_id, fw, sensors, rx_us)


def check_evt(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> SensorEvent:
    _version(obj)
    boot_id = _id(obj, "boot_id")
    seq = _int(obj, "seq", 0, COUNT_MAX)
    sensor = _id(obj, "sensor")
    kind = _enum(obj, "kind", EVENT_SENSORS)
    t_us = _int(obj, "t_us", 0, INT64_MAX)
    detail = _object(obj, "detail")
    described = sensor_check(boot_id, sensor, EVENT_SENSORS[kind])
    return SensorEvent(node, boot_id, seq, sensor, kind, t_us, detail, rx_us, described)


def check_tel(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> TelemetryBatch:
    _version(obj)
    boot_id = _id(obj, "boot_id")
    seq = _int(obj, "seq", 0, COUNT_MAX)
    sensor = _id(obj, "sensor")
    kind = _enum(obj, "kind", TELEMETRY_SENSOR)
    raw = obj.get("samples", _MISSING)
    if type(raw) is not list or not raw:
        raise _missing_or_bad(obj, "samples")
    if len(raw) > MAX_SAMPLES_PER_BATCH:
        raise Reject("too_many_samples", str(len(raw)))
    samples = []
    prev_t = 0
    in_order = True
    for s in raw:
        if type(s) is not list or len(s) != 3:
            raise Reject("bad_field", "samples")
        t, value, counts = s
        if type(t) is not int or t < 0 or t > INT64_MAX:
            t = _sample_int(t, 0, INT64_MAX)
        value = value if type(value) is float else _number(value, "samples")
        if type(counts) is not int or counts < INT64_MIN or counts > INT64_MAX:
            counts = _sample_int(counts, INT64_MIN, INT64_MAX)
        if t < prev_t:
            in_order = False
        prev_t = t
        samples.append((t, value, counts))
    if not in_order:
        raise Reject("t_us_order", "samples")
    described = sensor_check(boot_id, sensor, frozenset((TELEMETRY_SENSOR[kind],)))
    return TelemetryBatch(node, boot_id, seq, sensor, kind, tuple(samples), rx_us, described)


def check_ack(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> CommandAck:
    _version(obj)
    cmd_id = _id(obj, "id")
    ok = obj.get("ok", _MISSING)
    if type(ok) is not bool:
        raise _missing_or_bad(obj, "ok")
    result = _object(obj, "result")
    error = _text(obj, "error", ERROR_MAX_CHARS) if ("error" in obj or not ok) else None
    return CommandAck(node, cmd_id, ok, result, error, rx_us)


_HEALTH_COUNTERS = wire.HEALTH_COUNTERS


def check_health(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> NodeHealth:
    _version(obj)
    boot_id = _id(obj, "boot_id")
    uptime = obj.get("uptime_s", _MISSING)
    if uptime is _MISSING:
        raise Reject("missing_field", "uptime_s")
    uptime = _number(uptime, "uptime_s")
    if uptime < 0:
        raise Reject("bad_field", "uptime_s")
    counters = [_int(obj, key, 0, COUNT_MAX) for key in _HEALTH_COUNTERS]
    return NodeHealth(node, boot_id, uptime, *counters, rx_us)  # type: ignore[call-arg]  # one per counter


def check_pong(node: str, obj: dict[str, Any], rx_us: int, sensor_check: SensorCheck) -> ClockPong:
    _version(obj)
    boot_id = _id(obj, "boot_id")
    n = _int(obj, "n", 0, COUNT_MAX)
    t_us = _int(obj, "t_us", 0, INT64_MAX)
    t_tx_us = _int(obj, "t_tx_us", 0, INT64_MAX) if "t_tx_us" in obj else None
    return ClockPong(node, boot_id, n, t_us, rx_us, t_tx_us)


#: message type -> its checker; each returns the typed message or raises :class:`Reject`
CHECKERS: dict[str, Callable[[str, dict[str, Any], int, SensorCheck], Inbound]] = {
    "status": check_status,
    "desc": check_desc,
    "evt": check_evt,
    "tel": check_tel,
    "ack": check_ack,
    "health": check_health,
    "clock/pong": check_pong,
}
