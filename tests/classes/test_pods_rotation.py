"""Pods and rotation per circuit (issue 14's builder: "pods and rotation"): how many pods, which way and
how far they move each round; validation in a coach's words; the plan, the class and the preview use it.
No migration: circuits are stored as JSON, and a circuit saved before has one pod per station, forward."""

from __future__ import annotations

import pytest

from server.classes import rotation as rot
from server.classes.circuit_timeline import timeline
from server.classes.circuits import circuit_from_dict, parse_circuit
from server.errors import InvalidInput
from tests.classes.conftest import make_circuit

KINDS = {"sled1": "sled", "sled2": "sled", "lane1": "lane", "lane2": "lane", "lane3": "lane", "lane4": "lane"}
FOUR = [{"kind": "sled", "station_ids": ["sled1"]}, {"kind": "sled", "station_ids": ["sled2"]},
        {"kind": "lane", "station_ids": ["lane1"]}, {"kind": "lane", "station_ids": ["lane2"]}]
LAYOUT4 = [("sled1",), ("sled2",), ("lane1",), ("lane2",)]


def circuit(**over):
    return parse_circuit({"name": "Pods", "stations": FOUR, "rounds": 4, **over}, KINDS)


def errors_of(**over) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        circuit(**over)
    return caught.value.errors


def test_defaults_are_one_pod_per_station_moving_one_forward_and_old_circuits_read_so():
    c = circuit()
    assert (c.pods, c.pod_count, c.rotation, c.rotation_step, c.rotation_move) == (None, 4, "forward", 1, 1)
    old = c.to_dict()
    for key in ("pods", "rotation", "rotation_step"):
        del old[key]
    assert circuit_from_dict(old) == c  # a circuit saved before this change
    set_ = circuit(pods=2, rotation="backward", rotation_step=3)
    assert circuit_from_dict(set_.to_dict()) == set_
    assert (set_.pod_count, set_.rotation_move) == (2, -3)


def test_backward_rotation_moves_each_pod_to_the_station_before():
    pods = (("a",), ("b",), ("c",), ("d",))
    r1, r2 = rot.build_plan(pods, LAYOUT4, 2, move=-1)
    assert r1[0].entries == (("sled1", "a"), ("sled2", "b"), ("lane1", "c"), ("lane2", "d"))
    assert r2[0].entries == (("sled1", "b"), ("sled2", "c"), ("lane1", "d"), ("lane2", "a"))
    forward = rot.build_plan(pods, LAYOUT4, 2, move=1)[1][0].entries
    assert forward == (("sled1", "d"), ("sled2", "a"), ("lane1", "b"), ("lane2", "c"))


def test_more_pods_than_stations_take_turns_and_fewer_leave_stations_free():
    layout = [("sled1",), ("lane1",)]
    four_pods = rot.make_pods(["a", "b", "c", "d"], 4)  # pods 0 and 2 at sled1, pods 1 and 3 at lane1
    (r1,) = rot.build_plan(four_pods, layout, 1)
    assert [h.entries for h in r1] == [(("sled1", "a"), ("lane1", "b")), (("sled1", "c"), ("lane1", "d"))]
    one_pod = rot.make_pods(["a", "b"], 1)
    r1, r2 = rot.build_plan(one_pod, LAYOUT4, 2)
    assert [h.entries for h in r1] == [(("sled1", "a"),), (("sled1", "b"),)]
    assert [h.entries for h in r2] == [(("sled2", "a"),), (("sled2", "b"),)]


@pytest.mark.parametrize("move", [1, -1, 3])
@pytest.mark.parametrize("pod_count", [1, 3, 4, 6])
def test_every_member_runs_once_a_round_and_no_station_twice_in_a_heat(pod_count, move):
    members = [f"m{i}" for i in range(11)]
    for rnd in rot.build_plan(rot.make_pods(members, pod_count), LAYOUT4, 4, move):
        assert sorted(m for h in rnd for _, m in h.entries) == sorted(members)
        for heat in rnd:
            assert len({s for s, _ in heat.entries}) == len(heat.entries)


def test_refusals_say_what_a_coach_should_do():
    assert errors_of(pods=0) == ["pods: split the class into 1 to 24 pods, or one pod per station (got 0)"]
    assert errors_of(rotation="sideways") == [
        "rotation: pods move 'forward' (station 1 to 2) or 'backward' (station 2 to 1), not 'sideways'"]
    assert errors_of(rotation_step=4) == ["rotation_step: with 4 stations pods move 1 to 3 stations a round (got 4)"]
    assert errors_of(rotation_step=2, rounds=3) == [
        "rotation_step: moving 2 of 4 stations a round, each pod is back where it started after 2 rounds without "
        "visiting every station: move 1 or 3 station(s) a round, or keep to 2 rounds"]
    assert circuit(rotation_step=2, rounds=2).rotation_step == 2  # two rounds never come back: fine


def test_the_preview_shows_where_each_pod_stands_each_round():
    t = timeline(circuit(pods=2, rotation="backward", rounds=2), members=8)
    assert t["pods"] == [4, 4]
    assert [r["pod_stations"] for r in t["rounds"]] == [[0, 1], [3, 0]]
    assert [h["runners"] for h in t["rounds"][0]["heats"]] == [2, 2, 2, 2]


def test_a_class_deals_into_the_circuits_pods_and_rotates_its_way(service, hub, members):
    saved = service.circuits.save(make_circuit(hub, pods=1, rotation="backward"))
    view = service.create_class(saved.id)
    service.check_in(view["id"], members[:4])
    view = service.start(view["id"])
    assert len(view["pods"]) == 1 and len(view["pods"][0]) == 4
    record = service.classes.get(view["id"])
    r1, r2 = record.session.plan
    assert {s for h in r1 for s, _ in h.entries} == {"sled1"}   # the one pod starts at station 1 ...
    assert {s for h in r2 for s, _ in h.entries} == {"lane1", "lane2"}  # ... and moves back (to the last)
