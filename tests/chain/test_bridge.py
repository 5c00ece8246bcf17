"""The bridge drop-in ``sledhub chain join`` writes: Mosquitto parses the TLS form, and on a real
bridge only results cross, each way; nothing published on the central broker reaches a gym's nodes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.chain.bridge import JoinError, render_bridge
from server.cli import main
from server.mqtt.broker import BrokerError, ManagedBroker, free_port
from tests.deploy.secured_broker import MqttProbe, dropin_directives
from tests.support.waiting import wait_for


def test_join_writes_the_drop_in_with_tls_on_the_system_ca_store(tmp_path, capsys):
    (tmp_path / "pw").write_text("s3cret\n")
    out = tmp_path / "sledhub-bridge.conf"
    assert main(["chain", "join", "--gym-id", "gym-ams", "--club", 'Noord "A"', "--central", "mqtt.example.net:8883",
                 "--password-file", str(tmp_path / "pw"), "--out", str(out)]) == 0
    d = dropin_directives(out.read_text())
    assert d["address"] == ["mqtt.example.net:8883"] and d["remote_username"] == ["gym-ams"]
    assert d["remote_clientid"] == ["gym-ams"] and d["remote_password"] == ["s3cret"]
    assert d["bridge_capath"] == ["/etc/ssl/certs"] and d["bridge_insecure"] == ["false"]
    assert d["cleansession"] == ["false"]
    assert d["topic"] == ["results/+ out 1 sledhub/v1/hub/ sledhub/v1/chain/gym-ams/",
                          "+/results/+ in 1 sledhub/v1/chain/ sledhub/v1/chain/"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # it holds the gym's secret
    assert 'gym_id = "gym-ams"\nclub = "Noord \\"A\\""' in capsys.readouterr().out


@pytest.mark.parametrize("gym_id, central, password", [
    ("gym/ams", "h:8883", "pw"), ("gym", "no-port", "pw"), ("gym", "h:99999", "pw"), ("gym", "h:8883", "two words"),
])
def test_join_refuses_bad_arguments(gym_id, central, password):
    with pytest.raises(JoinError):
        render_bridge(gym_id, central, password)


@pytest.mark.broker
def test_mosquitto_parses_the_tls_drop_in_and_refuses_a_broken_one(tmp_path):
    dropin = render_bridge("gym-ams", f"127.0.0.1:{free_port()}", "s3cret").splitlines()
    with ManagedBroker(workdir=tmp_path / "ok", extra_config=dropin) as broker:
        log = tmp_path / "ok" / "mosquitto.log"
        # it parsed the file and went on to try the (closed) central port
        wait_for(lambda: "bridge" in log.read_text(), 5, what="the broker trying its bridge")
        assert broker.running
    broken = [line.replace("bridge_insecure false", "bridge_insecure perhaps") for line in dropin]  # it can fail
    refused = ManagedBroker(workdir=tmp_path / "broken", extra_config=broken)
    with pytest.raises(BrokerError):
        refused.start(timeout_s=3)
    refused.close()
    assert "Invalid bridge_insecure value" in (tmp_path / "broken" / "mosquitto.log").read_text()


@pytest.fixture
def bridged(tmp_path):
    """A central broker and one gym's broker bridged to it (the drop-in as written, without TLS)."""
    central = ManagedBroker(workdir=tmp_path / "central").start()
    gym = ManagedBroker(workdir=tmp_path / "gym", extra_config=render_bridge(
        "gym-a", central.address, "pw", tls=False, restart_timeout="1 2").splitlines())
    probes: list[MqttProbe] = []

    def probe(broker: ManagedBroker, *topics: str) -> MqttProbe:
        p = MqttProbe(broker.port, client_id=f"probe{len(probes)}")
        probes.append(p)
        assert p.connect() == 0
        if topics:
            p.subscribe(*topics)
        return p
    try:
        gym.start()
        yield central, gym, probe
    finally:
        for p in probes:
            p.close()
        gym.close()
        central.close()


