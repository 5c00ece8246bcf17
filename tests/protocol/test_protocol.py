"""Protocol.handle: every message type's accepted and rejected paths, descriptors, boots, counters."""

from __future__ import annotations

import logging

import pytest

from server.protocol import (
    MAX_PAYLOAD_BYTES, MAX_SAMPLES_PER_BATCH, ClockPong, CommandAck, NodeDescriptor, NodeHealth, NodeStatus,
    Protocol, SensorEvent, SensorInfo, TelemetryBatch, validate,
)
from tests.protocol import factory as f
from tests.protocol.factory import send


@pytest.fixture
def proto() -> Protocol:
    return Protocol()


def described(proto: Protocol) -> Protocol:
    assert send(proto, "status", f.status())
    assert send(proto, "desc", f.desc())
    return proto


def only_reason(proto: Protocol) -> str:
    reasons = proto.stats()["rejected_by_reason"]
    assert sum(reasons.values()) == 1, reasons
    return next(iter(reasons))


# accepted, one per type ------------------------------------------------------------------------

def test_status_online_and_offline(proto):
    assert send(proto, "status", f.status(), rx_us=5) == [NodeStatus("sled1", "online", "b1", 5)]
    assert proto.stats()["nodes"]["sled1"]["state"] == "online"
    assert send(proto, "status", f.status(state="offline"), rx_us=6) == [NodeStatus("sled1", "offline", "b1", 6)]
    assert proto.stats()["nodes"]["sled1"]["state"] == "offline"


def test_descriptor_is_typed(proto):
    [d] = send(proto, "desc", f.desc(), rx_us=9)
    assert isinstance(d, NodeDescriptor) and (d.node, d.boot_id, d.fw) == ("sled1", "b1", "sledhub-bridge 0.1.0")
    assert d.sensors[0] == SensorInfo("lc1", "load_cell", "N", 80.0, {"dout": 5, "sck": 6},
                                      {"offset_counts": 8123, "counts_per_n": 104.2})
    assert d.sensors[2].unit is None and d.sensors[2].rate_hz is None and d.sensors[1].calibration is None
    assert proto.descriptor("sled1") == d
    assert d.to_dict()["sensors"][0]["id"] == "lc1"


def test_event_is_typed(proto):
    described(proto)
    [e] = send(proto, "evt", f.evt(seq=0, detail={"beam": "a"}), rx_us=7)
    assert e == SensorEvent("sled1", "b1", 0, "gate1", "break", 1_000_000, {"beam": "a"}, 7, True)


def test_telemetry_is_typed(proto):
    described(proto)
    [t] = send(proto, "tel", f.tel(seq=0, n=3), rx_us=8)
    assert isinstance(t, TelemetryBatch) and t.described and t.kind == "force" and t.rx_us == 8
    assert t.samples == ((1_000_000, 0.0, 8123), (1_012_500, 10.0, 9165), (1_025_000, 20.0, 10207))
    assert all(type(v) is float for _, v, _ in t.samples)
    assert t.to_dict()["samples"][1] == [1_012_500, 10.0, 9165]


def test_ack_pong_health_are_typed(proto):
    assert send(proto, "ack", f.ack(), 1) == [CommandAck("sled1", "c17", True, {"offset_counts": 8200}, None, 1)]
    assert send(proto, "ack", {"v": 1, "id": "c18", "ok": False, "error": "no such sensor"}, 2) == [
        CommandAck("sled1", "c18", False, None, "no such sensor", 2)]
    assert send(proto, "clock/pong", f.pong(), 3) == [ClockPong("sled1", "b1", 7, 5_000_000, 3)]
    assert send(proto, "clock/pong", f.pong(t_tx_us=5_000_040), 4)[0].t_node_tx_us == 5_000_040
    [h] = send(proto, "health", f.health(), 5)
    assert isinstance(h, NodeHealth) and (h.uptime_s, h.dropped_samples, h.outbox_depth) == (12.5, 3, 2)
    assert h.to_dict()["hx711_overruns"] == 1


def test_unknown_fields_are_ignored_and_integral_floats_are_integers(proto):
    [e] = send(proto, "evt", f.evt(seq=3.0, t_us=1e6, future_field={"x": 1}))
    assert (e.seq, e.t_us) == (3, 1_000_000) and type(e.seq) is int


