"""``MqttLink.publish_stamped``: every message it sends reports once, with the hub time it left."""

from __future__ import annotations

import threading

from server.hub.service import monotonic_us
from server.mqtt.link import MAX_WAITING, MqttLink
from tests.support.waiting import wait_for


def test_each_stamped_publish_reports_once_after_it_was_handed_over(broker):
    link = MqttLink(broker.host, broker.port, lambda *a: None, monotonic_us, client_id="stamp-test")
    link.start()
    reports: dict[int, list[int]] = {}
    lock = threading.Lock()

    def on_sent(i: int, before: int):
        def report(tx_us: int) -> None:
            with lock:
                reports.setdefault(i, []).append(tx_us - before)
        return report
    try:
        wait_for(link.connected.is_set, 10, what="link connected")
        for i in range(200):
            before = monotonic_us()
            assert link.publish_stamped(f"sledhub/v1/node/x{i % 3}/clock/ping", b'{"v":1,"n":1}', on_sent(i, before))
        wait_for(lambda: len(reports) == 200, 10, what="every publish reported")
        with lock:
            assert all(len(r) == 1 and r[0] >= 0 for r in reports.values())
    finally:
        link.stop()


def test_stamped_publishes_never_sent_are_not_kept_for_ever(broker):
    """paho drops what it had not written when it reconnects; those publishes never report. The link
    keeps at most ``MAX_WAITING`` of them (here paho's thread is held in a callback, so nothing more
    is written meanwhile); the ones it still holds report once written, the others never do."""
    link = MqttLink(broker.host, broker.port, lambda *a: None, monotonic_us, client_id="stamp-unsent")
    link.start()
    gate, held = threading.Event(), threading.Event()
    reported: list[int] = []

    def hold(tx_us: int) -> None:  # the first publish's report: paho's thread waits here
        if threading.current_thread() is link.client._thread:
            held.set()
            gate.wait(10)
    try:
        wait_for(link.connected.is_set, 10, what="link connected")
        assert link.publish_stamped("sledhub/v1/node/x/clock/ping", b'{"v":1,"n":0}', hold)
        wait_for(held.is_set, 10, what="paho's thread held in a report")
        for i in range(MAX_WAITING + 50):
            assert link.publish_stamped("sledhub/v1/node/x/clock/ping", b'{"v":1,"n":1}',
                                        lambda tx_us, i=i: reported.append(i))
        assert len(link._waiting) == MAX_WAITING
        gate.set()
        wait_for(lambda: len(reported) == MAX_WAITING, 10, what="the publishes still waited for reported")
        assert sorted(reported) == list(range(50, MAX_WAITING + 50))  # the oldest 50 were let go
    finally:
        gate.set()
        link.stop()
