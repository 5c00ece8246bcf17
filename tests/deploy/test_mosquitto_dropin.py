"""The shipped Mosquitto drop-in and ACL, enforced by a real broker.

Anonymous clients are refused; a node publishes only its own node->hub topics (never another node's,
never the hub-only ``cmd`` / ``clock/ping``) and reads only its own ``cmd`` / ``clock/ping``; the
hub reads every node. Denied publishes are dropped silently under MQTT 3.1.1, so each "cannot"
test sends the forbidden messages first and an allowed marker last on the same connection, waits
for the marker (the broker delivers in order), and then checks that nothing else arrived.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest

from server.mqtt import nodeadmin
from tests.deploy.secured_broker import MqttProbe, SecuredBroker
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.broker]

ROOT = "sledhub/v1/node"
NODE_TO_HUB = ["status", "desc", "evt", "tel", "ack", "health", "clock/pong"]
HUB_TO_NODE = ["cmd", "clock/ping"]


@dataclass
class Setup:
    broker: SecuredBroker
    passwords: dict[str, str]
    serial: itertools.count = field(default_factory=itertools.count)

    def probe(self, user: str | None, password: str | None = None, client_id: str | None = None) -> MqttProbe:
        if user is not None and password is None:
            password = self.passwords[user]
        if client_id is None:
            client_id = f"test-{user or 'anon'}-{next(self.serial)}"
        return MqttProbe(self.broker.port, user, password, client_id=client_id)


@pytest.fixture
def setup(tmp_path):
    broker = SecuredBroker(workdir=tmp_path / "mosquitto")
    broker.workdir.mkdir()
    hub_password = nodeadmin.generate_password()
    nodeadmin.set_broker_password(broker.passwd_file, "hub", hub_password)
    passwords = {"hub": hub_password, "monitor": nodeadmin.generate_password()}
    nodeadmin.set_broker_password(broker.passwd_file, "monitor", passwords["monitor"])
    for node in ("laneA", "laneB"):
        passwords[node] = nodeadmin.add_node(node, broker.passwd_file, "127.0.0.1").password
    broker.start()
    try:
        yield Setup(broker, passwords)
    finally:
        broker.stop()


@pytest.fixture
def clients():
    """Collects probes and closes them all at the end of the test."""
    opened: list[MqttProbe] = []

    def connect(probe: MqttProbe) -> MqttProbe:
        opened.append(probe)
        rc = probe.connect()
        assert rc == 0, f"{probe.username!r} refused: {rc}"
        return probe

    yield connect
    for probe in opened:
        probe.close()


def _connack(probe: MqttProbe) -> mqtt.ReasonCode:
    try:
        return probe.connect()
    finally:
        probe.close()


def test_anonymous_client_is_refused(setup):
    assert _connack(setup.probe(None)) == "Not authorized"


def test_wrong_password_is_refused(setup):
    assert _connack(setup.probe("laneA", "not-the-password")) == "Not authorized"


def test_hub_receives_every_node_to_hub_topic(setup, clients):
    hub = clients(setup.probe("hub"))
    assert hub.subscribe("sledhub/v1/#")[0] == 1
    lane_a = clients(setup.probe("laneA"))
    for suffix in NODE_TO_HUB:
        lane_a.publish(f"{ROOT}/laneA/{suffix}", b'{"v":1}', retain=suffix in ("status", "desc"))
    expected = [f"{ROOT}/laneA/{suffix}" for suffix in NODE_TO_HUB]
    wait_for(lambda: len(hub.received()) >= len(expected), what="node A's messages at the hub")
    assert hub.topics() == expected


def test_node_cannot_publish_under_another_node_or_hub_only_topics(setup, clients):
    hub = clients(setup.probe("hub"))
    hub.subscribe("sledhub/v1/#")
    lane_b = clients(setup.probe("laneB"))
    lane_b.subscribe(*(f"{ROOT}/laneB/{suffix}" for suffix in HUB_TO_NODE))
    lane_a = clients(setup.probe("laneA"))

    forged = (
        [f"{ROOT}/laneB/{suffix}" for suffix in NODE_TO_HUB + HUB_TO_NODE]  # posing as / commanding B
        + [f"{ROOT}/laneA/{suffix}" for suffix in HUB_TO_NODE]  # the hub's topics under its own root
        + ["sledhub/v1/hub/results", f"{ROOT}/laneA/evt/extra", "other/topic"]
    )
    for topic in forged:
        lane_a.publish(topic, b"forged")
    lane_a.publish(f"{ROOT}/laneA/evt", b"marker")
    # The hub's own command to B, after A's forgeries, is B's marker.
    hub.publish(f"{ROOT}/laneB/cmd", b"from-hub")

    wait_for(lambda: (f"{ROOT}/laneA/evt", b"marker") in hub.received(), what="A's marker at the hub")
    wait_for(lambda: lane_b.received(), what="the hub's command at B")
    assert [t for t, p in hub.received() if p == b"forged"] == []
    assert lane_b.received() == [(f"{ROOT}/laneB/cmd", b"from-hub")]


def test_node_reads_only_its_own_commands_and_pings(setup, clients):
    lane_a = clients(setup.probe("laneA"))
    # Subscriptions to B's topics may be refused or granted: either way nothing of B's may arrive.
    lane_a.subscribe(
        *(f"{ROOT}/laneA/{suffix}" for suffix in HUB_TO_NODE),
        *(f"{ROOT}/laneB/{suffix}" for suffix in HUB_TO_NODE + NODE_TO_HUB),
    )
    lane_b = clients(setup.probe("laneB"))
    hub = clients(setup.probe("hub"))
    for suffix in HUB_TO_NODE:
        hub.publish(f"{ROOT}/laneB/{suffix}", b"for-B")
    lane_b.publish(f"{ROOT}/laneB/evt", b"B's event")
    hub.publish(f"{ROOT}/laneA/clock/ping", b'{"v":1,"n":1}')
    hub.publish(f"{ROOT}/laneA/cmd", b'{"v":1,"id":"c1","cmd":"tare"}')

    wait_for(lambda: len(lane_a.received()) >= 2, what="the hub's ping and command at A")
    assert lane_a.topics() == [f"{ROOT}/laneA/clock/ping", f"{ROOT}/laneA/cmd"]


def test_node_add_login_works_after_a_reload_and_keeps_the_others(setup, clients, capsys):
    hub = clients(setup.probe("hub"))
    hub.subscribe("sledhub/v1/#")

    rc = nodeadmin.main_node_add(
        ["laneC", "--passwd-file", str(setup.broker.passwd_file), "--broker-host", "127.0.0.1",
         "--port", str(setup.broker.port)]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert "systemctl reload mosquitto" in err
    config = tomllib.loads(out)
    assert config["node"]["id"] == "laneC"
    mqtt_conf = config["mqtt"]
    assert (mqtt_conf["host"], mqtt_conf["port"], mqtt_conf["username"]) == ("127.0.0.1", setup.broker.port, "laneC")

    setup.broker.reload()

    def lane_c_connects() -> MqttProbe | None:
        probe = MqttProbe(mqtt_conf["port"], mqtt_conf["username"], mqtt_conf["password"], client_id="test-laneC")
        if probe.connect() == 0:
            return probe
        probe.close()
        return None

    lane_c = wait_for(lane_c_connects, what="laneC's login after SIGHUP")
    try:
        lane_c.publish(f"{ROOT}/laneC/status", b'{"v":1,"state":"online"}')
        wait_for(lambda: hub.received(), what="laneC's status at the hub")
        assert hub.topics() == [f"{ROOT}/laneC/status"]
    finally:
        lane_c.close()
    # The logins made before are still there (no `mosquitto_passwd -c` on an existing file).
    clients(setup.probe("laneA"))
    clients(setup.probe("hub"))


def test_a_node_login_cannot_take_the_hub_s_or_another_node_s_client_id(setup, clients):
    """Mosquitto closes the older of two connections with one client id; the drop-in makes the
    client id the username, so node A asking for the hub's or node B's id gets its own instead."""
    hub = clients(setup.probe("hub", client_id="hub"))
    hub.subscribe("sledhub/v1/#")
    lane_b = clients(setup.probe("laneB", client_id="laneB"))
    lane_b.subscribe(f"{ROOT}/laneB/cmd")
    for stolen in ("hub", "laneB", "sledhub-hub", "sledhub-node-laneB"):
        intruder = setup.probe("laneA", client_id=stolen)
        try:
            assert intruder.connect() == 0
            lane_b.publish(f"{ROOT}/laneB/evt", stolen.encode())
            hub.publish(f"{ROOT}/laneB/cmd", stolen.encode())
            # Both markers travel over the connections made before the intruder's: had it taken one
            # of their ids, that connection would be closed and the marker lost (no resubscription).
            wait_for(lambda s=stolen: (f"{ROOT}/laneB/evt", s.encode()) in hub.received(), what=f"B's marker ({stolen})")
            wait_for(lambda s=stolen: (f"{ROOT}/laneB/cmd", s.encode()) in lane_b.received(),
                     what=f"hub's marker ({stolen})")
        finally:
            intruder.close()
    assert (hub.disconnects, lane_b.disconnects) == (0, 0)


def test_the_monitor_login_reads_everything_and_writes_nothing(setup, clients):
    monitor = clients(setup.probe("monitor"))
    monitor.subscribe("sledhub/v1/#")
    lane_a = clients(setup.probe("laneA"))
    lane_a.subscribe(f"{ROOT}/laneA/cmd")
    hub = clients(setup.probe("hub"))
    monitor.publish(f"{ROOT}/laneA/cmd", b"from-monitor")
    monitor.publish(f"{ROOT}/laneB/evt", b"from-monitor")
    lane_a.publish(f"{ROOT}/laneA/evt", b"A's event")
    hub.publish(f"{ROOT}/laneA/cmd", b"from-hub")
    wait_for(lambda: lane_a.received(), what="the hub's command at A")
    wait_for(lambda: len(monitor.received()) >= 2, what="A's event and the hub's command at the monitor")
    assert lane_a.received() == [(f"{ROOT}/laneA/cmd", b"from-hub")]
    assert monitor.received() == [(f"{ROOT}/laneA/evt", b"A's event"), (f"{ROOT}/laneA/cmd", b"from-hub")]


def _largest_tel() -> bytes:
    """A ``tel`` batch at every limit of docs/protocol.md: 512 samples, each number at its longest."""
    from firmware_bridge.messages import encode
    samples = [[2**63 - 1 - 512 + i, -123456.78901234567, -(2**63)] for i in range(512)]
    return encode({"v": 1, "boot_id": "b" * 64, "seq": 2**53 - 1, "sensor": "s" * 64, "kind": "force",
                   "samples": samples})


def test_the_broker_drops_messages_over_the_hubs_payload_limit_and_passes_the_largest_tel(setup, clients):
    from server.protocol import MAX_PAYLOAD_BYTES, Protocol
    from tests.deploy.secured_broker import DROPIN, dropin_directives
    limit = int(dropin_directives(DROPIN.read_text())["message_size_limit"][0])
    assert limit == MAX_PAYLOAD_BYTES
    tel = _largest_tel()
    assert len(tel) <= limit
    hub = clients(setup.probe("hub"))
    hub.subscribe("sledhub/v1/#")
    lane_a = clients(setup.probe("laneA"))
    lane_a.publish(f"{ROOT}/laneA/tel", tel)
    lane_a.publish(f"{ROOT}/laneA/evt", b"x" * (limit + 1))
    lane_a.publish(f"{ROOT}/laneA/evt", b"marker")
    wait_for(lambda: (f"{ROOT}/laneA/evt", b"marker") in hub.received(), what="A's marker at the hub")
    assert [len(p) for t, p in hub.received()] == [len(tel), len(b"marker")]
    protocol = Protocol()
    protocol.handle(f"{ROOT}/laneA/status", b'{"v":1,"node":"laneA","state":"online","boot_id":"' + b"b" * 64 + b'"}', 1)
    assert protocol.handle(f"{ROOT}/laneA/tel", tel, 2), protocol.stats()["rejected_by_reason"]
