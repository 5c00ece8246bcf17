"""Store-and-forward: outbox order, bound and persistence; telemetry ring; in-order re-sending."""

from __future__ import annotations

from types import SimpleNamespace

import paho.mqtt.client as mqtt

from firmware_bridge.outbox import Outbox, TelemetryRing
from firmware_bridge.pump import Pump


def test_outbox_keeps_order_and_deletes_on_ack(tmp_path):
    box = Outbox(str(tmp_path / "o.sqlite"), max_events=10)
    try:
        for i in range(5):
            assert box.append("t", f"e{i}".encode())
        rows = box.after(0, 3)
        assert [r.payload for r in rows] == [b"e0", b"e1", b"e2"]
        box.delete(rows[1].row_id)
        assert [r.payload for r in box.after(0, 10)] == [b"e0", b"e2", b"e3", b"e4"]
        assert [r.payload for r in box.after(rows[2].row_id, 10)] == [b"e3", b"e4"]
        assert box.depth == 4
    finally:
        box.close()


def test_outbox_bound_keeps_the_oldest_and_counts_drops():
    box = Outbox(":memory:", max_events=3)
    try:
        results = [box.append("t", str(i).encode()) for i in range(5)]
        assert results == [True, True, True, False, False]
        assert box.dropped == 2
        assert [r.payload for r in box.after(0, 10)] == [b"0", b"1", b"2"]
        box.delete(box.after(0, 1)[0].row_id)
        assert box.append("t", b"5")
        assert [r.payload for r in box.after(0, 10)] == [b"1", b"2", b"5"]
    finally:
        box.close()


def test_outbox_survives_a_restart_in_order(tmp_path):
    path = str(tmp_path / "sub" / "o.sqlite")
    box = Outbox(path, max_events=100)
    for i in range(4):
        box.append("t", bytes([i]))
    box.delete(box.after(0, 1)[0].row_id)
    box.close()
    again = Outbox(path, max_events=100)
    try:
        assert again.depth == 3
        assert [r.payload for r in again.after(0, 10)] == [b"\x01", b"\x02", b"\x03"]
        again.append("t", b"\x04")
        assert again.after(0, 10)[-1].payload == b"\x04"
    finally:
        again.close()


def test_ring_drops_oldest_batches_beyond_its_bound_and_counts_samples():
    ring = TelemetryRing(max_samples=10)
    for i in range(4):
        ring.push("tel", f"b{i}".encode(), 4)
    assert ring.dropped_samples == 8 and ring.samples == 8
    assert ring.pop() == ("tel", b"b2")
    assert ring.pop() == ("tel", b"b3")
    assert ring.pop() is None


class FakeClient:
    """Records publishes; returns increasing mids like paho."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes, int]] = []
        self._mid = 0

    def publish(self, topic, payload, qos=0, retain=False):
        self._mid += 1
        self.sent.append((self._mid, payload, qos))
        return SimpleNamespace(rc=mqtt.MQTT_ERR_SUCCESS, mid=self._mid)


def make_pump(max_inflight=3, max_events=100):
    pump = Pump(Outbox(":memory:", max_events), TelemetryRing(100), max_inflight=max_inflight)
    pump.client = FakeClient()
    return pump


def step(pump):
    pump.persist()
    pump.settle_acks()
    pump.send_events()


def test_pump_sends_in_order_within_the_inflight_window():
    pump = make_pump(max_inflight=3)
    try:
        for i in range(5):
            pump.put_event("evt", bytes([i]))
        step(pump)  # offline: stored, nothing sent
        assert pump.client.sent == [] and pump.outbox.depth == 5
        pump.connected.set()
        step(pump)
        assert [p for _, p, _ in pump.client.sent] == [b"\0", b"\1", b"\2"]
        pump.on_ack(1)
        pump.on_ack(2)
        step(pump)
        assert [p for _, p, _ in pump.client.sent] == [bytes([i]) for i in range(5)]
        assert all(q == 1 for _, _, q in pump.client.sent)
        assert pump.outbox.depth == 3
    finally:
        pump.outbox.close()


def test_pump_waits_for_paho_to_resend_inflight_before_sending_newer_events():
    pump = make_pump(max_inflight=10)
    try:
        pump.connected.set()
        for i in range(3):
            pump.put_event("evt", bytes([i]))
        step(pump)
        pump.on_link_down()                      # rows 0..2 unacknowledged: paho re-sends them (DUP)
        for i in range(3, 6):
            pump.put_event("evt", bytes([i]))
        step(pump)
        pump.connected.set()                     # reconnected
        step(pump)
        assert len(pump.client.sent) == 3        # nothing newer before the old ones are acknowledged
        for mid in (1, 2):
            pump.on_ack(mid)
        step(pump)
        assert len(pump.client.sent) == 3
        pump.on_ack(3)
        step(pump)
        assert [p for _, p, _ in pump.client.sent] == [bytes([i]) for i in range(6)]  # each sent once, in order
    finally:
        pump.outbox.close()


def test_pump_keeps_telemetry_in_the_ring_while_offline():
    pump = make_pump()
    try:
        pump.send_telemetry([("tel", b"a", 2), ("tel", b"b", 2)])
        assert pump.client.sent == [] and len(pump.ring) == 2
        pump.connected.set()
        pump.send_telemetry([("tel", b"c", 1)])
        assert [(p, q) for _, p, q in pump.client.sent] == [(b"a", 0), (b"b", 0), (b"c", 0)]
    finally:
        pump.outbox.close()
