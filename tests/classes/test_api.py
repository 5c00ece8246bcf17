"""The HTTP API end to end on the real app and hub (no MQTT): roster, circuits, a class run by the
tablet over REST and Socket.IO, corrections reaching every connected page; every answer is checked
against the OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.store.results import StoredResult
from server.store.stations import Station
from server.web.openapi import openapi_document
from tests.classes.api_support import make_users, signed_in

REPO = Path(__file__).resolve().parents[2]
ROSTER = "name,nickname,opt_out\r\nDana Lee,Rocket,no\r\nSam Roe,Moose,yes\r\nKim Poe,,no\r\nAl Bo,Kiwi,no\r\n"


@pytest.fixture
def app(hub_app):
    make_users(hub_app.db)
    hub = hub_app.hub
    hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15}))
    for lane in ("lane1", "lane2"):
        hub.stations.upsert(Station(lane, "lane", lane.title(), {}))
    hub.reload_stations()
    return hub_app


def setup_class(app):
    admin = signed_in(app, "admin")
    assert admin.post("/api/members/import", data=ROSTER, content_type="text/csv").get_json() == \
        {"created": 4, "updated": 0}
    circuit = admin.post("/api/circuits", json={
        "name": "Backwards basics", "rounds": 2, "work_s": 20, "rest_s": 15,
        "stations": [{"name": "Reverse pull", "kind": "sled", "station_ids": ["sled1"], "distance_m": 12},
                     {"name": "Shuffle", "kind": "lane", "station_ids": ["lane1", "lane2"], "distance_m": 20}]})
    assert circuit.status_code == 201, circuit.get_json()
    instructor = signed_in(app, "instructor")
    members = instructor.get("/api/members").get_json()
    created = instructor.post("/api/classes", json={"circuit_id": circuit.get_json()["id"], "name": "Tue 6 am"})
    assert created.status_code == 201
    class_id = created.get_json()["id"]
    view = instructor.post(f"/api/classes/{class_id}/checkin", json={"member_ids": [m["id"] for m in members]})
    assert view.get_json()["checked_in_count"] == 4
    return instructor, class_id, members


def test_roster_crud_and_csv_round_trip(app):
    admin = signed_in(app, "admin")
    created = admin.post("/api/members", json={"name": "Jo Ng", "nickname": "Comet"})
    assert created.status_code == 201 and created.get_json()["display_name"] == "Comet"
    member_id = created.get_json()["id"]
    assert admin.post("/api/members", json={"name": "jo ng"}).status_code == 409
    assert admin.patch(f"/api/members/{member_id}", json={"opt_out": True}).get_json()["opt_out"] is True
    bad = admin.post("/api/members/import", data="name,nickname,opt_out\n,x,maybe\n", content_type="text/csv")
    assert bad.status_code == 400
    assert bad.get_json()["errors"] == ["line 2: name: required, a non-empty text",
                                        "line 2: opt_out: expected yes or no, got 'maybe'"]
    assert admin.post("/api/members/import", data="{}", content_type="application/json").status_code == 415
    admin.post("/api/members/import", data=ROSTER, content_type="text/csv")
    exported = admin.get("/api/members/export")
    assert exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0] == "name,nickname,opt_out" and "Jo Ng,Comet,yes" in lines and len(lines) == 6
    assert admin.delete(f"/api/members/{member_id}").get_json()["archived"] is True
    assert len(admin.get("/api/members").get_json()) == 4


def test_circuits_crud(app):
    admin = signed_in(app, "admin")
    bad = admin.post("/api/circuits", json={"name": "x", "stations": [{"kind": "sled", "station_ids": ["lane1"]}]})
    assert bad.status_code == 400 and "is a lane, not a sled" in bad.get_json()["errors"][0]
    good = admin.post("/api/circuits", json={"name": "Sled only", "stations": [{"kind": "sled", "station_ids": ["sled1"]}]})
    cid = good.get_json()["id"]
    assert good.get_json()["rounds"] == 1
    changed = admin.put(f"/api/circuits/{cid}", json={"name": "Sled only", "rounds": 3,
                                                      "stations": [{"kind": "sled", "station_ids": ["sled1"]}]})
    assert changed.get_json()["rounds"] == 3
    assert [c["id"] for c in signed_in(app, None).get("/api/circuits").get_json()] == [cid]
    assert admin.delete(f"/api/circuits/{cid}").status_code == 200
    assert admin.get(f"/api/circuits/{cid}").status_code == 404


def test_a_class_runs_over_rest_on_the_real_engine(app):
    instructor, class_id, _ = setup_class(app)
    view = instructor.post(f"/api/classes/{class_id}/start").get_json()
    assert view["state"] == "READY" and [s["status"] for s in view["heat"]] == ["armed"] * 3
    assert view["circuit"]["stations"][0]["distance_m"] == 12
    assert instructor.post(f"/api/classes/{class_id}/resume").status_code == 409
    view = instructor.post(f"/api/classes/{class_id}/go").get_json()
    assert view["state"] == "WORK" and view["clock"]["running"]
    view = instructor.post(f"/api/classes/{class_id}/pause").get_json()
    assert view["state"] == "PAUSED"
    assert instructor.post("/api/stop-all").get_json()["class"]["resume_to"] == "READY"
    view = instructor.post(f"/api/classes/{class_id}/resume").get_json()
    assert view["state"] == "READY" and [s["status"] for s in view["heat"]] == ["armed"] * 3
    view = instructor.post(f"/api/classes/{class_id}/skip").get_json()
    assert (view["state"], view["heat_no"]) == ("READY", 2)
    other = view["heat"][0]["station_id"]
    assert instructor.post(f"/api/classes/{class_id}/stations/{other}/abort").status_code == 200
    assert instructor.post(f"/api/classes/{class_id}/arm").get_json()["heat"][0]["status"] == "armed"
    current = signed_in(app, None).get("/api/classes/current").get_json()["class"]
    assert current["id"] == class_id and all("name" not in p for p in current["checked_in"])
    assert instructor.post(f"/api/classes/{class_id}/finish").get_json()["state"] == "DONE"
    assert signed_in(app, None).get("/api/classes").get_json()[0]["state"] == "DONE"


def test_the_tablet_controls_over_socketio_and_the_wall_hears_it(app):
    instructor, class_id, members = setup_class(app)
    tablet = app.socketio.test_client(app.flask, flask_test_client=instructor.client)
    wall = app.socketio.test_client(app.flask)
    try:
        ack = tablet.emit("class:start", {"class_id": class_id, "csrf": instructor.csrf}, callback=True)
        assert ack["ok"] and ack["class"]["state"] == "READY"
        slot = ack["class"]["heat"][0]
        ack = tablet.emit("class:assign", {"class_id": class_id, "station_id": slot["station_id"],
                                           "member_id": members[-1]["id"], "csrf": instructor.csrf}, callback=True)
        assert ack["ok"] and ack["class"]["heat"][0]["member_id"] == members[-1]["id"]
        ack = tablet.emit("class:go", {"class_id": class_id, "csrf": instructor.csrf}, callback=True)
        assert ack["class"]["state"] == "WORK"
        ack = tablet.emit("class:go", {"class_id": class_id, "csrf": instructor.csrf}, callback=True)
        assert (ack["ok"], ack["status"]) == (False, 409)
        ack = tablet.emit("class:stop_all", {"csrf": instructor.csrf}, callback=True)
        assert ack["ok"] and ack["class"]["state"] == "PAUSED"
        states = [m["args"][0]["state"] for m in wall.get_received() if m["name"] == "class"]
        assert states[-4:] == ["READY", "READY", "WORK", "PAUSED"]
    finally:
        tablet.disconnect()
        wall.disconnect()


def test_corrections_reach_every_page_and_keep_an_audit_trail(app):
    instructor, class_id, members = setup_class(app)
    app.hub.results.save(StoredResult("r1", "sled1", "h1", class_id, members[0]["id"], "Rocket", "OK", "finished",
                                      6.4, 0.3, {"metrics": {"peak_force_n": 600}}, 1_700_000_000.0))
    wall = app.socketio.test_client(app.flask)
    try:
        wall.get_received()
        assert instructor.patch("/api/results/r1", json={"time_s": 6.1}).status_code == 400  # no reason
        out = instructor.patch("/api/results/r1", json={"time_s": 6.1, "reason": "finish gate late"}).get_json()
        assert out["result"]["time_s"] == 6.1 and out["correction"]["user_name"] == "instructor"
        assert instructor.post("/api/results/r1/dq", json={"reason": "pulled forwards"}).get_json()["result"]["status"] == "DQ"
        assert instructor.post("/api/results/r1/dq", json={"reason": "again"}).status_code == 409
        out = instructor.post("/api/results/r1/rerun", json={"reason": "rope snagged"}).get_json()
        assert out["rerun_scheduled"] is False  # the class has not started
        assert instructor.delete("/api/results/r1?reason=duplicate").get_json()["result"] is None
        assert instructor.get("/api/results/r1").status_code == 404
        trail = instructor.get(f"/api/corrections?class={class_id}").get_json()
        assert [e["kind"] for e in trail] == ["delete", "rerun", "dq", "edit_time"]
        assert trail[-1]["before"]["time_s"] == 6.4 and trail[0]["before"]["status"] == "RERUN"
        assert len(instructor.get("/api/results/r1/corrections").get_json()) == 4
        # (the setup page's warnings go to every page when they change: the stations were just made)
        names = [m["name"] for m in wall.get_received() if m["name"] != "setup:warnings"]
        assert names == ["correction", "result"] * 3 + ["correction", "result_deleted"]
    finally:
        wall.disconnect()


def test_openapi_describes_every_api_route_and_nothing_else(app):
    doc = openapi_document()
    served = set()
    for rule in app.flask.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            served |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert signed_in(app, None).get("/api/openapi.json").get_json() == doc


def test_docs_copy_of_the_openapi_document_is_current():
    assert json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8")) == openapi_document()


def test_existing_hub_routes_match_the_document(app):
    anonymous = signed_in(app, None)
    for path in ("/api/health", "/api/results?limit=5", "/api/stations", "/api/nodes", "/api/demo", "/api/session",
                 "/api/classes/current"):
        assert anonymous.get(path).status_code in (200, 404)
    assert anonymous.get("/api/results?limit=0").status_code == 400


def test_docs_api_md_lists_every_route_and_control_event():
    from server.web.class_sockets import CONTROL_EVENTS
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    doc = openapi_document()
    missing = [f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops if f"`{m.upper()} {p}`" not in text]
    missing += [e for e in CONTROL_EVENTS if f"`{e}`" not in text]
    assert not missing, missing
