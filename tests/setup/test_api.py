"""/setup's API and socket events on the real app and hub (no MQTT): node messages are pushed into the
hub's pipeline as if they came from the broker, commands the hub publishes are recorded. Every answer is
checked against the OpenAPI document."""

from __future__ import annotations

import json

import pytest

from server.app import create_app
from tests.classes.api_support import make_users, signed_in
from tests.classes.conftest import base_config
from tests.support.waiting import wait_for

LOAD_CELL = {"id": "force", "kind": "load_cell", "unit": "N", "rate_hz": 10, "wiring": {"dout": 5, "sck": 6, "rate_pin": 13},
             "calibration": {"scale_counts_per_n": None, "offset_counts": 0.0, "uncalibrated": True}}
WHEEL = {"id": "wheel", "kind": "encoder", "unit": "m", "rate_hz": None, "wiring": {"a": 17, "b": 27},
         "calibration": {"counts_per_m": 100.0, "invert": False}}
BEAM = {"id": "finish", "kind": "beam", "unit": None, "rate_hz": None, "wiring": {"pin": 23, "broken_level": "low"},
        "calibration": {"holdoff_s": 0.5}}


class FakeNode:
    """Speaks the protocol into the hub's pipeline (``hub.submit``), in order with the API's calls."""

    def __init__(self, app, node_id: str, sensors: list[dict], boot: str = "boot1"):
        self.app, self.id, self.sensors, self.boot, self.seq = app, node_id, sensors, boot, 0

    def send(self, msg_type: str, body: dict, age_s: float = 0.0) -> None:
        payload = json.dumps({"v": 1, **body}).encode()
        self.app.hub.submit(f"sledhub/v1/node/{self.id}/{msg_type}", payload, self.app.hub.clock_us() - int(age_s * 1e6))

    def connect(self, age_s: float = 0.0) -> "FakeNode":
        self.send("status", {"node": self.id, "state": "online", "boot_id": self.boot}, age_s)
        self.send("desc", {"node": self.id, "boot_id": self.boot, "fw": "test 1", "sensors": self.sensors}, age_s)
        return self

    def tel(self, sensor: str, kind: str, raws: list[int], value: float = 0.0) -> None:
        samples = [[1_000_000 + 12_500 * (self.seq * 64 + i), value, r] for i, r in enumerate(raws)]
        self.send("tel", {"boot_id": self.boot, "seq": self.seq, "sensor": sensor, "kind": kind, "samples": samples})
        self.seq += 1

    def evt(self, sensor: str, kind: str, t_us: int) -> None:
        self.send("evt", {"boot_id": self.boot, "seq": self.seq, "sensor": sensor, "kind": kind, "t_us": t_us})
        self.seq += 1

    def ack(self, cmd_id: str, ok: bool = True, result: dict | None = None, error: str | None = None) -> None:
        body = {"id": cmd_id, "ok": ok, **({"result": result} if result is not None else {}),
                **({"error": error} if error else {})}
        self.send("ack", body)


@pytest.fixture
def app(tmp_path):
    hub_app = create_app(base_config(tmp_path), connect_mqtt=False)
    hub_app.flask.config["TESTING"] = True
    service = hub_app.setup
    sent: list[tuple[str, dict]] = []
    hub_app.hub.attach_publisher(lambda topic, payload, qos: sent.append((topic, json.loads(payload))) or True)
    hub_app.sent, hub_app.setup = sent, service
    make_users(hub_app.db)
    hub_app.hub.start()
    yield hub_app
    hub_app.stop()


def commands(app, node: str) -> list[dict]:
    """What the hub sent ``node``, once the pipeline has handled everything pushed so far."""
    app.setup.call(lambda: None)
    return [p for t, p in app.sent if t == f"sledhub/v1/node/{node}/cmd"]


def sled_body(name: str = "Sled 3", node: str = "new-sled") -> dict:
    return {"kind": "sled", "name": name, "config": {"distance_m": 10},
            "bindings": [{"role": "force", "node_id": node, "sensor_id": "force"},
                         {"role": "wheel", "node_id": node, "sensor_id": "wheel"}]}


