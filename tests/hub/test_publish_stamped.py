"""``MqttLink.publish_stamped``: every message it sends reports once, with the hub time it left."""

from __future__ import annotations

import threading

from server.hub import monotonic_us
from server.mqtt_link import MqttLink
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