def test_payload_may_be_str_bytearray_or_memoryview(proto):
    assert proto.handle(f.topic("evt"), f.encode(f.evt(0)).decode(), 0)
    assert proto.handle(f.topic("evt"), bytearray(f.encode(f.evt(1))), 0)
    assert proto.handle(f.topic("evt"), memoryview(f.encode(f.evt(2))), 0)


# rejected, with the reason counted ------------------------------------------------------------

BAD = [
    # (type, payload or object, reason)
    ("evt", b"", "empty_payload"),
    ("evt", b"{", "bad_json"),
    ("evt", b"\xff\xfe{}", "bad_json"),
    ("evt", b"[1, 2]", "bad_json"),
    ("evt", b"\xef\xbb\xbf{}", "bad_json"),  # UTF-8 BOM
    ("evt", b"[" * 50_000, "bad_json"),  # nesting deeper than the parser allows
    ("evt", b'{"v":1,"t_us":NaN}', "bad_number"),
    ("evt", b'{"v":1,"t_us":-Infinity}', "bad_number"),
    ("tel", b'{"v":1,"samples":[[1,1e400,0]]}', "bad_number"),
    ("evt", b"x" * (MAX_PAYLOAD_BYTES + 1), "oversized"),
    ("evt", {k: v for k, v in f.evt().items() if k != "v"}, "missing_field"),
    ("evt", f.evt(v=2), "bad_version"),
    ("evt", f.evt(v=True), "bad_version"),
    ("evt", f.evt(seq=-1), "bad_field"),
    ("evt", f.evt(seq=2**53), "bad_field"),
    ("evt", f.evt(seq="1"), "bad_field"),
    ("evt", f.evt(seq=1.5), "bad_field"),
    ("evt", f.evt(seq=True), "bad_field"),
    ("evt", f.evt(t_us=2**63), "bad_field"),
    ("evt", f.evt(t_us=-5), "bad_field"),
    ("evt", f.evt(sensor="gate 1"), "bad_field"),
    ("evt", f.evt(sensor="g" * 65), "bad_field"),
    ("evt", f.evt(boot_id=""), "bad_field"),
    ("evt", f.evt(kind="blink"), "bad_field"),
    ("evt", f.evt(detail=[1]), "bad_field"),
    ("evt", {k: v for k, v in f.evt().items() if k != "t_us"}, "missing_field"),
    ("tel", f.tel(n=MAX_SAMPLES_PER_BATCH + 1), "too_many_samples"),
    ("tel", f.tel(samples=[]), "bad_field"),
    ("tel", f.tel(samples=[[1, 2.0]]), "bad_field"),
    ("tel", f.tel(samples=[[1, 2.0, 3, 4]]), "bad_field"),
    ("tel", f.tel(samples=[[1, "2", 3]]), "bad_field"),
    ("tel", f.tel(samples=[[1, True, 3]]), "bad_field"),
    ("tel", f.tel(samples=[[1, 2.0, 3.5]]), "bad_field"),
    ("tel", f.tel(samples=[[1, 2.0, 2**63]]), "bad_field"),
    ("tel", f.tel(samples=[[1, 10**400, 3]]), "bad_number"),
    ("tel", f.tel(samples=[[5, 1.0, 0], [4, 1.0, 0]]), "t_us_order"),
    ("tel", f.tel(kind="speed"), "bad_field"),
    ("status", f.status(state="sleeping"), "bad_field"),
    ("status", f.status(node="sled2"), "node_mismatch"),
    ("desc", f.desc(node="sled2"), "node_mismatch"),
    ("desc", f.desc(fw="1.0\n"), "bad_field"),
    ("desc", f.desc(sensors=[dict(f.SENSORS[0], unit="kg")]), "bad_field"),
    ("desc", f.desc(sensors=[dict(f.SENSORS[2], unit="")]), "bad_field"),
    ("desc", f.desc(sensors=[dict(f.SENSORS[0], rate_hz=0)]), "bad_field"),
    ("desc", f.desc(sensors=[dict(f.SENSORS[0], calibration=None)]), "bad_field"),
    ("desc", f.desc(sensors=[{k: v for k, v in f.SENSORS[0].items() if k != "wiring"}]), "missing_field"),
    ("desc", f.desc(sensors=[f.SENSORS[0]] * 33), "bad_field"),
    ("desc", f.desc(sensors=[f.SENSORS[0], f.SENSORS[0]]), "duplicate_sensor"),
    ("ack", {"v": 1, "id": "c1", "ok": False}, "missing_field"),
    ("ack", f.ack(ok="yes"), "bad_field"),
    ("ack", f.ack(error="x" * 257), "bad_field"),
    ("health", f.health(outbox_depth=-1), "bad_field"),
    ("health", f.health(uptime_s=-0.5), "bad_field"),
    ("clock/pong", f.pong(n=None), "bad_field"),
    ("cmd", {"v": 1, "id": "c1", "cmd": "rebirth"}, "wrong_direction"),
    ("clock/ping", {"v": 1, "n": 1}, "wrong_direction"),
]


