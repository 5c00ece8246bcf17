"""The node against a real Mosquitto: birth messages, events in order across a broker outage,
telemetry, commands, clock pings and health."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware_bridge.clock import NodeClock
from firmware_bridge.fakes import FakeBeam, FakeEncoderWheel, FakeHX711
from firmware_bridge.node import Node
from tests.bridge.helpers import Spy, node_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker

BEAM = {"id": "start", "kind": "beam", "pin": 22, "holdoff_s": 0.0}
WHEEL = {"id": "wheel", "kind": "encoder", "a": 17, "b": 27, "counts_per_m": 400.0}
CELL = {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, "rate_hz": 80,
        "scale_counts_per_n": 100.0, "offset_counts": 0}
TOPIC = "sledhub/v1/node/n1/"


@pytest.fixture
def running(request):
    """Start nodes made in a test and stop them afterwards, even when the test fails."""
    nodes = []

    def start(node):
        nodes.append(node)
        node.start()
        wait_for(lambda: node.connected, 5, what="node connected")
        return node

    yield start
    for node in nodes:
        node.stop()


def test_birth_is_retained_status_and_desc(broker, factory, spy, running):
    node = running(Node(node_config(broker, [BEAM, WHEEL]), pin_factory=factory))
    wait_for(lambda: spy.of("desc"), 5, what="desc stored by the broker")
    late = Spy(broker, client_id="late")  # subscribes after the node: sees only retained messages
    try:
        wait_for(lambda: late.of("status") and late.of("desc"), 5, what="retained birth")
        retained = {t.rsplit("/", 1)[-1] for t, _, r in late.messages if r}
    finally:
        late.close()
    assert {"status", "desc"} <= retained
    assert late.of("status")[-1] == {"v": 1, "node": "n1", "state": "online", "boot_id": node.boot_id}
    desc = late.of("desc")[-1]
    assert desc["boot_id"] == node.boot_id and desc["fw"].startswith("sledhub-bridge")
    assert desc["sensors"] == [
        {"id": "start", "kind": "beam", "unit": None, "rate_hz": None,
         "wiring": {"pin": 22, "broken_level": "low", "pull": "up"}, "calibration": {"holdoff_s": 0.0}},
        {"id": "wheel", "kind": "encoder", "unit": "m", "rate_hz": None, "wiring": {"a": 17, "b": 27, "pull_up": True},
         "calibration": {"counts_per_m": 400.0, "invert": False}},
    ]


def test_clean_stop_publishes_offline(broker, factory, spy):
    node = Node(node_config(broker, [BEAM]), pin_factory=factory)
    node.start()
    wait_for(lambda: node.connected, 5)
    node.stop()
    wait_for(lambda: spy.of("status") and spy.of("status")[-1]["state"] == "offline", 5, what="offline status")


def evt_seqs(spy):
    return [p["seq"] for p in spy.of("evt")]


def record_event_publishes(node) -> list[int]:
    """Wrap the node's paho ``publish`` to record the seq of every evt the node hands to paho
    (paho's own DUP re-sends after a reconnect do not pass through it)."""
    published: list[int] = []
    client = node.pump.client
    real_publish = client.publish

    def publish(topic, payload=None, qos=0, retain=False, properties=None):
        if topic.endswith("/evt"):
            published.append(json.loads(payload)["seq"])
        return real_publish(topic, payload, qos, retain, properties)

    client.publish = publish
    return published


def first_occurrences(seqs):
    seen: set[int] = set()
    return [s for s in seqs if not (s in seen or seen.add(s))]


def test_events_survive_a_broker_outage_in_order_without_duplicates(broker, factory, running):
    spy = Spy(broker, persistent=True, client_id="spy-persistent")
    beam = FakeBeam(factory, 22)
    node = running(Node(node_config(broker, [BEAM]), pin_factory=factory))
    published = record_event_publishes(node)
    t0 = factory.ticks()
    try:
        for i in range(5):
            beam.break_(t0 + i)
            beam.restore(t0 + i + 0.5)
        wait_for(lambda: len(spy.of("evt")) == 10 and node.pump.outbox.depth == 0, 5, what="first 10 events")
        broker.stop()
        wait_for(lambda: not node.connected, 5, what="node sees the broker gone")
        for i in range(5, 15):
            beam.break_(t0 + i)
            beam.restore(t0 + i + 0.5)
        wait_for(lambda: node.pump.outbox.depth == 20, 5, what="offline events stored")
        broker.start()
        try:
            wait_for(lambda: len(set(evt_seqs(spy))) == 30 and node.pump.outbox.depth == 0, 15, what="all 30 events")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: got seqs {evt_seqs(spy)}; node connected {node.connected}, outbox "
                                 f"{node.pump.outbox.depth}, in flight {node.pump.inflight}") from None
    finally:
        spy.close()
    assert published == list(range(30))  # the node sent each event once, in order
    # The spy may see a redelivery of messages the broker had not seen it acknowledge before the stop
    # (QoS 1 on the broker-to-spy leg); what it saw first is every event, in order.
    assert first_occurrences(evt_seqs(spy)) == list(range(30))
    events = {e["seq"]: e for e in spy.of("evt")}
    assert [events[s]["kind"] for s in range(30)] == ["break", "restore"] * 15
    assert [events[s]["t_us"] for s in range(0, 30, 2)] == [round((t0 + i) * 1e6) for i in range(15)]
    assert {e["boot_id"] for e in events.values()} == {node.boot_id}
    assert spy.of("status")[-1]["state"] == "online"  # re-born after the reconnect
    assert len(spy.of("desc")) >= 2


