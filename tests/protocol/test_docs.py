"""docs/protocol.md runs: every JSON example validates against its schema and the hub accepts it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from server.protocol import NODE_TO_HUB, Protocol, check_command, make_command, make_ping, parse_topic
from tests.protocol.schemas import validator

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```", re.S | re.M)


def examples() -> list[tuple[str, str, dict]]:
    """``(topic, msg_type, message)`` for every ```json block, in document order."""
    out = []
    for lang, info, body in FENCE.findall(DOC.read_text(encoding="utf-8")):
        if lang != "json":
            continue
        tag = re.fullmatch(r"\s*topic=(\S+)\s*", info)
        assert tag, f"a json example without 'topic=...' in its fence: {body[:60]!r}"
        topic = tag.group(1)
        _, msg_type = parse_topic(topic)
        out.append((topic, msg_type, json.loads(body)))
    return out


def shell_commands(program: str) -> list[list[str]]:
    """The ``program`` command lines of the doc's ```sh blocks, split as a shell would."""
    return [shlex.split(line) for lang, _, body in FENCE.findall(DOC.read_text(encoding="utf-8"))
            if lang == "sh" for line in body.splitlines() if line.startswith(program + " ")]


def test_the_doc_has_an_example_of_every_message_type():
    assert {t for _, t, _ in examples()} == set(NODE_TO_HUB) | {"cmd", "clock/ping"}


@pytest.mark.parametrize("topic, msg_type, message", examples(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_example_matches_its_schema(topic, msg_type, message):
    errors = [e.message for e in validator(msg_type).iter_errors(message)]
    assert not errors, errors


def test_node_examples_are_accepted_by_the_hub_in_document_order():
    proto = Protocol()
    node_examples = [(t, m) for t, mt, m in examples() if mt in NODE_TO_HUB]
    for i, (topic, message) in enumerate(node_examples):
        assert proto.handle(topic, json.dumps(message).encode(), rx_us=i), (topic, message, proto.stats())
    stats = proto.stats()
    assert (stats["accepted"], stats["rejected"]) == (len(node_examples), 0)
    assert stats["gaps"] == 0 and stats["undescribed"] == 0  # the doc's seqs and sensors are consistent


def test_command_and_ping_examples_are_what_the_hub_builds():
    for topic, msg_type, message in examples():
        node, _ = parse_topic(topic)
        if msg_type == "cmd":
            check_command(message)
            built = make_command(node, message["cmd"], message.get("sensor"), message.get("params"),
                                 cmd_id=message["id"])
            assert (built.topic, json.loads(built.payload)) == (topic, message)
        elif msg_type == "clock/ping":
            assert make_ping(node, message["n"]) == (topic, json.dumps(message, separators=(",", ":")).encode())


def test_try_it_commands_are_valid_messages():
    """The hand-typed mosquitto_pub lines: each has a topic, and a message that validates (or -n)."""
    commands = shell_commands("mosquitto_pub")
    assert len(commands) >= 6
    for argv in commands:
        topic = argv[argv.index("-t") + 1]
        _, msg_type = parse_topic(topic)
        if "-n" in argv:
            continue
        message = json.loads(argv[argv.index("-m") + 1])
        assert validator(msg_type).is_valid(message), argv


def test_the_topic_table_matches_the_code():
    from server.protocol import QOS, RETAINED
    rows = re.findall(r"^\| `([a-z/]+)` \| (node → hub|hub → node) \| (\d) \| (yes|no) \|", DOC.read_text(encoding="utf-8"),
                      re.M)
    table = {t: (direction, int(qos), retained == "yes") for t, direction, qos, retained in rows}
    assert table == {t: ("node → hub" if t in NODE_TO_HUB else "hub → node", QOS[t], t in RETAINED) for t in QOS}
