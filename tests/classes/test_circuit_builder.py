"""What the tablet's circuit builder relies on: instructors build circuits, templates from the gym's
stations, a preview that checks a draft and lays out the class timeline, duplicate — every answer
checked against the OpenAPI document; messages a coach understands, each naming its field."""

from __future__ import annotations

import doctest

import pytest

from server.classes import circuit_templates, circuit_timeline, circuits
from server.classes.circuit_templates import templates
from server.classes.circuit_timeline import timeline
from server.classes.circuits import parse_circuit
from server.errors import InvalidInput
from server.store.stations import Station
from tests.classes.api_support import make_users, signed_in

KINDS = {"sled1": "sled", "sled2": "sled", "lane1": "lane"}
STATIONS = [{"id": "sled1", "kind": "sled"}, {"id": "sled2", "kind": "sled"}, {"id": "lane1", "kind": "lane"}]


@pytest.fixture
def app(hub_app):
    make_users(hub_app.db)
    for sid, kind, name in (("sled1", "sled", "Sled A"), ("sled2", "sled", "Sled B"), ("lane1", "lane", "Turf lane")):
        hub_app.hub.stations.upsert(Station(sid, kind, name, {"distance_m": 15} if kind == "sled" else {}))
    hub_app.hub.reload_stations()
    return hub_app


@pytest.mark.parametrize("module", [circuits, circuit_timeline, circuit_templates])
def test_the_examples_in_the_docstrings_hold(module):
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


def test_every_template_is_a_valid_warm_up_of_two_to_four_minutes_of_15_to_30_s_intervals():
    made = templates(STATIONS)
    assert len(made) == 3
    for t in made:
        c = parse_circuit(t["circuit"], KINDS)
        assert 15 <= c.work_s <= 30, t["key"]
        assert 2 <= c.rounds <= 4, t["key"]
        assert 60 <= c.rounds * c.work_s <= 240, t["key"]
        assert all(cs.time_cap_s <= c.work_s for cs in c.stations)
        assert [cs.station_ids for cs in c.stations] == [("sled1", "sled2"), ("lane1",)]
    assert templates([]) == []


def test_the_timeline_follows_the_rotation_and_the_class_clock():
    c = parse_circuit({"name": "T", "work_s": 20, "rest_s": 10, "countdown_s": 3, "rounds": 2, "stations": [
        {"kind": "sled", "station_ids": ["sled1"]}, {"kind": "lane", "station_ids": ["lane1"]}]}, KINDS)
    t = timeline(c, members=5)
    assert t["pods"] == [3, 2]
    # a pod of 3 at a single sled needs 3 heats; the round takes as long as its slowest station
    assert [len(r["heats"]) for r in t["rounds"]] == [3, 3]
    heats = [h for r in t["rounds"] for h in r["heats"]]
    assert [h["start_s"] for h in heats] == [0, 33, 66, 99, 132, 165]
    assert heats[-1]["rest_s"] == 0 and all(h["rest_s"] == 10 for h in heats[:-1])
    assert t["total_s"] == 6 * 23 + 5 * 10 and t["work_total_s"] == 6 * 23
    assert [h["runners"] for h in heats] == [2, 2, 1, 2, 2, 1]


def test_an_instructor_builds_previews_duplicates_and_deletes(app):
    instructor = signed_in(app, "instructor")
    listed = instructor.get("/api/circuits/templates").get_json()
    assert [t["key"] for t in listed] == ["first-timers", "beginner", "progression"]
    draft = listed[1]["circuit"]
    preview = instructor.post("/api/circuits/preview?members=8", json=draft)
    assert preview.status_code == 200
    body = preview.get_json()
    assert body["timeline"]["members"] == 8 and body["circuit"]["work_s"] == 20
    assert instructor.get("/api/circuits").get_json() == []  # a preview saves nothing

    saved = instructor.post("/api/circuits", json={**draft, "name": "Tue 6 am"})
    assert saved.status_code == 201
    cid = saved.get_json()["id"]
    first = instructor.post(f"/api/circuits/{cid}/duplicate")
    second = instructor.post(f"/api/circuits/{cid}/duplicate")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["name"] == "Tue 6 am (copy)" and second.get_json()["name"] == "Tue 6 am (copy 2)"
    assert first.get_json()["stations"] == saved.get_json()["stations"]
    assert instructor.post("/api/circuits/nope/duplicate").status_code == 404
    assert instructor.delete(f"/api/circuits/{first.get_json()['id']}").status_code == 200
    assert sorted(c["name"] for c in instructor.get("/api/circuits").get_json()) == ["Tue 6 am", "Tue 6 am (copy 2)"]


def test_a_display_cannot_build_and_a_bad_draft_says_what_to_fix_in_the_gyms_words(app):
    display = signed_in(app, "display")
    assert display.get("/api/circuits/templates").status_code in (401, 403)
    assert display.post("/api/circuits", json={"name": "x"}).status_code in (401, 403)
    instructor = signed_in(app, "instructor")
    bad = instructor.post("/api/circuits/preview", json={"name": "x", "work_s": 20, "stations": [
        {"kind": "sled", "station_ids": ["sled1", "lane1"], "time_cap_s": 25},
        {"kind": "lane", "station_ids": ["lane1"], "distance_m": 0}]})
    assert bad.status_code == 400
    errors = bad.get_json()["errors"]
    assert "stations[0].station_ids: Turf lane is a lane, not a sled" in errors
    assert ("stations[0].time_cap_s: the time cap (25 s) is longer than work (20 s): make it 20 s or less, "
            "or lengthen work") in errors
    assert "stations[1].distance_m: the distance must be 1 to 100 m (got 0 m)" in errors
    assert any(e.startswith("stations[1].station_ids: Turf lane is already used by station 1") for e in errors)
    assert instructor.post("/api/circuits/preview?members=0", json={}).status_code == 400


def test_parse_circuit_lists_every_problem_with_its_field():
    with pytest.raises(InvalidInput) as err:
        parse_circuit({"name": " ", "rest_s": -1, "countdown_s": 11, "stations": []}, KINDS)
    fields = [e.split(":")[0] for e in err.value.errors]
    assert fields == ["name", "rest_s", "countdown_s", "stations"]


def test_an_unnamed_station_is_called_by_its_drill_and_the_gyms_names():
    c = parse_circuit({"name": "T", "stations": [{"kind": "lane", "station_ids": ["lane1"]},
                                                 {"kind": "sled", "station_ids": ["sled1", "sled2"]}]},
                      KINDS, {"lane1": "Turf lane", "sled1": "Sled A", "sled2": "Sled B"})
    assert [cs.name for cs in c.stations] == ["Backward shuffle · Turf lane", "Reverse sled pull · Sled A + Sled B"]
