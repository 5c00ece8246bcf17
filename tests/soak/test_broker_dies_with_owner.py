"""The managed Mosquitto never outlives the process that owns it (issue 15): after ``kill -9`` of
``sledhub demo``, or of a bench-like owner that started the broker from a short-lived thread, the
broker is gone too, instead of being left as an orphan holding its port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import paho.mqtt.client as mqtt
import psutil
import pytest

from bench.soak import DemoProcess
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def _mosquitto_children(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if p.name() == "mosquitto"]


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _kill_if_alive(procs: list[psutil.Process]) -> None:
    """Clean up after a failing run: the orphan must not outlive the test either."""
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def _kill_9_and_expect_broker_gone(owner: subprocess.Popen, brokers: list[psutil.Process]) -> None:
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait(10)
    try:
        wait_for(lambda: all(_gone(b) for b in brokers), 15, 0.05, "the broker to exit after its owner died")
    finally:
        _kill_if_alive(brokers)


def test_kill_9_of_the_demo_stops_its_managed_broker(tmp_path):
    demo = DemoProcess(tmp_path)
    demo.start()
    try:
        brokers = _mosquitto_children(demo.pid)
        assert len(brokers) == 1
        assert brokers[0].is_running()
        _kill_9_and_expect_broker_gone(demo.proc, brokers)
    finally:
        demo.stop()


OWNER = textwrap.dedent("""
    import os, threading, time
    from server.mqtt.broker import ManagedBroker

    holder = []
    t = threading.Thread(target=lambda: holder.append(ManagedBroker(persistence=False).start()))
    t.start(); t.join()
    # the thread that called start() has ended; wait until the kernel has let it go (main + keeper left)
    while len(os.listdir("/proc/self/task")) > 2:
        time.sleep(0.01)
    print(holder[0].port, flush=True)
    time.sleep(600)
""")


def _round_trip(port: int) -> bool:
    """Subscribe, publish and receive one message through the broker on ``port``."""
    got = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="soak-round-trip")
    client.on_message = lambda c, u, msg: got.append(msg.payload)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe("t/x", qos=1)
        wait_for(lambda: client.publish("t/x", b"ping", qos=1) and got, 10, 0.2, "a message through the broker")
    finally:
        client.loop_stop()
        client.disconnect()
    return bool(got)


def test_a_broker_started_from_a_short_lived_thread_lives_until_its_owner_is_killed():
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    brokers: list[psutil.Process] = []
    try:
        port = int(owner.stdout.readline())
        brokers = _mosquitto_children(owner.pid)
        assert len(brokers) == 1
        # the thread that asked for the broker is gone, the broker still works
        assert _round_trip(port)
        assert not _gone(brokers[0])
        _kill_9_and_expect_broker_gone(owner, brokers)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait(10)
        owner.stdout.close()
        _kill_if_alive(brokers)
