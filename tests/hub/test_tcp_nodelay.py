"""Clock pings and pongs leave at once: no Nagle delay on the broker's or the hub's sockets.

With Nagle's algorithm a pong queued behind an unacknowledged small packet waits for the peer's delayed
ACK (~40 ms); every clock sample of that connection is then ~20 ms off, which min-RTT selection cannot
undo (tests/accuracy/FINDINGS.md F1, the "≈19 ms late" of issue 13). Checked on the sockets themselves, not by timing.
"""

from __future__ import annotations

import socket
from pathlib import Path

from server.mqtt.link import MqttLink
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_managed_broker_and_the_deployed_drop_in_disable_nagle(broker):
    assert "set_tcp_nodelay true" in (broker.workdir / "mosquitto.conf").read_text().splitlines()
    deployed = (ROOT / "deploy/mosquitto/sledhub.conf").read_text().splitlines()
    assert "set_tcp_nodelay true" in deployed


def test_the_hubs_socket_has_tcp_nodelay(broker):
    link = MqttLink(broker.host, broker.port, lambda *a: None, lambda: 0, client_id="nodelay-test")
    link.start()
    try:
        wait_for(link.connected.is_set, 10, what="hub link connected")
        sock = link.client.socket()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        link.stop()

