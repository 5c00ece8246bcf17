"""The wire format of protocol sledhub/v1, the one definition the node and the hub both import.

The node (``firmware_bridge``) builds its messages with it, the hub (``server.protocol``) checks
what arrives against it and builds commands with it; ``docs/protocol.md`` is the contract it
implements. Standard library only, no I/O: a sensor node imports it without anything of the hub.

- Topics: ``sledhub/v1/node/<node_id>/<msg_type>``, :func:`topic`; ids match :data:`ID_PATTERN`.
- Message types by direction (:data:`NODE_TO_HUB`, :data:`HUB_TO_NODE`), their QoS and which are retained.
- Payloads: one JSON object each, ``"v": 1`` in every one, sent as compact UTF-8 (:func:`encode`).
"""

from __future__ import annotations

import json
import re
from typing import Any

PROTOCOL_VERSION = 1
TOPIC_ROOT = "sledhub/v1/node"

#: node ids, boot ids, sensor ids and command ids
ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
#: ``is_id(text)``: a match (truthy) when the str ``text`` is a valid id, else None (a bound method: the
#: hub calls it for every id of every message)
is_id = re.compile(r"[A-Za-z0-9_-]{1,64}").fullmatch


# message types (the topic suffix after the node id)
NODE_TO_HUB = ("status", "desc", "evt", "tel", "ack", "health", "clock/pong")
HUB_TO_NODE = ("cmd", "clock/ping")
QOS = {"status": 1, "desc": 1, "evt": 1, "tel": 0, "ack": 1, "health": 0, "clock/pong": 0,
       "cmd": 1, "clock/ping": 0}
RETAINED = frozenset({"status", "desc", "health"})

#: samples per ``tel`` message at most
MAX_SAMPLES_PER_BATCH = 512

#: the counters every ``health`` message carries (integers since boot; ``outbox_depth`` is the depth now)
HEALTH_COUNTERS = ("dropped_events", "dropped_samples", "hx711_overruns", "hx711_faults", "encoder_errors",
                   "outbox_depth")


def topic(node: str, msg_type: str) -> str:
    """The topic of ``msg_type`` (e.g. ``"evt"``, ``"clock/ping"``) for ``node``; ValueError if either is bad."""
    if not isinstance(node, str) or not is_id(node):
        raise ValueError(f"bad node id {node!r}: ids match {ID_PATTERN}")
    if msg_type not in QOS:
        raise ValueError(f"unknown message type {msg_type!r}")
    return f"{TOPIC_ROOT}/{node}/{msg_type}"


def encode(obj: dict[str, Any]) -> bytes:
    """A payload as compact UTF-8 JSON; ValueError for NaN or infinity, which JSON cannot carry."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