@pytest.mark.parametrize("msg_type, obj, reason", BAD, ids=[f"{t}-{r}-{i}" for i, (t, _, r) in enumerate(BAD)])
def test_rejected_with_reason(proto, msg_type, obj, reason):
    assert send(proto, msg_type, obj) == []
    stats = proto.stats()
    assert (stats["accepted"], stats["rejected"], only_reason(proto)) == (0, 1, reason)
    assert stats["nodes"]["sled1"]["rejected_by_reason"] == {reason: 1}
    assert reason in validate.SEMANTIC_REASONS | STRUCTURAL_REASONS


STRUCTURAL_REASONS = {"empty_payload", "bad_json", "oversized", "missing_field", "bad_version", "bad_field",
                      "too_many_samples", "wrong_direction"}


@pytest.mark.parametrize("topic, reason", [
    ("sledhub/v1/node/sled1/unknown", "unknown_topic"),
    ("sledhub/v1/node/sled1", "unknown_topic"),
    ("sledhub/v2/node/sled1/evt", "unknown_topic"),
    ("other/topic", "unknown_topic"),
    ("sledhub/v1/node/sled1/evt/extra", "unknown_topic"),
    ("sledhub/v1/node/sled 1/evt", "bad_node_id"),
    ("sledhub/v1/node//evt", "bad_node_id"),
    ("sledhub/v1/node/" + "n" * 65 + "/evt", "bad_node_id"),
    (None, "unknown_topic"),
])
def test_bad_topics(proto, topic, reason):
    assert proto.handle(topic, f.encode(f.evt()), 0) == []
    assert only_reason(proto) == reason
    assert proto.stats()["nodes"] == {}


def test_not_bytes_is_rejected_not_raised(proto):
    assert proto.handle(f.topic("evt"), 12345, 0) == []
    assert only_reason(proto) == "bad_json"


# descriptors: unknown sensors, kinds, "described" ----------------------------------------------

def test_unknown_sensor_is_rejected_once_the_boot_is_described(proto):
    described(proto)
    assert send(proto, "evt", f.evt(sensor="gate9")) == []
    assert only_reason(proto) == "unknown_sensor"


@pytest.mark.parametrize("msg", [
    f.evt(sensor="lc1", kind="break"),          # a load cell cannot break a beam
    f.tel(sensor="enc1", kind="force"),          # an encoder sends position
    f.tel(sensor="gate1", kind="position"),
])
def test_kind_must_fit_the_sensor(proto, msg):
    described(proto)
    assert send(proto, "tel" if "samples" in msg else "evt", msg) == []
    assert only_reason(proto) == "kind_mismatch"


def test_fault_is_allowed_from_any_sensor(proto):
    described(proto)
    assert send(proto, "evt", f.evt(sensor="lc1", kind="fault", detail={"reason": "hx711_timeout"}))


def test_before_any_descriptor_events_are_accepted_but_marked(proto):
    [e] = send(proto, "evt", f.evt(sensor="anything"))
    assert e.described is False
    assert proto.stats()["undescribed"] == 1
    send(proto, "desc", f.desc())
    [e2] = send(proto, "evt", f.evt(seq=1))
    assert e2.described is True and proto.stats()["undescribed"] == 1


def test_descriptor_is_per_boot(proto):
    described(proto)  # boot b1 knows gate1
    [e] = send(proto, "evt", f.evt(boot_id="b2", sensor="newsensor"))  # b2 has no descriptor yet
    assert e.described is False
    send(proto, "desc", f.desc(boot_id="b2", sensors=[dict(f.SENSORS[2], id="newsensor")]))
    assert send(proto, "evt", f.evt(boot_id="b2", seq=1, sensor="gate1")) == []  # not in b2's descriptor
    assert send(proto, "evt", f.evt(boot_id="b1", seq=5, sensor="gate1"))       # b1's still applies to b1


