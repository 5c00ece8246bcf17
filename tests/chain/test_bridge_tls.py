"""The bridge drop-in's TLS, for real: a throw-away CA signs the central broker's certificate, and the
gym's bridge (the drop-in ``sledhub chain join`` writes, its CA folder pointed at that CA) carries a
result over TLS; with a CA store that does not hold it, the bridge refuses the central broker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server.chain.bridge import render_bridge
from server.mqtt.broker import ManagedBroker, free_port
from tests.deploy.secured_broker import MqttProbe
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(folder: Path) -> Path:
    """ca.crt, and server.crt/server.key for 127.0.0.1 signed by it; returns a hashed CA folder."""
    folder.mkdir()
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=sledhub test CA",
            cwd=folder)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=folder)
    store = folder / "store"
    store.mkdir()
    (store / "ca.pem").write_bytes((folder / "ca.crt").read_bytes())
    openssl("rehash", str(store), cwd=folder)
    return store


@pytest.fixture
def tls_central(tmp_path):
    ca = make_ca(tmp_path / "ca")
    tls_port = free_port()
    central = ManagedBroker(workdir=tmp_path / "central", extra_config=[
        f"listener {tls_port} 127.0.0.1", f"certfile {tmp_path / 'ca' / 'server.crt'}",
        f"keyfile {tmp_path / 'ca' / 'server.key'}", "tls_version tlsv1.2"]).start()
    try:
        yield central, tls_port, ca
    finally:
        central.close()


def bridged_gym(tmp_path: Path, name: str, tls_port: int, ca_path: Path) -> ManagedBroker:
    dropin = render_bridge("gym-a", f"127.0.0.1:{tls_port}", "pw", ca_path=str(ca_path), restart_timeout="1 2")
    assert "bridge_insecure false" in dropin
    return ManagedBroker(workdir=tmp_path / name, extra_config=dropin.splitlines()).start()


def test_a_result_crosses_the_tls_bridge_checked_against_the_ca_folder(tmp_path, tls_central):
    central, tls_port, ca = tls_central
    gym = bridged_gym(tmp_path, "gym", tls_port, ca)
    at_central, at_gym = MqttProbe(central.port, client_id="watch"), MqttProbe(gym.port, client_id="hub")
    try:
        assert at_central.connect() == 0 and at_gym.connect() == 0
        at_central.subscribe("sledhub/v1/chain/#")

        def crossed() -> bool:
            at_gym.publish("sledhub/v1/hub/results/sled1", b"over tls")
            return ("sledhub/v1/chain/gym-a/results/sled1", b"over tls") in at_central.received()
        wait_for(crossed, 15, interval_s=0.2, what="a result over the TLS bridge")
    finally:
        at_central.close()
        at_gym.close()
        gym.close()


def test_a_central_broker_the_ca_folder_does_not_vouch_for_is_refused(tmp_path, tls_central):
    central, tls_port, _ = tls_central
    empty = tmp_path / "other-store"
    empty.mkdir()
    gym = bridged_gym(tmp_path, "gym", tls_port, empty)
    try:
        log = tmp_path / "gym" / "mosquitto.log"
        wait_for(lambda: "certificate verify failed" in log.read_text(errors="replace"), 15,
                 what="the bridge refusing an unknown certificate")
    finally:
        gym.close()
