"""The sledhub-bridge command line, and properties of the fakes the simulator relies on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from firmware_bridge.cli import main
from firmware_bridge.fakes import FakeBeam, FakeHX711, fake_pin
from firmware_bridge.hx711 import HX711
from tests.bridge.helpers import Spy
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_bad_config_exits_2_naming_the_problem(tmp_path, capsys):
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "n1"\n[[sensor]]\nid = "x"\nkind = "laser"\n')
    assert main(["--config", str(path)]) == 2
    assert "node.toml: [[sensor]] #1 'x': unknown kind 'laser'" in capsys.readouterr().err


def start_dry_run(broker, tmp_path) -> subprocess.Popen:
    example = (ROOT / "firmware_bridge" / "examples" / "sled-node.toml").read_text()
    config = tmp_path / "node.toml"
    config.write_text(example.replace('host = "sledhub.local"', f'host = "{broker.host}"')
                      .replace("port = 1883", f"port = {broker.port}"))
    return subprocess.Popen([sys.executable, "-m", "firmware_bridge.cli", "--config", str(config), "--mock"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONWARNINGS": "error"})


@pytest.mark.broker
def test_mock_dry_run_connects_and_stops_cleanly_on_sigterm(broker, tmp_path):
    spy = Spy(broker)
    proc = start_dry_run(broker, tmp_path)
    try:
        wait_for(lambda: spy.of("tel", node="sled1"), 15, what="telemetry from the dry run")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        wait_for(lambda: spy.of("status", node="sled1")[-1]["state"] == "offline", 5, what="offline status")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not proc.stdout.closed:
            proc.stdout.close()
        spy.close()
    assert proc.returncode == 0, out.decode()
    assert spy.of("tel", node="sled1")[0]["samples"][0][1] == pytest.approx(0.0)


@pytest.mark.broker
def test_a_killed_node_is_reported_offline_by_its_last_will(broker, tmp_path):
    spy = Spy(broker)
    proc = start_dry_run(broker, tmp_path)
    try:
        wait_for(lambda: spy.of("status", node="sled1"), 15, what="online status")
        boot_id = spy.of("status", node="sled1")[-1]["boot_id"]
        proc.kill()
        proc.wait(10)
        wait_for(lambda: spy.of("status", node="sled1")[-1]["state"] == "offline", 10, what="last will")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        spy.close()
    assert spy.of("status", node="sled1")[-1] == {"v": 1, "node": "sled1", "state": "offline", "boot_id": boot_id}


def test_several_mock_factories_coexist():
    f1, f2 = MockFactory(), MockFactory()
    a = DigitalInputDevice(17, pin_factory=f1)
    b = DigitalInputDevice(17, pin_factory=f2)
    try:
        f1.pin(17).drive_high()
        assert (a.value, b.value) == (1, 0)
    finally:
        a.close()
        b.close()
        f1.close()
        f2.close()


def test_fake_made_after_its_driver_is_refused():
    f = MockFactory()
    dev = DigitalInputDevice(22, pin_factory=f)
    try:
        with pytest.raises(TypeError, match="create the fake before the driver"):
            FakeBeam(f, 22)
    finally:
        dev.close()
        f.close()


def test_fake_pin_reports_the_given_tick(factory):
    pin = fake_pin(factory, 4)
    seen = []

    def on_change(ticks, state):  # gpiozero keeps only a weak reference: hold this one
        seen.append((ticks, state))

    dev = DigitalInputDevice(4, pin_factory=factory)
    dev.pin.when_changed = on_change
    try:
        pin.drive(True, 123.25)
        pin.drive(True, 124.0)  # no change, no edge
        pin.drive(False)
    finally:
        dev.close()
    assert len(seen) == 2
    assert seen[0] == (123.25, 1)
    assert seen[1][1] == 0 and seen[1][0] != 123.25  # no tick given: the factory's ticks


def test_free_running_fake_converts_at_its_rate(factory):
    fake = FakeHX711(factory, 5, 6, source=lambda: 77, rate_hz=200)
    driver = HX711(5, 6, pin_factory=factory, rate_hz=80)
    fake.start()
    try:
        counts = driver.read_counts(5, timeout_s=5)
    finally:
        fake.close()
        driver.close()
    assert counts == [77] * 5
    assert fake.conversions >= 5


def test_node_that_cannot_open_its_outbox_releases_its_pins(factory, tmp_path):
    from firmware_bridge.node import Node
    from tests.bridge.helpers import node_config

    blocker = tmp_path / "file"
    blocker.write_text("")
    config = node_config(None, [{"id": "start", "kind": "beam", "pin": 22}])
    with pytest.raises(OSError):  # its directory cannot be made: a file is in the way
        Node(config, pin_factory=factory, outbox_path=str(blocker / "outbox.sqlite"))
    again = Node(config, pin_factory=factory)  # GPIO22 is free again
    again.stop()