def test_a_new_node_appears_with_live_readings_pushed_to_the_setup_room(app):
    node = FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    room = app.socketio.test_client(app.flask)
    outsider = app.socketio.test_client(app.flask)
    try:
        joined = room.emit("setup:join", {}, callback=True)
        assert [n["id"] for n in joined["nodes"]] == ["new-sled"] and joined["nodes"][0]["new"] is True
        node.tel("force", "force", [61_230, 61_236, 61_234])
        node.tel("wheel", "position", [-3], value=-0.03)

        def pushed():
            got = [m["args"][0] for m in room.get_received() if m["name"] == "setup:readings"]
            return next((r for r in got if "new-sled/force" in r["sensors"]), None)
        readings = wait_for(pushed, 3, what="setup:readings")
        assert readings["sensors"]["new-sled/force"]["raw"] == 61_234
        assert readings["nodes"]["new-sled"]["effective_state"] == "online"
        assert not [m for m in outsider.get_received() if m["name"].startswith("setup:readings")]
    finally:
        room.disconnect()
        outsider.disconnect()
    view = signed_in(app, None).get("/api/setup").get_json()
    sensors = {s["id"]: s for s in view["nodes"][0]["sensors"]}
    assert sensors["force"]["reading"]["raw"] == 61_234 and sensors["force"]["binding"] is None
    assert sensors["force"]["health"]["calibrated"] is False
    assert sensors["wheel"]["reading"]["raw"] == -3 and sensors["wheel"]["label"] == "wheel encoder"


def test_only_an_admin_creates_stations_and_the_hub_pushes_what_the_sensors_need(app):
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    lane = FakeNode(app, "lane9", [BEAM]).connect()
    app.setup.calibrations.add("lane9", "finish", "beam", {"broken_level": "high"}, {"passes": 3})
    assert signed_in(app, None).post("/api/setup/stations", json=sled_body()).status_code == 401
    assert signed_in(app, "instructor").post("/api/setup/stations", json=sled_body()).status_code == 403
    admin = signed_in(app, "admin")
    made = admin.post("/api/setup/stations", json=sled_body())
    assert made.status_code == 201, made.get_json()
    out = made.get_json()
    assert out["station"]["id"] == "sled-3"
    # its HX711 can switch rate (RATE wired): a sled wants 80 samples/s
    assert [(p["cmd"], p["params"], p["state"]) for p in out["pushed"]] == [("set_rate", {"rate_hz": 80}, "pending")]
    assert [c["cmd"] for c in commands(app, "new-sled")] == ["set_rate"]
    # the lane's beam was found to read the wrong way round: it is flipped again on binding
    lane_out = admin.post("/api/setup/stations", json={"kind": "lane", "name": "Lane 9", "bindings": [
        {"role": "finish", "node_id": "lane9", "sensor_id": "finish"}]}).get_json()
    assert [(p["cmd"], p["params"]) for p in lane_out["pushed"]] == [("configure", {"invert": True})]
    lane.ack(commands(app, "lane9")[0]["id"], result={"broken_level": "high"})
    view = admin.get("/api/setup").get_json()
    beam = next(n for n in view["nodes"] if n["id"] == "lane9")["sensors"][0]
    assert beam["sync"]["state"] == "applied" and beam["binding"]["station_name"] == "Lane 9"
    assert {s["id"]: s["missing_roles"] for s in view["stations"]} == {"sled-3": [], "lane-9": []}
    assert [s["id"] for s in admin.get("/api/stations").get_json()] == ["sled-3", "lane-9"]
    # a sensor in use elsewhere is a conflict; an unknown one a bad request
    assert admin.post("/api/setup/stations", json=sled_body("Sled 4")).status_code == 409
    bad = admin.post("/api/setup/stations", json=sled_body("Sled 5", node="ghost"))
    assert bad.status_code == 400 and "has announced itself" in bad.get_json()["error"]
    renamed = admin.put("/api/setup/stations/sled-3", json={**sled_body("Sled Three"), "bindings": []})
    assert renamed.status_code == 200 and renamed.get_json()["station"]["bindings"] == []
    assert admin.delete("/api/setup/stations/sled-3").get_json() == {"id": "sled-3", "deleted": True}
    assert admin.delete("/api/setup/stations/sled-3").status_code == 404