def test_a_new_descriptor_replaces_the_old_one_of_the_same_boot(proto):
    described(proto)
    send(proto, "desc", f.desc(sensors=[f.SENSORS[0]]))
    assert send(proto, "evt", f.evt(sensor="gate1")) == []
    assert proto.descriptor("sled1").sensors == (proto.descriptor("sled1", "b1").sensors[0],)


# boots and status ---------------------------------------------------------------------------

def test_online_sets_the_current_boot_and_a_late_will_of_an_old_boot_is_stale(proto):
    send(proto, "status", f.status(boot_id="b1"))
    send(proto, "status", f.status(boot_id="b2"))
    [s] = send(proto, "status", f.status(boot_id="b1", state="offline"))
    assert s.stale is True
    node = proto.stats()["nodes"]["sled1"]
    assert (node["boot_id"], node["state"]) == ("b2", "online")
    [s] = send(proto, "status", f.status(boot_id="b2", state="offline"))
    assert s.stale is False and proto.stats()["nodes"]["sled1"]["state"] == "offline"


def test_first_boot_heard_of_is_current_until_a_status(proto):
    send(proto, "health", f.health(boot_id="bx"))
    assert proto.stats()["nodes"]["sled1"]["boot_id"] == "bx"
    send(proto, "evt", f.evt(boot_id="by"))
    assert proto.stats()["nodes"]["sled1"]["boot_id"] == "bx"


def test_node_limit(proto):
    small = Protocol(max_nodes=2)
    assert send(small, "evt", f.evt(), node="n1") and send(small, "evt", f.evt(), node="n2")
    assert send(small, "evt", f.evt(), node="n3") == []
    assert small.stats()["rejected_by_reason"] == {"too_many_nodes": 1}
    assert send(small, "evt", f.evt(seq=1), node="n1")


# never raises; counts; logs rate-limited ---------------------------------------------------------

def test_an_internal_error_is_counted_not_raised(proto, monkeypatch, caplog):
    def boom(*args):
        raise KeyError("bug")
    monkeypatch.setitem(validate.CHECKERS, "evt", boom)
    with caplog.at_level(logging.WARNING, logger="server.protocol.core"):
        assert send(proto, "evt", f.evt()) == []
    assert only_reason(proto) == "internal_error"
    assert "internal_error" in caplog.text and "KeyError" in caplog.text


def test_rejections_are_logged_once_per_reason_per_interval(proto, caplog):
    with caplog.at_level(logging.WARNING, logger="server.protocol.core"):
        for i in range(100):
            send(proto, "evt", b"{", rx_us=i * 1000)            # 100 bad_json within 0.1 s
        send(proto, "evt", b"", rx_us=50_000)                   # another reason: logged at once
        send(proto, "evt", b"{", rx_us=10_000_000)              # the interval has passed
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "bad_json" in lines[0] and "empty_payload" in lines[1]
    assert "bad_json" in lines[2] and "+99 more" in lines[2]
    assert proto.stats()["rejected_by_reason"] == {"bad_json": 101, "empty_payload": 1}


def test_stats_per_node(proto):
    described(proto)
    send(proto, "evt", f.evt(seq=0), rx_us=100)
    send(proto, "evt", f.evt(seq=0), rx_us=200)
    send(proto, "tel", f.tel(seq=3), rx_us=300)
    send(proto, "tel", b"nope", rx_us=400)
    s = proto.stats()
    node = s["nodes"]["sled1"]
    assert (s["accepted"], s["rejected"], s["duplicates"], s["gaps"]) == (4, 2, 1, 2)
    assert s["accepted_by_type"] == {"status": 1, "desc": 1, "evt": 1, "tel": 1}
    assert node == {"boot_id": "b1", "state": "online", "described": True, "last_seen_rx_us": 400, "msgs": 6,
                    "accepted": 4, "rejected": 2, "rejected_by_reason": {"duplicate": 1, "bad_json": 1},
                    "duplicates": 1, "late": 0, "gaps": 2}


def test_a_topic_that_is_not_a_string_is_an_unknown_topic_every_time():
    """Parsed topics are remembered (``TOPIC_CACHE``); a topic that is no ``str`` (not even hashable)
    must still be an ``unknown_topic``, not an internal error."""
    from server.protocol.core import Protocol

    p = Protocol()
    for topic in (["sledhub", "v1"], b"sledhub/v1/node/a/tel", None):
        assert p.handle(topic, b"{}", 1) == []
    assert p.stats()["rejected_by_reason"] == {"unknown_topic": 3}
