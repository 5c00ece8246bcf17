"""Rotation: pods, plans, taps, re-runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.classes import rotation as rot

LAYOUT = [("sled1",), ("lane1", "lane2")]


def test_pods_are_dealt_in_check_in_order():
    assert rot.make_pods(["a", "b", "c", "d", "e"], 2) == (("a", "c", "e"), ("b", "d"))
    assert rot.add_to_pods((("a", "c"), ("b",)), "x") == (("a", "c"), ("b", "x"))


def test_pods_rotate_one_station_per_round():
    pods = (("a", "c", "e"), ("b", "d"))
    r1, r2 = rot.build_plan(pods, LAYOUT, 2)
    assert [h.entries for h in r1] == [(("sled1", "a"), ("lane1", "b"), ("lane2", "d")), (("sled1", "c"),),
                                       (("sled1", "e"),)]
    assert [h.entries for h in r2] == [(("sled1", "b"), ("lane1", "a"), ("lane2", "c")), (("sled1", "d"), ("lane1", "e"))]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_every_member_runs_exactly_once_per_round(n_members, rounds, lanes):
    layout = [tuple(f"s{i}-{j}" for j in range(n)) for i, n in enumerate(lanes)]
    members = [f"m{i}" for i in range(n_members)]
    plan = rot.build_plan(rot.make_pods(members, len(layout)), layout, rounds)
    for rnd in plan:
        ran = [m for heat in rnd for _, m in heat.entries]
        assert sorted(ran) == sorted(members)
        for heat in rnd:
            stations = [s for s, _ in heat.entries]
            assert len(stations) == len(set(stations))


def test_tap_swaps_with_a_later_heat_of_the_round():
    plan = rot.build_plan((("a", "c", "e"), ("b", "d")), LAYOUT, 1)
    new = rot.assign(plan, 1, 1, "sled1", "e", LAYOUT)
    assert new[0][0].member_at("sled1") == "e" and new[0][2].member_at("sled1") == "a"


def test_tap_within_the_heat_swaps_stations():
    plan = rot.build_plan((("a",), ("b", "d")), LAYOUT, 1)
    new = rot.assign(plan, 1, 1, "lane1", "d", LAYOUT)
    assert new[0][0].entries == (("sled1", "a"), ("lane1", "d"), ("lane2", "b"))


def test_tap_of_someone_not_in_the_round_pushes_the_other_to_a_free_slot():
    plan = rot.build_plan((("a",), ("b",)), LAYOUT, 1)
    new = rot.assign(plan, 1, 1, "sled1", "z", LAYOUT)
    assert new[0][0].member_at("sled1") == "z"
    assert [h.entries for h in new[0][1:]] == [(("sled1", "a"),)]


def test_tap_empty_clears_the_slot():
    plan = rot.build_plan((("a",), ("b",)), LAYOUT, 1)
    assert rot.assign(plan, 1, 1, "lane1", None, LAYOUT)[0][0].entries == (("sled1", "a"),)


def test_reruns_share_one_added_heat():
    plan = rot.build_plan((("a",), ("b", "d")), LAYOUT, 1)
    plan = rot.insert_rerun(plan, 1, 1, "sled1", "a")
    plan = rot.insert_rerun(plan, 1, 1, "lane1", "b")
    plan = rot.insert_rerun(plan, 1, 1, "sled1", "x")
    heats = plan[0]
    assert heats[1].rerun and heats[1].entries == (("sled1", "x"),)
    assert heats[2].rerun and heats[2].entries == (("sled1", "a"), ("lane1", "b"))


def test_replan_keeps_earlier_rounds_and_drop_member_clears_later_heats():
    pods = (("a", "c"), ("b",))
    plan = rot.build_plan(pods, LAYOUT, 2)
    bigger = rot.add_to_pods(pods, "x")
    new = rot.replan_from(plan, bigger, LAYOUT, 2)
    assert new[0] == plan[0] and "x" in {m for h in new[1] for _, m in h.entries}
    dropped = rot.drop_member(plan, "c", 1, 2)
    assert dropped[0][1].entries == ()


def test_plan_json_round_trip():
    plan = rot.insert_rerun(rot.build_plan((("a",), ("b",)), LAYOUT, 2), 1, 1, "sled1", "a")
    assert rot.plan_from_json(rot.plan_to_json(plan)) == plan
