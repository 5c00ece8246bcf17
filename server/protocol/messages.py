"""Protocol v1: topic grammar (from :mod:`firmware_bridge.wire`, shared with the node), limits, and the typed
messages the hub accepts from nodes.

The public contract is ``docs/protocol.md`` with one JSON Schema per message in ``docs/schemas/``.
Everything here is plain data: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from firmware_bridge import wire

# the wire format shared with the node (firmware_bridge/wire.py), exported here for the hub
PROTOCOL_VERSION = wire.PROTOCOL_VERSION
TOPIC_ROOT = wire.TOPIC_ROOT

# ids: node ids, boot ids, sensor ids, command ids
ID_PATTERN = wire.ID_PATTERN
is_id = wire.is_id

# limits (docs/protocol.md, "Limits")
MAX_PAYLOAD_BYTES = 65_536
MAX_SAMPLES_PER_BATCH = wire.MAX_SAMPLES_PER_BATCH
MAX_SENSORS_PER_NODE = 32
MAX_NODES = 256
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
COUNT_MAX = 2**53 - 1  # seq, n, counters: exact in every JSON implementation
FW_MAX_CHARS = 64
UNIT_MAX_CHARS = 16
ERROR_MAX_CHARS = 256

# message types (the topic suffix after the node id)
NODE_TO_HUB = wire.NODE_TO_HUB
HUB_TO_NODE = wire.HUB_TO_NODE
QOS = wire.QOS
RETAINED = wire.RETAINED

#: What the hub subscribes to: the node→hub topics only, so its own commands and pings never come back.
SUBSCRIPTIONS: tuple[tuple[str, int], ...] = tuple((f"{TOPIC_ROOT}/+/{t}", QOS[t]) for t in NODE_TO_HUB)

# sensors: kind -> unit of its values (None: the sensor only sends events)
SENSOR_UNITS: dict[str, str | None] = {"load_cell": "N", "encoder": "m", "beam": None, "dual_beam": None}
# telemetry kind -> sensor kind that may send it
TELEMETRY_SENSOR = {"force": "load_cell", "position": "encoder"}
# event kind -> sensor kinds that may send it (None: any sensor)
EVENT_SENSORS: dict[str, frozenset[str] | None] = {
    "break": frozenset({"beam", "dual_beam"}),
    "restore": frozenset({"beam", "dual_beam"}),
    "fault": None,
}


topic = wire.topic


class _Plain:
    """``to_dict()`` for the message dataclasses: JSON-ready (tuples become lists)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    if isinstance(value, _Plain):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


# Inbound messages. Times: ``t_*_us`` on the node's clock, ``rx_us`` the hub's receipt time.
# Mapping fields hold the parsed JSON objects as received: treat them as read-only.

@dataclass(frozen=True, slots=True)
class NodeStatus(_Plain):
    """``status``: the node is ``online`` or ``offline`` (its Last Will).

    ``stale`` is True for an ``offline`` of a boot that is not the node's current one (a late Last Will
    of a connection the node already replaced): the node is not offline.
    """

    node: str
    state: str
    boot_id: str
    rx_us: int
    stale: bool = False


@dataclass(frozen=True, slots=True)
class SensorInfo(_Plain):
    """One sensor of a descriptor. ``unit`` is None for event-only sensors (beams)."""

    id: str
    kind: str
    unit: str | None
    rate_hz: float | None
    wiring: Mapping[str, Any]
    calibration: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class NodeDescriptor(_Plain):
    """``desc``: what the node is and which sensors it has, for one boot."""

    node: str
    boot_id: str
    fw: str
    sensors: tuple[SensorInfo, ...]
    rx_us: int


@dataclass(frozen=True, slots=True)
class SensorEvent(_Plain):
    """``evt``: a discrete edge (``break``/``restore``) or a ``fault``, stamped on the node clock.

    ``described`` is False when no descriptor of this boot was known yet (the sensor was not checked).
    """

    node: str
    boot_id: str
    seq: int
    sensor: str
    kind: str
    t_us: int
    detail: Mapping[str, Any] | None
    rx_us: int
    described: bool


@dataclass(frozen=True, slots=True)
class TelemetryBatch(_Plain):
    """``tel``: samples ``(t_us, value, raw)`` in non-decreasing ``t_us``; ``value`` in the sensor's unit."""

    node: str
    boot_id: str
    seq: int
    sensor: str
    kind: str
    samples: tuple[tuple[int, float, int], ...]
    rx_us: int
    described: bool


@dataclass(frozen=True, slots=True)
class CommandAck(_Plain):
    """``ack``: the node's answer to command ``id``; ``error`` is set when ``ok`` is False."""

    node: str
    id: str
    ok: bool
    result: Mapping[str, Any] | None
    error: str | None
    rx_us: int


@dataclass(frozen=True, slots=True)
class ClockPong(_Plain):
    """``clock/pong``: the node's clock when ping ``n`` arrived (and, optionally, when it answered)."""

    node: str
    boot_id: str
    n: int
    t_node_us: int
    rx_us: int
    t_node_tx_us: int | None = None


@dataclass(frozen=True, slots=True)
class NodeHealth(_Plain):
    """``health``: the node's own counters, every 5 s (retained)."""

    node: str
    boot_id: str
    uptime_s: float
    dropped_events: int
    dropped_samples: int
    hx711_overruns: int
    hx711_faults: int
    encoder_errors: int
    outbox_depth: int
    rx_us: int


Inbound = NodeStatus | NodeDescriptor | SensorEvent | TelemetryBatch | CommandAck | ClockPong | NodeHealth