def test_telemetry_is_batched_and_shares_seq_with_events(broker, factory, spy, running):
    wheel = FakeEncoderWheel(factory, 17, 27)
    beam = FakeBeam(factory, 22)
    running(Node(node_config(broker, [BEAM, WHEEL], telemetry={"batch_max_samples": 16}),
                 pin_factory=factory))
    start = factory.ticks()
    wheel.move_counts(40, start_tick=start, interval_s=0.001)
    beam.break_(start + 0.5)
    wait_for(lambda: sum(len(p["samples"]) for p in spy.of("tel")) == 40 and spy.of("evt"), 5, what="telemetry")
    tel = spy.of("tel")
    samples = [s for p in tel for s in p["samples"]]
    assert all(len(p["samples"]) <= 16 and p["kind"] == "position" and p["sensor"] == "wheel" for p in tel)
    assert samples[0] == [round(start * 1e6), 0.0025, 1]
    assert samples[-1][1:] == [0.1, 40]
    seqs = sorted([p["seq"] for p in tel] + [p["seq"] for p in spy.of("evt")])
    assert seqs == list(range(len(seqs)))


def command(spy, body):
    wait_for(lambda: spy.of("desc"), 5, what="birth (the node has subscribed)")
    spy.publish(TOPIC + "cmd", {"v": 1, **body})
    wait_for(lambda: any(a["id"] == body["id"] for a in spy.of("ack")), 5, what=f"ack of {body['id']}")
    return next(a for a in spy.of("ack") if a["id"] == body["id"])


def test_commands_are_applied_and_acknowledged(broker, factory, spy, running, step_clock):
    chip = FakeHX711(factory, 5, 6, source=lambda: 2.0, scale_counts_per_n=100.0, offset_counts=50,
                     rate_hz=200, clock_ns=step_clock)
    node = running(Node(node_config(broker, [CELL, WHEEL, {**BEAM, "holdoff_s": 0.5}]), pin_factory=factory,
                        clock_ns=step_clock))
    chip.start()
    try:
        tare = command(spy, {"id": "c1", "cmd": "tare", "sensor": "force", "params": {"samples": 3}})
        assert tare == {"v": 1, "id": "c1", "ok": True, "result": {"offset_counts": 250.0, "samples": 3}}
        cal = command(spy, {"id": "c2", "cmd": "calibrate", "sensor": "wheel", "params": {"counts_per_m": 200, "invert": True}})
        assert cal["ok"] and cal["result"] == {"counts_per_m": 200, "invert": True}
        conf = command(spy, {"id": "c3", "cmd": "configure", "sensor": "start", "params": {"holdoff_s": 0.25}})
        assert conf["result"]["holdoff_s"] == 0.25
        rate = command(spy, {"id": "c4", "cmd": "set_rate", "params": {"rate_hz": 10}})  # the only load cell
        assert rate == {"v": 1, "id": "c4", "ok": False,
                        "error": "unsupported: force: the rate is wired on the board (80 /s); no rate_pin"}
        assert command(spy, {"id": "c5", "cmd": "spin", "sensor": "wheel"})["error"] == "unsupported: unknown command 'spin'"
        assert command(spy, {"id": "c6", "cmd": "tare", "sensor": "nope"})["error"].startswith("unknown_sensor: no sensor")
        assert command(spy, {"id": "c7", "cmd": "tare", "sensor": "wheel"})["error"].startswith("unsupported: ")
        assert command(spy, {"id": "c8", "cmd": "configure", "sensor": "start", "params": {"holdoff_s": "x"}})["ok"] is False
        births = len(spy.of("status"))
        assert command(spy, {"id": "c9", "cmd": "rebirth"})["result"] == {"boot_id": node.boot_id}
        wait_for(lambda: len(spy.of("status")) > births, 5, what="rebirth status")
    finally:
        chip.close()
    desc = spy.of("desc")[-1]
    sensors = {s["id"]: s for s in desc["sensors"]}
    assert sensors["force"]["calibration"]["offset_counts"] == 250.0
    assert sensors["wheel"]["calibration"] == {"counts_per_m": 200, "invert": True}
    assert sensors["start"]["calibration"] == {"holdoff_s": 0.25}
    forces = [s[1] for p in spy.of("tel") if p["sensor"] == "force" for s in p["samples"]]
    assert forces and forces[-1] == pytest.approx(0.0)  # tared: 2 N on the cell now reads 0


