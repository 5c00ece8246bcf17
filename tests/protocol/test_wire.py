"""firmware_bridge/wire.py is the one definition of the wire format: the node builds with it, the hub
parses with it, and neither defines topics, ids or QoS again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from firmware_bridge import messages as node_msg
from firmware_bridge import wire
from firmware_bridge.config import ID_PATTERN as NODE_ID_RE
from server import protocol
from server.mqtt.nodeadmin import NODE_ID_RE as ADMIN_ID_RE
from server.protocol.core import parse_topic

REPO = Path(__file__).resolve().parents[2]


def test_both_sides_use_the_shared_definitions():
    assert protocol.TOPIC_ROOT is wire.TOPIC_ROOT and node_msg.TOPIC_ROOT is wire.TOPIC_ROOT
    assert protocol.QOS is wire.QOS and protocol.RETAINED is wire.RETAINED
    assert protocol.NODE_TO_HUB is wire.NODE_TO_HUB and protocol.HUB_TO_NODE is wire.HUB_TO_NODE
    assert protocol.topic is wire.topic and node_msg.topic is wire.topic and node_msg.encode is wire.encode
    assert protocol.PROTOCOL_VERSION == node_msg.VERSION == 1
    assert node_msg.HEALTH_COUNTERS[:len(wire.HEALTH_COUNTERS)] == wire.HEALTH_COUNTERS
    assert NODE_ID_RE.pattern == ADMIN_ID_RE.pattern == protocol.ID_PATTERN == wire.ID_PATTERN


@pytest.mark.parametrize("msg_type", wire.NODE_TO_HUB)
def test_a_topic_the_node_builds_is_the_one_the_hub_parses(msg_type):
    assert parse_topic(node_msg.topic("lane-1_A", msg_type)) == ("lane-1_A", msg_type)


@pytest.mark.parametrize(("node", "msg_type"), [("bad id", "evt"), ("x" * 65, "evt"), ("", "evt"),
                                                ("lane1", "nope"), ("lane1", "evt/x")])
def test_topic_refuses_bad_ids_and_types(node, msg_type):
    with pytest.raises(ValueError):
        wire.topic(node, msg_type)


def test_ids_follow_the_pattern():
    assert wire.is_id("A_b-9") and wire.is_id("x" * 64)
    assert not wire.is_id("x" * 65) and not wire.is_id("a/b") and not wire.is_id("") and not wire.is_id("a\n")
    assert all(bool(wire.is_id(s)) == bool(re.match(wire.ID_PATTERN, s)) for s in ("ok", "no way", "é", "a-"))


def test_encode_is_compact_utf8_and_refuses_nan():
    assert wire.encode({"v": 1, "name": "Zoë"}) == '{"v":1,"name":"Zoë"}'.encode()
    with pytest.raises(ValueError):
        wire.encode({"v": 1, "x": float("nan")})


def test_no_other_module_spells_the_topic_root_or_the_id_pattern():
    """Docstrings may name the topics; code takes them from wire."""
    offenders = []
    for folder in ("server", "firmware_bridge", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "wire.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#")[0]
                if re.search(r"""["']sledhub/v1/node|f["']sledhub/v1/node|\{1,64\}\$?["']\)""", code):
                    offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, offenders
