"""The display's routes and socket events on the real app factory (no MQTT; the hub's pipeline runs)."""

from __future__ import annotations

import pytest

from server.auth.users import UserStore
from tests.classes.conftest import FAST_HASH
from tests.display.support import add_member, build_app, display_config, inject_result
from tests.support.waiting import wait_for

PIN = "4821"


@pytest.fixture
def app(tmp_path):
    hub_app = build_app(display_config(tmp_path))
    hub_app.flask.config["TESTING"] = True
    UserStore(hub_app.db, hasher=FAST_HASH).create("coach", "instructor", PIN)
    UserStore(hub_app.db, hasher=FAST_HASH).create("wall", "display", "5555")
    hub_app.hub.start()
    yield hub_app
    hub_app.stop()


def signed_in(app, name="coach", pin=PIN):
    client = app.flask.test_client()
    answer = client.post("/api/session", json={"name": name, "pin": pin})
    assert answer.status_code == 200
    return client, answer.get_json()["csrf_token"]


def board(client, **params):
    response = client.get("/api/leaderboards", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_boards_over_http_rank_and_hide_members_who_opted_out(app):
    rocket = add_member(app, "Anna Kowalski", "Rocket")
    ben = add_member(app, "Ben Ode")
    shy = add_member(app, "Cara Secret", "Shy", opt_out=True)
    inject_result(app, "sled1", "Rocket", member_id=rocket, time_s=5.2)
    inject_result(app, "sled1", "Ben Ode", member_id=ben, time_s=4.9)
    inject_result(app, "sled1", "Shy", member_id=shy, time_s=3.0)
    inject_result(app, "sled1", "Moose", member_id=None, class_id="demo", time_s=5.0)  # no member: ranks by name
    inject_result(app, "sled1", "Rocket", member_id=rocket, time_s=4.7)                # PB and record
    inject_result(app, "lane1", "Rocket", member_id=rocket, time_s=8.0)
    inject_result(app, "sled1", "Moose", class_id="demo", status="DNF", reason="time_cap")
    client = app.flask.test_client()
    sled = board(client, board="station", station="sled1")
    assert [(r["rank"], r["athlete"], r["time_s"]) for r in sled["rows"]] == [
        (1, "Rocket", 4.7), (2, "Ben O.", 4.9), (3, "Moose", 5.0)]
    assert sled["rows"][0]["pb"] and sled["rows"][0]["record"]
    assert sled["title"] == "Sled 1 · today" and sled["course"] == "10 m" and sled["since"] < sled["until"]
    cls = board(client, board="class", **{"class": "c1"})
    # only sled 1 had two athletes in class c1: Rocket's lane (alone there) scores nothing yet
    assert [(r["athlete"], r["points"], r["stations"]) for r in cls["rows"]] == [("Rocket", 100.0, 1),
                                                                                 ("Ben O.", 95.9, 1)]
    assert board(client, board="class")["class_id"] == "demo"  # no class running: the newest result's class
    records = board(client, board="records")["rows"]
    assert [(r["station_id"], r["athlete"], r["time_s"]) for r in records] == [("sled1", "Rocket", 4.7),
                                                                               ("lane1", "Rocket", 8.0)]
    assert records[0]["station_name"] == "Sled 1"
    pbs = board(client, board="pbs")["rows"]
    assert [(r["athlete"], r["time_s"], r["previous_best_s"]) for r in pbs] == [("Rocket", 4.7, 5.2)]
    assert board(client, board="improved")["rows"] == []
    for b in (sled, cls, {"rows": records}, {"rows": pbs}):
        assert all(r["athlete"] not in ("Shy", "Cara S.") and r["member_id"] != shy for r in b["rows"])
    assert board(client, board="station", station="sled1", limit=1)["rows"][0]["athlete"] == "Rocket"


@pytest.mark.parametrize("query, status, text", [
    ({}, 400, "'board' must be one of"),
    ({"board": "fastest"}, 400, "'board' must be one of"),
    ({"board": "station"}, 400, "needs the query parameter 'station'"),
    ({"board": "station", "station": "sled9"}, 404, "no station"),
    ({"board": "class", "limit": "x"}, 400, "'limit' must be an integer"),
    ({"board": "class", "limit": "0"}, 400, "'limit' must be 1..50"),
])
def test_bad_board_requests_say_what_to_fix(app, query, status, text):
    response = app.flask.test_client().get("/api/leaderboards", query_string=query)
    assert response.status_code == status
    assert text in response.get_json()["error"]


def test_the_instructor_picks_the_board_and_every_page_hears_it(app):
    wall = app.socketio.test_client(app.flask)
    try:
        anonymous = app.flask.test_client()
        assert anonymous.get("/api/display/board").get_json()["mode"] == "rotate"
        assert anonymous.post("/api/display/board", json={"board": "class"}).status_code == 401
        display_user, display_csrf = signed_in(app, "wall", "5555")
        assert display_user.post("/api/display/board", json={"board": "class"},
                                 headers={"X-CSRF-Token": display_csrf}).status_code == 403
        coach, csrf = signed_in(app)
        assert coach.post("/api/display/board", json={"board": "class"}).status_code == 403  # no CSRF token
        answer = coach.post("/api/display/board", json={"board": "station", "station": "lane2"},
                            headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 200
        assert answer.get_json()["mode"] == "fixed"
        assert answer.get_json()["boards"] == [{"board": "station", "station": "lane2"}]
        pushed = [e["args"][0] for e in wall.get_received() if e["name"] == "board"]
        assert pushed and pushed[-1]["boards"] == [{"board": "station", "station": "lane2"}]
        bad = coach.post("/api/display/board", json={"board": "rotate", "rotate_s": 1, "boards": [{"board": "x"}]},
                         headers={"X-CSRF-Token": csrf})
        assert bad.status_code == 400 and len(bad.get_json()["errors"]) == 2
        rotate = coach.post("/api/display/board", json={"board": "rotate", "rotate_s": 8},
                            headers={"X-CSRF-Token": csrf}).get_json()
        assert rotate["mode"] == "rotate" and rotate["rotate_s"] == 8
        assert [b["board"] for b in rotate["boards"]] == ["class", "station", "station", "station", "station", "pbs",
                                                          "records", "improved"]
    finally:
        wall.disconnect()


class Pushes:
    """What a Socket.IO test client received, kept across reads."""

    def __init__(self, client):
        self.client = client
        self.seen: list[dict] = []

    def of(self, name: str) -> list:
        self.seen += self.client.get_received()
        return [e["args"][0] for e in self.seen if e["name"] == name]

    def wait(self, name: str, count: int = 1) -> list:
        return wait_for(lambda: len(self.of(name)) >= count and self.of(name), 5, what=f"{count} {name} push(es)")


def test_display_state_and_live_pushes_use_wall_names_only(app):
    shy = add_member(app, "Cara Secret", "Shy", opt_out=True)
    anna = add_member(app, "Anna Kowalski", "")
    wall = app.socketio.test_client(app.flask)
    pushes = Pushes(wall)
    try:
        app.hub.arm([("sled1", "Anna Kowalski", anna, "c1"), ("lane1", "Shy", shy, "c1")])
        by_station = {a["station_id"]: a for a in pushes.wait("display:armed", 2)}
        assert by_station["sled1"]["athlete"] == "Anna K." and by_station["sled1"]["target_m"] == 10.0
        assert by_station["sled1"]["split_distances_m"] == [5.0]
        assert by_station["lane1"]["athlete"] == "Member" and by_station["lane1"]["hidden"] is True
        assert by_station["lane1"]["route"] == ["start", "split1", "finish"]
        assert by_station["sled1"]["start_mode"] == "GO_COUNTDOWN" and by_station["sled1"]["countdown_s"] == 3.0
        app.hub.go(["sled1", "lane1"])
        go = pushes.wait("go")[0]  # walls time their countdown cues from it
        assert set(go["signals"]) == {"sled1", "lane1"} and all(t > go["now_us"] for t in go["signals"].values())
        app.hub.abort("lane1")
        result = pushes.wait("display:result")[0]
        assert result["status"] == "ABORTED" and result["athlete"] == "Member" and result["hidden"] is True
        state = wall.emit("display:state", {}, callback=True)
        assert [s["id"] for s in state["stations"]] == ["sled1", "sled2", "lane1", "lane2"]
        assert state["stations"][0]["target_m"] == 10.0 and state["stations"][2]["kind"] == "lane"
        assert state["tiles"]["sled1"]["athlete"] == "Anna K."
        assert state["tiles"]["sled1"]["state"] in ("COUNTDOWN", "RUNNING")
        assert state["tiles"]["lane1"]["result"]["athlete"] == "Member"
        assert state["results"][0]["athlete"] == "Member" and "curve" not in state["results"][0]
        assert state["board"]["mode"] == "rotate" and state["class"] is None and state["demo"] is None
        app.hub.abort("sled1")
        pushes.wait("display:result", 2)
    finally:
        wall.disconnect()


def test_badges_on_request(app):
    wall = app.socketio.test_client(app.flask)
    try:
        first = inject_result(app, "sled2", "Kiwi", time_s=6.0)
        second = inject_result(app, "sled2", "Kiwi", time_s=5.5)
        assert wall.emit("display:badges", {"result_id": first.id}, callback=True)["pb"] is False
        answer = wall.emit("display:badges", {"result_id": second.id}, callback=True)
        assert answer["ok"] and answer["pb"] and answer["record"] and answer["previous_best_s"] == 6.0
        assert answer["standing"]
        inject_result(app, "sled2", "Moose", time_s=5.1)  # a new record: the 5.5 was one, and no longer stands
        again = wall.emit("display:badges", {"result_id": second.id}, callback=True)
        assert again["record"] and not again["standing"]
        assert wall.emit("display:badges", {}, callback=True)["status"] == 400
        assert wall.emit("display:badges", {"result_id": "nope"}, callback=True)["pb"] is False
    finally:
        wall.disconnect()


def test_the_pipeline_ticks_once_per_frame_slot_with_fresh_engine_progress(app):
    interval_us = app.hub.broadcaster.frame_interval_us
    assert round(app.hub.pipeline._tick_s * 1e6) == interval_us == 40_000
    assert app.hub.engine.progress_interval_us <= interval_us // 2  # every tick, however late it runs


CIRCUIT = {"name": "Warm-up", "rounds": 2, "work_s": 40, "rest_s": 15, "countdown_s": 3,
           "stations": [{"name": "Sleds", "kind": "sled", "station_ids": ["sled1", "sled2"]}]}


def test_display_state_of_a_class_next_up_no_demo_rows_and_the_class_ended(app):
    from server.classes.circuits import parse_circuit
    from server.classes.session import Event

    service = app.classes
    kinds = {s.id: s.kind for s in app.hub.stations.all()}
    circuit = service.circuits.save(parse_circuit(CIRCUIT, kinds))
    members = [add_member(app, "Anna Kowalski", "Rocket"), add_member(app, "Ben Ode"),
               add_member(app, "Cara Secret", "Shy", opt_out=True), add_member(app, "Dan Fox")]
    inject_result(app, "sled1", "Moose", class_id="demo", status="ABORTED", reason="class stopped")
    wall = app.socketio.test_client(app.flask)
    try:
        before = wall.emit("display:state", {}, callback=True)
        assert [r["class_id"] for r in before["results"]] == ["demo"] and before["next_up"] is None
        assert before["ended_class"] is None
        cls = service.create_class(circuit.id, "Tuesday 7am")
        service.check_in(cls["id"], members)
        service.start(cls["id"])
        ready = wall.emit("display:state", {}, callback=True)
        assert ready["results"] == []  # the demo's rows leave Latest once a real class runs
        up = ready["next_up"]
        assert (up["round_no"], up["heat_no"]) == (1, 1) and [e["station_id"] for e in up["entries"]] == ["sled1", "sled2"]
        view = service.current()
        assert [e["athlete"] for e in up["entries"]] == [
            {"Rocket": "Rocket", "Ben Ode": "Ben O.", "Shy": "Member", "Dan Fox": "Dan F."}[e["athlete"]]
            for e in view["heat"]]  # wall names, never the class view's display names
        service.control(cls["id"], Event.GO)
        working = wall.emit("display:state", {}, callback=True)["next_up"]
        assert (working["round_no"], working["heat_no"]) == (1, 2)
        assert {e["athlete"] for e in working["entries"]} <= {"Rocket", "Ben O.", "Member", "Dan F."}
        assert not any(e["athlete"] in ("Shy", "Ben Ode", "Cara Secret", "Dan Fox") for e in working["entries"])
        service.control(cls["id"], Event.FINISH)
        after = wall.emit("display:state", {}, callback=True)
        assert after["class"] is None and after["next_up"] is None
        assert after["ended_class"]["name"] == "Tuesday 7am"
    finally:
        wall.disconnect()