def test_ping_is_answered_with_the_node_clock(broker, factory, spy, running):
    offset = 7_000_000_000
    clock = NodeClock(factory, offset_us=offset)
    beam = FakeBeam(factory, 22)
    node = running(Node(node_config(broker, [BEAM]), pin_factory=factory, clock_us=clock))
    wait_for(lambda: spy.of("desc"), 5, what="birth (the node has subscribed)")
    spy.publish(TOPIC + "clock/ping", {"v": 1, "n": 7}, qos=0)
    wait_for(lambda: spy.of("clock/pong"), 5, what="pong")
    pong = spy.of("clock/pong")[0]
    now_us = round(factory.ticks() * 1e6) + offset
    assert pong["boot_id"] == node.boot_id and pong["n"] == 7
    assert now_us - 5_000_000 < pong["t_us"] <= pong["t_tx_us"] <= now_us
    tick = factory.ticks()
    beam.break_(tick)
    wait_for(lambda: spy.of("evt"), 5)
    assert spy.of("evt")[0]["t_us"] == round(tick * 1e6) + offset  # edges and pongs: one clock


def test_health_reports_counters(broker, factory, spy, running):
    wheel = FakeEncoderWheel(factory, 17, 27)
    node = running(Node(node_config(broker, [WHEEL], node={"health_interval_s": 0.05}), pin_factory=factory))
    wheel.glitch()
    wait_for(lambda: any(h["encoder_errors"] == 1 for h in spy.of("health")), 5, what="health with the error")
    health = spy.of("health")[-1]
    assert set(health) == {"v", "node", "boot_id", "uptime_s", "dropped_events", "dropped_samples",
                           "hx711_overruns", "hx711_faults", "encoder_errors", "outbox_depth", "beam_ignored"}
    assert health["boot_id"] == node.boot_id and health["uptime_s"] >= 0


def test_events_beyond_the_outbox_bound_are_dropped_and_counted(factory):
    beam = FakeBeam(factory, 22)
    node = Node(node_config(None, [BEAM], outbox={"max_events": 4}), pin_factory=factory)  # no broker at all
    node.start()
    try:
        for _ in range(5):
            beam.break_()
            beam.restore()
        wait_for(lambda: node.pump.outbox.depth == 4 and node.stats()["dropped_events"] == 6, 5, what="drops")
    finally:
        node.stop()


SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_every_message_matches_the_protocol_schemas(broker, factory, spy, running, step_clock):
    from jsonschema import Draft202012Validator

    chip = FakeHX711(factory, 5, 6, source=lambda: 1.0, scale_counts_per_n=100.0, rate_hz=200, clock_ns=step_clock)
    upper, lower = FakeBeam(factory, 23), FakeBeam(factory, 24)
    wheel = FakeEncoderWheel(factory, 17, 27)
    sensors = [{**CELL, "rate_pin": 13}, WHEEL, {"id": "finish", "kind": "dual_beam", "pins": [23, 24]}]
    node = running(Node(node_config(broker, sensors, node={"health_interval_s": 0.05}), pin_factory=factory,
                        clock_ns=step_clock))
    chip.start()
    try:
        t = factory.ticks()
        upper.break_(t)
        lower.break_(t + 0.005)
        wheel.move_counts(3)
        wait_for(lambda: {p["sensor"] for p in spy.of("tel")} == {"force", "wheel"}, 5, what="telemetry")
        chip.saturate("high")
        command(spy, {"id": "c1", "cmd": "set_rate", "sensor": "force", "params": {"rate_hz": 10}})
        command(spy, {"id": "c2", "cmd": "configure", "sensor": "wheel", "params": {"invert": "yes"}})
        spy.publish(TOPIC + "clock/ping", {"v": 1, "n": 1}, qos=0)
        wait_for(lambda: spy.of("clock/pong") and spy.of("health") and len(spy.of("evt")) >= 2, 5,
                 what="one of each")
    finally:
        chip.close()
    checked = set()
    for suffix in ("status", "desc", "evt", "tel", "ack", "health", "clock/pong"):
        schema = json.loads((SCHEMAS / (suffix.replace("clock/", "clock_") + ".json")).read_text())
        validator = Draft202012Validator(schema)
        for body in spy.of(suffix):
            errors = [e.message for e in validator.iter_errors(body)]
            assert not errors, (suffix, body, errors)
            checked.add(suffix)
    assert checked == {"status", "desc", "evt", "tel", "ack", "health", "clock/pong"}
    kinds = {e["kind"] for e in spy.of("evt")}
    assert kinds == {"break", "fault"} and node.boot_id
