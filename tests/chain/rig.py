"""Three gyms and a central broker on loopback, for the chain's integration tests.

Each gym is a hub (in-process :func:`create_app`, no demo: results are committed through the hub's
own result writer by :func:`tests.chain.support.commit`) on its own Mosquitto, whose bridge drop-in is
the one ``sledhub chain join --plain`` writes, pointed at the central Mosquitto through an
:class:`~tests.chain.uplink.Uplink` the test can cut. The central Mosquitto checks every gym's login
and applies ``deploy/mosquitto/chain-central.acl`` (:func:`central_broker`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from server.app import HubApp, create_app
from server.chain.bridge import render_bridge
from server.chain.record import ChainRecord
from server.mqtt import nodeadmin
from server.mqtt.broker import ManagedBroker
from tests.chain.support import add_sled, chain_config
from tests.chain.uplink import Uplink
from tests.support.waiting import wait_for

CENTRAL_ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "chain-central.acl"
PROBE = "gym-probe"
DRILL = "sled:10 m"
FAST_RESTART = "1 2"
"""Bridge reconnect back-off in the tests (s): first retry after 1 s, never more than 2 s apart."""


@dataclass
class Gym:
    gym_id: str
    club: str
    broker: ManagedBroker
    uplink: Uplink
    app: HubApp

    def board(self, period: str = "all") -> list[dict]:
        return self.app.display.boards.board("chain", drill=DRILL, period=period, limit=50)["rows"]

    def shows(self, club: str, athlete: str, time_s: float | None = None) -> bool:
        return any(r["club"] == club and r["athlete"] == athlete and (time_s is None or r["time_s"] == time_s)
                   for r in self.board())


@dataclass
class Rig:
    central: ManagedBroker
    gyms: list[Gym] = field(default_factory=list)

    def close(self) -> None:
        for g in self.gyms:
            g.app.stop()
        for g in self.gyms:
            g.broker.close()
            g.uplink.close()
        self.central.close()


def password(gym_id: str) -> str:
    return f"pw-{gym_id}-7f3a"


def central_broker(tmp_path: Path, gym_ids: list[str]) -> ManagedBroker:
    """The central Mosquitto (not started): a login per gym (and the warm-up's probe), the shipped
    central ACL, client id = username."""
    passwd = tmp_path / "central.passwd"
    for gym_id in [*gym_ids, PROBE]:
        nodeadmin.set_broker_password(passwd, gym_id, password(gym_id))
    return ManagedBroker(workdir=tmp_path / "central", extra_config=[
        f"password_file {passwd}", f"acl_file {CENTRAL_ACL}", "use_username_as_clientid true"])


def start_gym(tmp_path: Path, central: ManagedBroker, gym_id: str, club: str) -> Gym:
    uplink = Uplink(central.port)
    bridge = render_bridge(gym_id, f"127.0.0.1:{uplink.port}", password(gym_id), tls=False, restart_timeout=FAST_RESTART)
    broker = ManagedBroker(workdir=tmp_path / gym_id, extra_config=bridge.splitlines())
    broker.start()
    app = create_app(chain_config(tmp_path, gym_id, club), broker=(broker.host, broker.port))
    add_sled(app)
    app.start()
    return Gym(gym_id, club, broker, uplink, app)


def warm_up(rig: Rig, timeout_s: float = 20.0) -> None:
    """Wait until every gym's bridge carries the chain's results both ways: a record published at the
    central broker (by a gym that is not in the rig, on a drill the boards do not show) reached every hub."""
    import paho.mqtt.client as mqtt
    probe = ChainRecord(PROBE, "warm-up", 0, "Probe", "Probe", "p", "s1", "lane:warm-up", "OK", 1.0, time.time())
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=PROBE, protocol=mqtt.MQTTv311)
    client.username_pw_set(PROBE, password(PROBE))
    client.connect(rig.central.host, rig.central.port)
    client.loop_start()
    try:
        def everywhere() -> bool:
            if all(g.app.chain is not None and g.app.chain.store.get(probe.key) for g in rig.gyms):
                return True
            client.publish(f"sledhub/v1/chain/{PROBE}/results/s1", probe.encode(), qos=1)
            return False
        # republished at every check (a bridge that was not up yet dropped the earlier copies)
        wait_for(everywhere, timeout_s, interval_s=0.2, what="every gym's bridge up both ways")
    finally:
        client.disconnect()
        client.loop_stop()
