"""The sledhub MQTT protocol, v1 (the contract: ``docs/protocol.md`` and ``docs/schemas/*.json``).

- :class:`Protocol` validates, dedupes and counts every inbound message (``handle`` never raises);
- the typed messages it returns (:data:`Inbound`);
- :func:`make_command` / :func:`make_ping` build hub → node messages;
- topic helpers, QoS, limits and :data:`SUBSCRIPTIONS`.
"""

from server.protocol.commands import COMMANDS, OutboundCommand, check_command, make_command, make_ping, new_command_id
from server.protocol.core import Protocol, parse_topic
from server.protocol.messages import (
    COUNT_MAX, HUB_TO_NODE, ID_PATTERN, INT64_MAX, INT64_MIN, MAX_NODES, MAX_PAYLOAD_BYTES, MAX_SAMPLES_PER_BATCH,
    MAX_SENSORS_PER_NODE, NODE_TO_HUB, PROTOCOL_VERSION, QOS, RETAINED, SENSOR_UNITS, SUBSCRIPTIONS, TOPIC_ROOT,
    ClockPong, CommandAck, Inbound, NodeDescriptor, NodeHealth, NodeStatus, SensorEvent, SensorInfo, TelemetryBatch,
    is_id, topic,
)
from server.protocol.validate import SEMANTIC_REASONS, Reject

__all__ = [
    "COMMANDS", "COUNT_MAX", "HUB_TO_NODE", "ID_PATTERN", "INT64_MAX", "INT64_MIN", "MAX_NODES", "MAX_PAYLOAD_BYTES",
    "MAX_SAMPLES_PER_BATCH", "MAX_SENSORS_PER_NODE", "NODE_TO_HUB", "PROTOCOL_VERSION", "QOS", "RETAINED",
    "SEMANTIC_REASONS", "SENSOR_UNITS", "SUBSCRIPTIONS", "TOPIC_ROOT",
    "ClockPong", "CommandAck", "Inbound", "NodeDescriptor", "NodeHealth", "NodeStatus", "OutboundCommand", "Protocol",
    "Reject", "SensorEvent", "SensorInfo", "TelemetryBatch",
    "check_command", "is_id", "make_command", "make_ping", "new_command_id", "parse_topic", "topic",
]