@pytest.mark.broker
def test_nothing_central_reaches_a_gyms_nodes_and_only_results_cross(bridged):
    central, gym, probe = bridged
    at_gym, at_central = probe(gym, "#"), probe(central, "#")
    from_central, from_gym = probe(central), probe(gym)
    other_gym = "sledhub/v1/chain/gym-b/results/sled2"
    wait_for(lambda: (from_central.publish(other_gym, b"probe"), (other_gym, b"probe") in at_gym.received())[1],
             15, interval_s=0.2, what="the bridge up")
    forged = ["sledhub/v1/node/sled1/cmd", "sledhub/v1/node/sled1/clock/ping", "sledhub/v1/node/sled1/status",
              "sledhub/v1/hub/results/sled1", "sledhub/v1/chain/gym-b/cmd", "sledhub/v1/chain/gym-b/results/a/b",
              "sledhub/v1/chain/gym-a/node/sled1/cmd", "gyms/gym-a/sledhub/v1/node/sled1/cmd"]
    for topic in forged:
        from_central.publish(topic, b"forged")
    from_central.publish(other_gym, b"marker")  # after the forgeries, on the same bridge connection
    for topic in ("sledhub/v1/node/sled1/evt", "sledhub/v1/node/sled1/tel", "sledhub/v1/chain/gym-a/results/x"):
        from_gym.publish(topic, b"local")
    from_gym.publish("sledhub/v1/hub/results/sled1", b"result")
    wait_for(lambda: (other_gym, b"marker") in at_gym.received(), 5, what="the marker at the gym")
    wait_for(lambda: ("sledhub/v1/chain/gym-a/results/sled1", b"result") in at_central.received(), 5,
             what="the gym's result at the central broker")
    assert [t for t, p in at_gym.received() if p == b"forged"] == []
    assert [t for t, p in at_central.received() if p == b"local"] == []


@pytest.mark.broker
def test_the_shipped_acl_lets_the_hub_publish_its_results_and_no_node(tmp_path):
    from server.mqtt import nodeadmin
    from tests.deploy.secured_broker import SecuredBroker
    broker = SecuredBroker(workdir=tmp_path / "mosquitto")
    broker.workdir.mkdir()
    passwords = {user: nodeadmin.generate_password() for user in ("hub", "monitor")}
    for user, password in passwords.items():
        nodeadmin.set_broker_password(broker.passwd_file, user, password)
    passwords["sled1"] = nodeadmin.add_node("sled1", broker.passwd_file, "127.0.0.1").password
    broker.start()
    probes = [MqttProbe(broker.port, user, passwords[user], client_id=user) for user in ("monitor", "hub", "sled1")]
    try:
        monitor, hub, node = probes
        for p in probes:
            assert p.connect() == 0
        monitor.subscribe("sledhub/v1/#")
        node.publish("sledhub/v1/hub/results/sled1", b"forged")
        hub.publish("sledhub/v1/hub/results/sled1", b"result")
        wait_for(lambda: monitor.received(), 5, what="the hub's result at the monitor")
        assert monitor.received() == [("sledhub/v1/hub/results/sled1", b"result")]
    finally:
        for p in probes:
            p.close()
        broker.stop()


@pytest.mark.broker
def test_the_central_acl_confines_each_gym_to_its_own_results(tmp_path):
    from server.mqtt import nodeadmin
    acl = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "chain-central.acl"
    passwd = tmp_path / "central.passwd"
    passwords = {user: nodeadmin.generate_password() for user in ("gym-a", "gym-b", "monitor")}
    for user, password in passwords.items():
        nodeadmin.set_broker_password(passwd, user, password)
    central = ManagedBroker(workdir=tmp_path / "central", extra_config=[
        f"password_file {passwd}", f"acl_file {acl}", "use_username_as_clientid true"]).start()
    probes = [MqttProbe(central.port, user, passwords[user], client_id=user) for user in ("monitor", "gym-a", "gym-b")]
    try:
        monitor, gym_a, gym_b = probes
        for p in probes:
            assert p.connect() == 0
        monitor.subscribe("#")
        gym_b.subscribe("sledhub/v1/chain/+/results/+")
        for topic in ("sledhub/v1/chain/gym-b/results/sled1", "sledhub/v1/node/sled1/cmd",
                      "sledhub/v1/chain/gym-a/cmd", "sledhub/v1/chain/gym-a/results/a/b"):
            gym_a.publish(topic, b"forged")
        gym_a.publish("sledhub/v1/chain/gym-a/results/sled1", b"own")
        wait_for(lambda: gym_b.received(), 5, what="gym A's result at gym B")
        wait_for(lambda: monitor.received(), 5, what="gym A's result at the monitor")  # its own delivery
        assert gym_b.received() == [("sledhub/v1/chain/gym-a/results/sled1", b"own")]
        assert [p for _, p in monitor.received()] == [b"own"]  # sent last: anything forged came before
    finally:
        for p in probes:
            p.close()
        central.close()