def test_the_beam_test_over_the_api_stores_its_result(app):
    lane = FakeNode(app, "lane9", [BEAM]).connect()
    admin = signed_in(app, "admin")
    started = admin.post("/api/setup/wizards", json={"node_id": "lane9", "sensor_id": "finish"})
    assert started.status_code == 201
    wiz = started.get_json()
    assert (wiz["kind"], wiz["state"], wiz["actions"]) == ("beam", "WATCH", ["cancel"])
    assert admin.post("/api/setup/wizards", json={"node_id": "lane9", "sensor_id": "finish"}).status_code == 409
    t = 5_000_000
    for _ in range(3):
        lane.evt("finish", "break", t)
        lane.evt("finish", "restore", t + 250_000)
        t += 1_000_000
    live = admin.get(f"/api/setup/wizards/{wiz['id']}").get_json()
    assert live["live"]["passes"] == 3 and live["reading"]["beam"] == "clear"
    done = wait_for(lambda: (v := admin.get(f"/api/setup/wizards/{wiz['id']}").get_json())["state"] == "DONE" and v,
                    3, what="the beam test to finish")
    assert "aligned" in done["message"] and done["result"]["block_ms"] == [250.0] * 3
    stored = admin.get("/api/setup/calibrations").get_json()
    assert [(c["node_id"], c["kind"], c["params"], c["user_name"]) for c in stored] == [("lane9", "beam", {}, "admin")]
    assert admin.post(f"/api/setup/wizards/{wiz['id']}/actions", json={"action": "cancel"}).status_code == 409


def test_wizard_refusals(app):
    FakeNode(app, "gone", [WHEEL]).connect()
    FakeNode(app, "gone", [WHEEL]).send("status", {"node": "gone", "state": "offline", "boot_id": "boot1"})
    admin = signed_in(app, "admin")
    assert admin.post("/api/setup/wizards", json={"node_id": "nope", "sensor_id": "x"}).status_code == 404
    offline = admin.post("/api/setup/wizards", json={"node_id": "gone", "sensor_id": "wheel"})
    assert offline.status_code == 409 and "offline" in offline.get_json()["error"]
    assert admin.post("/api/setup/wizards", json={"node_id": "gone"}).status_code == 400
    assert admin.post("/api/setup/wizards/w0/actions", json={"action": "start"}).status_code == 404
    assert admin.get("/api/setup/wizards/w0").status_code == 404
    FakeNode(app, "here", [LOAD_CELL]).connect()
    rezero = admin.post("/api/setup/wizards", json={"node_id": "here", "sensor_id": "force", "mode": "zero"})
    assert rezero.status_code == 409 and "no scale yet" in rezero.get_json()["error"]
    wiz = admin.post("/api/setup/wizards", json={"node_id": "here", "sensor_id": "force"}).get_json()
    url = f"/api/setup/wizards/{wiz['id']}/actions"
    assert admin.post(url, json={"action": "skip"}).status_code == 409
    assert admin.post(url, json={"action": "measure", "colour": "red"}).status_code == 400
    assert admin.post(url, json={"action": "cancel"}).get_json()["state"] == "CANCELLED"


def test_warnings_for_the_tablet(app):
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    FakeNode(app, "lane9", [BEAM]).connect(age_s=10)  # last heard 10 s ago: not answering
    admin = signed_in(app, "admin")
    assert admin.post("/api/setup/stations", json={**sled_body(), "bindings": sled_body()["bindings"][:1]}).status_code == 201
    assert admin.post("/api/setup/stations", json={"kind": "lane", "name": "Lane 9", "bindings": [
        {"role": "start", "node_id": "lane9", "sensor_id": "finish"}]}).status_code == 201
    report = signed_in(app, None).get("/api/setup/warnings").get_json()
    assert report["ready"] is False and report["errors"] == 4
    got = {(w["station_id"], w["role"], w["code"], w["level"]) for w in report["warnings"]}
    assert got == {("sled-3", "wheel", "role_unbound", "error"), ("sled-3", "force", "uncalibrated", "error"),
                   ("lane-9", "finish", "role_unbound", "error"), ("lane-9", "start", "node_offline", "error")}
    silent = next(w for w in report["warnings"] if w["code"] == "node_offline")
    assert silent["message"].startswith("Lane 9: start gate — its node 'lane9' has not answered for 10 s")
    assert silent["node_id"] == "lane9" and silent["sensor_id"] == "finish"


