"""A frozen hub (SIGSTOP) gets the stall's backlog the moment it runs again (real Mosquitto, F19).

The hub's real ``MqttLink`` runs in a child process so that it can be frozen while nodes publish a busy
gym's traffic. What the broker sent during the freeze must wait in the *hub's* kernel receive buffer:
if it waits in the broker's send queue instead (the hub's TCP window closed), the broker's kernel backs
off its window probes exponentially and, after a stall of a few seconds, the flow resumed only at its
next probe, seconds after the hub was running again (``tests/accuracy/FINDINGS.md`` F19).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from server.hub.service import monotonic_us
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker

FREEZE_S = 3.0
RATE_PER_S = 250        # messages a second from 5 nodes, ~560 bytes each: ~140 kB/s, ~420 kB in the freeze
PAD = "x" * 500
BROKER_HELD_MAX = 64 * 1024
"""Bytes the broker may still hold for the frozen hub at the end of the freeze (one loopback segment)."""
ARRIVAL_S = 1.0
"""The whole backlog must reach the hub's link this soon after SIGCONT (the hub holds its engine clock
for 1.5 s after a stall, so later is late)."""

CHILD = r"""
import sys, time
from server.hub.service import monotonic_us
from server.mqtt.link import MqttLink
out = open(sys.argv[3], "a", buffering=1)
def sink(topic, payload, rx_us):
    out.write(f"{rx_us} {payload[:40].decode().split(',')[0].split(':')[1]}\n")
link = MqttLink(sys.argv[1], int(sys.argv[2]), sink, monotonic_us)
link.state_listeners.append(lambda up: out.write(f"STATE {int(up)}\n"))
link.start()
while True:
    time.sleep(3600)
"""


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_rows() -> list[dict]:
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(name).exists():
            continue
        for line in Path(name).read_text().splitlines()[1:]:
            f = line.split()
            tx, rx = (int(x, 16) for x in f[4].split(":"))
            rows.append({"local": int(f[1].rsplit(":", 1)[1], 16), "remote": int(f[2].rsplit(":", 1)[1], 16),
                         "tx": tx, "rx": rx, "inode": f[9]})
    return rows


def broker_held_bytes(hub_pid: int, broker_port: int) -> int:
    """Bytes the broker's socket to the hub has not had acknowledged (``tx_queue`` of /proc/net/tcp)."""
    rows = _tcp_rows()
    mine = _socket_inodes(hub_pid)
    hub_ports = {r["local"] for r in rows if r["inode"] in mine and r["remote"] == broker_port}
    assert len(hub_ports) == 1, f"the hub's connection to the broker not found: {hub_ports}"
    (hub_port,) = hub_ports
    (row,) = [r for r in rows if r["local"] == broker_port and r["remote"] == hub_port]
    return row["tx"]


def test_a_frozen_hubs_backlog_waits_in_its_own_buffer_and_arrives_at_once(broker, tmp_path):
    received = tmp_path / "rx.txt"
    child = subprocess.Popen([sys.executable, "-c", CHILD, broker.host, str(broker.port), str(received)],
                             cwd=str(Path(__file__).resolve().parents[2]))
    nodes: list[mqtt.Client] = []
    stop = threading.Event()
    published: list[tuple[int, int]] = []   # (seq, pub_us)
    try:
        wait_for(lambda: received.exists() and "STATE 1" in received.read_text(), 15, what="hub link connected")
        for i in range(5):
            node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sledhub-n{i}")
            node.connect(broker.host, broker.port, keepalive=5)
            node.loop_start()
            nodes.append(node)

        def pump() -> None:
            seq, due = 0, time.monotonic()
            while not stop.is_set():
                for i, node in enumerate(nodes):
                    seq += 1
                    kind, qos = ("evt", 1) if seq % 10 == 0 else ("tel", 0)
                    published.append((seq, monotonic_us()))
                    node.publish(f"sledhub/v1/node/n{i}/{kind}", json.dumps({"seq": seq, "pad": PAD}), qos=qos)
                due += len(nodes) / RATE_PER_S
                time.sleep(max(0.0, due - time.monotonic()))

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        wait_for(lambda: received.read_text().count("\n") > RATE_PER_S // 2, 10, what="traffic flowing")

        frozen_us = monotonic_us()
        os.kill(child.pid, signal.SIGSTOP)
        try:
            time.sleep(FREEZE_S)  # the perturbation itself: the hub is frozen this long
            held = broker_held_bytes(child.pid, broker.port)
        finally:
            thawed_us = monotonic_us()
            os.kill(child.pid, signal.SIGCONT)
        during = {seq for seq, pub_us in list(published) if frozen_us <= pub_us < thawed_us - 100_000}
        assert len(during) > RATE_PER_S * FREEZE_S / 2, "the test itself could not publish at the rate it needs"

        assert held <= BROKER_HELD_MAX, (
            f"the broker still held {held} bytes for the frozen hub: its TCP window had closed")

        def arrived() -> bool:
            got = {int(line.split()[1]) for line in received.read_text().splitlines() if not line.startswith("STATE")}
            return during <= got
        wait_for(arrived, ARRIVAL_S, what="the stall's backlog at the hub")
        states = [line for line in received.read_text().splitlines() if line.startswith("STATE")]
        assert states == ["STATE 1"], f"the hub's link reconnected: {states}"
    finally:
        stop.set()
        for node in nodes:
            node.loop_stop()
            node.disconnect()
        os.kill(child.pid, signal.SIGCONT)
        child.terminate()
        child.wait(10)
