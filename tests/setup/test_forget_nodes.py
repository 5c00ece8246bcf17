"""Nodes can be forgotten: an admin forgets one, unadopted announcements expire, the 256-node cap
counts only live unadopted nodes, and /setup stays small with hundreds of unknown nodes.
Messages are pushed into the real hub's pipeline (tests/setup/test_api.py's FakeNode)."""

from __future__ import annotations

import time

import pytest

from server.app import create_app
from server.protocol import MAX_NODES
from server.setup.forget import NodeForgetter
from tests.classes.api_support import make_users, signed_in
from tests.classes.conftest import base_config
from tests.setup.test_api import BEAM, LOAD_CELL, WHEEL, FakeNode, sled_body

SENSORS_32 = [{**BEAM, "id": f"beam{i}"} for i in range(32)]


def _app(tmp_path):
    hub_app = create_app(base_config(tmp_path), connect_mqtt=False)
    hub_app.flask.config["TESTING"] = True
    hub_app.hub.attach_publisher(lambda topic, payload, qos: True)
    hub_app.hub.start()
    return hub_app


@pytest.fixture
def app(tmp_path):
    hub_app = _app(tmp_path)
    make_users(hub_app.db)
    yield hub_app
    hub_app.stop()


def flood(app, n: int = MAX_NODES, age_s: float = 0.0, sensors=None) -> None:
    for i in range(n):
        node = FakeNode(app, f"fake{i:03d}", sensors or [BEAM], boot=f"b{i}")
        node.send("status", {"node": node.id, "state": "online", "boot_id": node.boot}, age_s)
        if sensors:
            node.send("desc", {"node": node.id, "boot_id": node.boot, "fw": "x", "sensors": sensors}, age_s)


def known(app) -> set[str]:
    return app.setup.call(lambda: set(app.hub.nodes.nodes))


def test_a_live_flood_fills_the_cap_but_a_real_node_gets_in_once_the_flood_is_silent(app):
    flood(app)  # all live: the cap protects the hub
    FakeNode(app, "real-sled", [LOAD_CELL, WHEEL]).connect()
    assert "real-sled" not in known(app)
    assert app.setup.call(lambda: app.hub.protocol.stats()["rejected_by_reason"]) == {"too_many_nodes": 2}


def test_a_flood_silent_for_a_minute_does_not_lock_out_a_new_node(app):
    flood(app, age_s=120.0)  # announced two minutes ago, nothing since
    FakeNode(app, "real-sled", [LOAD_CELL, WHEEL]).connect()
    assert "real-sled" in known(app)
    assert "too_many_nodes" not in app.setup.call(lambda: app.hub.protocol.stats()["rejected_by_reason"])


def test_adopted_nodes_do_not_count_against_the_cap(app):
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    admin = signed_in(app, "admin")
    assert admin.post("/api/setup/stations", json=sled_body()).status_code == 201
    flood(app, MAX_NODES - 1)  # 255 live unadopted + 1 adopted = the old cap
    FakeNode(app, "lane-node", [BEAM]).connect()
    assert {"new-sled", "lane-node"} <= known(app)


def test_unadopted_nodes_expire_even_after_a_restart_adopted_ones_stay(tmp_path):
    first = _app(tmp_path)
    make_users(first.db)
    try:
        FakeNode(first, "new-sled", [LOAD_CELL, WHEEL]).connect()
        assert signed_in(first, "admin").post("/api/setup/stations", json=sled_body()).status_code == 201
        flood(first, MAX_NODES - 1)
        assert len(known(first)) == MAX_NODES
    finally:
        first.stop()
    again = _app(tmp_path)  # the nodes come back from the database
    try:
        assert len(known(again)) == MAX_NODES
        later = [time.time()]
        forgetter = NodeForgetter(again.hub, ttl_s=600.0, wall_clock=lambda: later[0], sweep_every_us=0)
        again.setup.call(lambda: forgetter.tick(again.hub.clock_us()))
        assert len(known(again)) == MAX_NODES  # not silent long enough yet
        later[0] += 601.0
        again.setup.call(lambda: forgetter.tick(again.hub.clock_us()))
        assert known(again) == {"new-sled"} and forgetter.expired == MAX_NODES - 1
        assert {r["id"] for r in again.db.query("SELECT id FROM nodes")} == {"new-sled"}
    finally:
        again.stop()


def test_an_admin_forgets_a_node_and_it_comes_back_only_when_it_speaks(app):
    admin = signed_in(app, "admin")
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    ghost = FakeNode(app, "ghost", [BEAM]).connect()
    assert signed_in(app, "instructor").delete("/api/setup/nodes/ghost").status_code == 403
    answer = admin.delete("/api/setup/nodes/ghost")
    assert answer.status_code == 200 and answer.get_json() == {"id": "ghost", "forgotten": True}
    assert "ghost" not in {n["id"] for n in admin.get("/api/setup").get_json()["nodes"]}
    assert not app.db.query("SELECT id FROM nodes WHERE id = 'ghost'")
    assert admin.delete("/api/setup/nodes/ghost").status_code == 404
    ghost.connect()
    assert "ghost" in known(app)

    assert admin.post("/api/setup/stations", json=sled_body()).status_code == 201
    refused = admin.delete("/api/setup/nodes/new-sled")
    assert refused.status_code == 409 and "Sled 3" in refused.get_json()["error"]
    assert "new-sled" in known(app)


def test_setup_stays_small_with_hundreds_of_unknown_nodes(app):
    flood(app, MAX_NODES - 1, sensors=SENSORS_32)
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    api = signed_in(app, "admin")
    assert api.post("/api/setup/stations", json=sled_body()).status_code == 201
    answer = api.get("/api/setup")
    view = answer.get_json()
    assert len(answer.data) < 300_000, len(answer.data)  # was 5 MB
    new = [n for n in view["nodes"] if n["new"]]
    assert len(new) == view["new_nodes"]["shown"] == 8
    assert view["new_nodes"]["total"] == MAX_NODES - 1
    assert len(view["new_nodes"]["hidden"]) == MAX_NODES - 1 - 8
    assert "new-sled" in {n["id"] for n in view["nodes"]}  # nodes in stations always come in full
    found = api.get("/api/setup?find=fake2").get_json()
    picked = [n["id"] for n in found["nodes"] if n["new"]]
    assert len(picked) == 8 and all(i.startswith("fake2") for i in picked)
    assert api.get("/api/setup?find=fake017").get_json()["new_nodes"]["shown"] == 1