def test_load_cell_calibration_is_stored_pushed_and_restored_after_a_reboot(app):
    node = FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    admin = signed_in(app, "admin")
    wiz = admin.post("/api/setup/wizards", json={"node_id": "new-sled", "sensor_id": "force"}).get_json()
    url = f"/api/setup/wizards/{wiz['id']}/actions"
    assert admin.post(url, json={"action": "measure"}).get_json()["state"] == "ZEROING"
    node.tel("force", "force", [50_000] * 16)
    assert admin.post(url, json={"action": "measure", "mass_kg": 10}).get_json()["state"] == "WEIGHING"
    node.tel("force", "force", [50_000 + round(10 * 9.80665 * 1000)] * 16)
    saving = admin.post(url, json={"action": "skip"}).get_json()
    assert saving["state"] == "SAVING"
    cmd = commands(app, "new-sled")[-1]
    assert (cmd["cmd"], cmd["sensor"]) == ("calibrate", "force")
    assert cmd["params"] == {"offset_counts": 50_000.0, "scale_counts_per_n": pytest.approx(1000, rel=1e-4)}
    node.ack(cmd["id"], result={"scale_counts_per_n": cmd["params"]["scale_counts_per_n"], "offset_counts": 50_000.0})
    assert admin.get(f"/api/setup/wizards/{wiz['id']}").get_json()["state"] == "DONE"
    stored = admin.get("/api/setup/calibrations").get_json()
    assert stored[0]["params"] == cmd["params"] and stored[0]["report"]["weight"]["mass_kg"] == 10
    # the node reboots with its config's (un)calibration: the hub pushes the stored one, once per boot
    rebooted = FakeNode(app, "new-sled", [LOAD_CELL, WHEEL], boot="boot2").connect()
    again = commands(app, "new-sled")[-1]
    assert (again["cmd"], again["params"]) == ("calibrate", cmd["params"]) and again["id"] != cmd["id"]
    rebooted.connect()
    assert commands(app, "new-sled")[-1]["id"] == again["id"]


@pytest.mark.slow
def test_a_command_the_node_never_answers_fails_the_wizard(app):
    node = FakeNode(app, "lane9", [BEAM]).connect()
    app.setup.ack_timeout_us = 100_000
    admin = signed_in(app, "admin")
    wiz = admin.post("/api/setup/wizards", json={"node_id": "lane9", "sensor_id": "finish"}).get_json()
    t = 1_000_000
    for _ in range(3):  # wrong polarity: short clear spells, then it stays broken
        node.evt("finish", "restore", t)
        node.evt("finish", "break", t + 300_000)
        t += 1_500_000
    wait_for(lambda: admin.get(f"/api/setup/wizards/{wiz['id']}").get_json()["state"] == "INVERTED", 5,
             what="the wrong polarity to be noticed")
    assert admin.post(f"/api/setup/wizards/{wiz['id']}/actions", json={"action": "fix"}).get_json()["state"] == "SAVING"
    assert commands(app, "lane9")[-1]["params"] == {"invert": True}
    failed = wait_for(lambda: (v := admin.get(f"/api/setup/wizards/{wiz['id']}").get_json())["state"] == "FAILED" and v,
                      3, what="the ack time-out")
    assert "did not answer" in failed["problem"]


def test_whether_anyone_watches_setup_survives_the_room_closing_mid_read(app):
    """The setup ticker asks (pipeline thread) while pages leave (serving thread): python-socketio checks
    that the room exists, then reads it; a room closed in between must not fail the ticker."""

    class Closing(dict):
        def __contains__(self, key):
            return True  # the check saw the room …

        def __getitem__(self, key):
            raise KeyError(key)  # … the read did not

    watched = app.setup._watched  # noqa: SLF001
    manager = app.socketio.server.manager
    rooms = manager.rooms
    assert watched() is False
    manager.rooms = {"/": Closing()}
    try:
        assert watched() is False
    finally:
        manager.rooms = rooms
