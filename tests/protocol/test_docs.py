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


def _result_keys_in_table() -> dict[str, set[str]]:
    """``cmd`` → the keys of its ``result`` in the §8 table, for commands whose result is one object."""
    out = {}
    for cmd, result in re.findall(r"^\| `([a-z_]+)` \|.*\| ([^|]*) \|$", DOC.read_text(encoding="utf-8"), re.M):
        objects = re.findall(r"`\{([^`]*)\}`", result)
        if len(objects) == 1:
            out[cmd] = set(re.findall(r'"([a-z_]+)"', objects[0]))
    return out


def test_each_ack_example_has_the_result_fields_its_command_row_lists():
    """E.g. the ``tare`` ack example carries ``offset_counts`` and ``samples``, as the table requires."""
    table = _result_keys_in_table()
    assert table["tare"] == {"offset_counts", "samples"}
    cmds = {m["id"]: m["cmd"] for _, t, m in examples() if t == "cmd"}
    checked = 0
    for _, msg_type, message in examples():
        if msg_type == "ack" and message["ok"] and cmds.get(message["id"]) in table:
            assert set(message["result"]) >= table[cmds[message["id"]]], message
            checked += 1
    assert checked >= 1


@pytest.mark.broker
def test_every_example_goes_through_a_real_broker(tmp_path, broker):
    """Every example of docs/protocol.md, published as the doc says (topic, QoS, retained) through a real
    Mosquitto: the hub accepts each node → hub one, and a node subscribed to its topics gets each hub → node
    one unchanged."""
    import threading
    import urllib.request
    from dataclasses import replace

    import paho.mqtt.client as mqtt

    from server.app import create_app
    from server.config import Config
    from server.protocol import QOS, RETAINED
    from tests.support.waiting import wait_for

    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "hub.db"))),
                     broker=(broker.host, broker.port))
    port = app.serve_in_thread("127.0.0.1", 0)
    app.start()
    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sledhub-sled1")
    got: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def on_message(client, userdata, msg):
        with lock:
            got.append((msg.topic, json.loads(msg.payload)))
    node.on_message = on_message
    subscribed = threading.Event()
    node.on_subscribe = lambda *args: subscribed.set()
    try:
        wait_for(app.broker_connected, 10, what="hub connected to the broker")
        node.connect(broker.host, broker.port)
        node.loop_start()
        wait_for(node.is_connected, 10, what="node connected")
        node.subscribe([("sledhub/v1/node/sled1/cmd", 1), ("sledhub/v1/node/sled1/clock/ping", 0)])
        assert subscribed.wait(10), "no SUBACK for the node's cmd and clock/ping"
        sent_to_node, sent_to_hub = [], 0
        for topic, msg_type, message in examples():
            info = node.publish(topic, json.dumps(message), qos=QOS[msg_type], retain=msg_type in RETAINED)
            info.wait_for_publish(5)
            if msg_type in NODE_TO_HUB:
                sent_to_hub += 1
            else:
                sent_to_node.append((topic, message))

        def health():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
                return json.loads(r.read())
        h = wait_for(lambda: (h := health())["messages_accepted"] >= sent_to_hub and h, 10, what="the hub took them")
        assert (h["messages_accepted"], h["messages_rejected"]) == (sent_to_hub, 0), h
        wait_for(lambda: all(m in got for m in sent_to_node), 10, what="the node received every command and ping")
    finally:
        node.loop_stop()
        node.disconnect()
        app.stop()
