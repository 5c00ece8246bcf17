"""Leaderboards as pure functions over hand-made result rows and a roster."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.boards import boards as b
from server.boards.model import (HIDDEN_NAME, Person, ResultRow, course_of, eligible, name_of, person_key,
                                 wall_name)

DAY = 86_400.0
TODAY = 100 * DAY
PEOPLE = {
    "m1": Person("m1", "Anna Kowalski", "Rocket", False),
    "m2": Person("m2", "Ben Ode", "", False),
    "m3": Person("m3", "Cara Secret", "Shy", True),  # opted out
}


def row(rid, t, *, at=TODAY + 3600, station="sled1", member=None, athlete="", status="OK", cls="c1",
        course="10 m"):
    return ResultRow(rid, station, cls, member, athlete, status, t, at, course, 10.0 if course == "10 m" else None)


# names, keys, courses ------------------------------------------------------------------------------
def test_wall_names_are_nicknames_or_a_first_name_and_initial():
    assert wall_name("Anna Kowalski", "Rocket") == "Rocket"
    assert wall_name("Anna Maria Kowalski", "") == "Anna K."
    assert wall_name("Cher", " ") == "Cher"
    assert wall_name("", "") == HIDDEN_NAME


def test_results_key_on_member_else_athlete_name():
    assert person_key(row("a", 5, member="m1", athlete="Rocket")) == "m:m1"
    assert person_key(row("a", 5, athlete="Moose")) == person_key(row("b", 5, athlete="moose")) == "a:moose"
    assert person_key(row("a", 5)) is None
    assert name_of(row("a", 5, member="m1", athlete="Anna Kowalski"), PEOPLE) == "Rocket"
    assert name_of(row("a", 5, member="gone"), PEOPLE) == HIDDEN_NAME
    assert name_of(row("a", 5, athlete="Moose"), PEOPLE) == "Moose"


def test_courses_from_metrics():
    assert course_of(10, None) == ("10 m", 10.0)
    assert course_of(None, '["start","split1","finish"]') == ("start–split1–finish", None)
    assert course_of(None, ["start", "finish"]) == ("start–finish", None)
    assert course_of(None, None) == ("", None)


def test_only_ok_results_of_visible_named_athletes_rank():
    rows = [row("ok", 5, athlete="Moose"), row("dq", 4, athlete="Moose", status="DQ"),
            row("rerun", 4, athlete="Moose", status="RERUN"), row("dnf", None, athlete="Moose", status="DNF"),
            row("fs", None, athlete="Moose", status="FALSE_START"), row("hidden", 3, member="m3"),
            row("anon", 3), row("zero", 0.0, athlete="Moose")]
    assert [r.id for r in eligible(rows, PEOPLE)] == ["ok"]


# station board -------------------------------------------------------------------------------------
def test_station_board_ranks_best_time_today_per_athlete_with_pb_and_record_flags():
    rows = [
        row("old-rocket", 5.0, at=TODAY - DAY, member="m1"),       # yesterday: Rocket's PB and the record
        row("r1", 5.4, member="m1"), row("r2", 4.8, member="m1", at=TODAY + 4000),  # beats 5.0: PB and record
        row("b1", 5.1, member="m2"),                               # first result: no PB
        row("m1x", 5.1, athlete="Moose", at=TODAY + 5000),         # same time as Ben, later: same rank, after him
        row("other", 3.0, station="sled2", member="m2"),
        row("shy", 2.0, member="m3"),                               # opted out: never shown
        row("tomorrow", 1.0, at=TODAY + DAY + 1, athlete="Moose"),
    ]
    board = b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY)
    assert board["course"] == "10 m"
    assert [(e["rank"], e["athlete"], e["time_s"]) for e in board["rows"]] == [
        (1, "Rocket", 4.8), (2, "Ben O.", 5.1), (2, "Moose", 5.1)]
    rocket = board["rows"][0]
    assert rocket["pb"] and rocket["record"] and rocket["attempts"] == 2 and rocket["result_id"] == "r2"
    assert not any(e["pb"] or e["record"] for e in board["rows"][1:])
    assert b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY, limit=1)["rows"][0]["athlete"] == "Rocket"


def test_station_board_marks_only_the_standing_record():
    # four results today each beat the record as it stood; only the best one holds it now
    rows = [row("old", 6.0, at=TODAY - DAY, athlete="Kiwi"),
            row("a", 5.8, athlete="Moose", at=TODAY + 100), row("b", 5.6, member="m1", at=TODAY + 200),
            row("c", 5.4, member="m2", at=TODAY + 300), row("d", 5.2, athlete="Kiwi", at=TODAY + 400),
            row("e", 5.2, athlete="Emu", at=TODAY + 500)]  # ties the record: does not take it
    board = b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY)
    assert [(e["athlete"], e["record"]) for e in board["rows"]] == [
        ("Kiwi", True), ("Emu", False), ("Ben O.", False), ("Rocket", False), ("Moose", False)]
    # a record set on an earlier day stands but is not on today's board: no row says REC
    earlier = [row("old", 4.0, at=TODAY - DAY, athlete="Kiwi"), row("x", 4.5, athlete="Kiwi", at=TODAY - DAY + 5),
               row("a", 4.2, athlete="Moose")]
    assert [e["record"] for e in b.station_board(earlier, PEOPLE, "sled1", TODAY, TODAY + DAY)["rows"]] == [False]


def test_station_board_uses_the_course_of_the_latest_result():
    rows = [row("a", 4.0, athlete="Moose", course="10 m"),
            row("b", 7.0, athlete="Kiwi", course="15 m", at=TODAY + 9000)]
    board = b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY)
    assert board["course"] == "15 m" and [e["athlete"] for e in board["rows"]] == ["Kiwi"]
    assert b.station_board(rows, PEOPLE, "lane1", TODAY, TODAY + DAY) == {"course": None, "rows": []}


# class board ---------------------------------------------------------------------------------------
def test_class_points_merge_stations_as_percent_of_the_station_best():
    rows = [
        row("s1", 5.0, member="m1"), row("s2", 4.0, athlete="Moose"), row("s3", 8.0, member="m2"),
        row("l1", 10.0, station="lane1", course="start–finish", member="m1"),
        row("l2", 12.5, station="lane1", course="start–finish", athlete="Moose"),
        row("l3", 11.0, station="lane1", course="start–finish", athlete="Moose"),  # Moose's best there
        row("x", 1.0, member="m1", cls="other-class"),
        row("shy", 1.0, member="m3"),                       # opted out: does not set the station best
    ]
    board = b.class_board(rows, PEOPLE, "c1")
    got = [(e["rank"], e["athlete"], e["points"], e["stations"]) for e in board["rows"]]
    # Rocket: 100*4/5 = 80 + 100 = 180; Moose: 100 + 100*10/11 = 190.9; Ben: 100*4/8 = 50
    assert got == [(1, "Moose", 190.9, 2), (2, "Rocket", 180.0, 2), (3, "Ben O.", 50.0, 1)]
    assert {e["station_id"]: e["points"] for e in board["rows"][0]["events"]} == {"sled1": 100.0, "lane1": 90.9}
    assert b.class_board(rows, PEOPLE, "nope") == {"rows": []}


def test_class_ties_share_a_rank_and_more_stations_come_first():
    rows = [row("a", 5.0, athlete="Zed"), row("b", 5.0, athlete="Amy"),
            row("c", 5.0, athlete="Bob", station="lane1"), row("d", 5.0, athlete="Bob", station="sled2"),
            row("d2", 5.0, athlete="Eve", station="sled2", at=TODAY + 3700),  # sled 2 needs a second athlete
            row("e", 5.0, athlete="Cy", station="lane1"),
            row("f", 10.0, athlete="Dan"), row("g", 10.0, athlete="Dan", station="lane1")]  # 50 + 50
    got = [(e["rank"], e["athlete"], e["points"]) for e in b.class_board(rows, PEOPLE, "c1")["rows"]]
    assert got == [(1, "Bob", 200.0), (2, "Dan", 100.0), (2, "Amy", 100.0), (2, "Cy", 100.0), (2, "Eve", 100.0),
                   (2, "Zed", 100.0)]


def test_a_station_scores_only_once_two_athletes_ran_it():
    # after one heat (one athlete per station) everyone would be first with 100: the board stays empty
    one_heat = [row("a", 5.0, athlete="Moose"), row("b", 6.0, athlete="Kiwi", station="sled2"),
                row("c", 9.0, member="m1", station="lane1", course="start–finish"),
                row("d", 4.0, member="m3", station="lane2", course="start–finish"),  # opted out: no field
                row("e", 3.0, member="m2", station="lane2", course="start–finish", status="DNF")]
    assert b.class_board(one_heat, PEOPLE, "c1") == {"rows": []}
    # a second heat puts Kiwi on sled 1: sled 1 scores, the other stations still do not
    two_heats = [*one_heat, row("f", 5.5, athlete="Kiwi", at=TODAY + 4000)]
    got = [(e["athlete"], e["points"], e["stations"]) for e in b.class_board(two_heats, PEOPLE, "c1")["rows"]]
    assert got == [("Moose", 100.0, 1), ("Kiwi", 90.9, 1)]
    # the same athlete twice is still a field of one
    assert b.class_board([row("a", 5.0, athlete="Moose"), row("b", 4.0, athlete="Moose", at=TODAY + 4000)],
                         PEOPLE, "c1") == {"rows": []}


# personal bests and records ------------------------------------------------------------------------
def test_pbs_today_beat_every_earlier_result_and_first_results_are_not_pbs():
    rows = [
        row("r0", 5.0, at=TODAY - 3 * DAY, member="m1"),
        row("r1", 4.9, member="m1"), row("r2", 4.6, member="m1", at=TODAY + 5000),   # two PBs: keep 4.6
        row("b0", 6.0, at=TODAY - DAY, member="m2"), row("b1", 6.5, member="m2"),    # slower: no PB
        row("k1", 7.0, athlete="Kiwi"),                                               # first ever: no PB
        row("s0", 9.0, at=TODAY - DAY, member="m3"), row("s1", 3.0, member="m3"),     # opted out
        row("l0", 12.0, at=TODAY - DAY, athlete="Kiwi", station="lane1", course="start–finish"),
        row("l1", 11.4, athlete="Kiwi", station="lane1", course="start–finish"),      # 5 % faster
    ]
    board = b.pb_board(rows, PEOPLE, TODAY, TODAY + DAY)
    got = [(e["athlete"], e["station_id"], e["time_s"], e["previous_best_s"]) for e in board["rows"]]
    assert got == [("Rocket", "sled1", 4.6, 4.9), ("Kiwi", "lane1", 11.4, 12.0)]
    assert board["rows"][0]["improvement_pct"] == 6.1 and board["rows"][1]["improvement_pct"] == 5.0


def test_badges_of_one_result():
    rows = [row("a", 5.0, at=1, member="m1"), row("b", 4.5, at=2, athlete="Moose"),
            row("c", 4.8, at=3, member="m1"), row("d", 4.4, at=4, member="m1"), row("e", 4.0, at=5, member="m3")]
    assert b.badges("a", rows, PEOPLE) == {"result_id": "a", "pb": False, "record": False, "standing": False,
                                           "previous_best_s": None, "record_before_s": None}
    c = b.badges("c", rows, PEOPLE)
    assert (c["pb"], c["record"], c["previous_best_s"], c["record_before_s"]) == (True, False, 5.0, 4.5)
    d = b.badges("d", rows, PEOPLE)
    assert d["pb"] and d["record"] and d["standing"]
    b_ = b.badges("b", rows, PEOPLE)
    assert b_["record"] and not b_["standing"]  # a record when set, beaten since by d
    assert not b.badges("e", rows, PEOPLE)["pb"]  # opted out: no badges at all


def test_records_per_station_and_course_in_station_order():
    rows = [row("a", 5.0, member="m1", station="sled2"), row("b", 4.0, athlete="Moose", station="sled2"),
            row("c", 9.0, athlete="Kiwi", course="15 m"), row("d", 6.0, athlete="Kiwi"),
            row("e", 1.0, member="m3", station="lane1", course="start–finish"),
            row("f", 12.0, member="m2", station="lane1", course="start–finish", status="DQ")]
    board = b.records_board(rows, PEOPLE, ["sled1", "sled2", "lane1"])
    got = [(e["station_id"], e["course"], e["athlete"], e["time_s"]) for e in board["rows"]]
    assert got == [("sled1", "10 m", "Kiwi", 6.0), ("sled1", "15 m", "Kiwi", 9.0), ("sled2", "10 m", "Moose", 4.0)]


# most improved --------------------------------------------------------------------------------------
def test_most_improved_against_the_previous_class_only():
    rows = [
        row("a0", 6.0, at=TODAY - 9 * DAY, member="m1", cls="c-2"),  # older class: ignored for Rocket
        row("a1", 5.0, at=TODAY - 2 * DAY, member="m1", cls="c0"),
        row("a2", 4.5, member="m1"),                                   # 10 % faster than in c0
        row("k1", 8.0, at=TODAY - 2 * DAY, athlete="Kiwi", cls="c0"),
        row("k2", 7.6, athlete="Kiwi"),                                 # 5 %
        row("k3", 12.0, at=TODAY - 2 * DAY, athlete="Kiwi", cls="c0", station="lane1", course="start–finish"),
        row("k4", 12.6, athlete="Kiwi", station="lane1", course="start–finish"),  # -5 %: mean 0 → not listed
        row("b1", 5.0, at=TODAY - 2 * DAY, member="m2", cls="c0"),
        row("b2", 4.0, member="m2", station="sled2"),                  # nothing in common: not listed
        row("n1", 4.0, athlete="New"),                                  # no previous class
        row("s1", 9.0, at=TODAY - 2 * DAY, member="m3", cls="c0"), row("s2", 3.0, member="m3"),  # opted out
        row("later", 1.0, at=TODAY + DAY, member="m1", cls="c9"),      # a later class is not "previous"
    ]
    board = b.improved_board(rows, PEOPLE, "c1")
    got = [(e["athlete"], e["improvement_pct"], e["stations"], e["previous_class_id"]) for e in board["rows"]]
    assert got == [("Rocket", 10.0, 1, "c0")]
    assert board["rows"][0]["best"] == {"station_id": "sled1", "course": "10 m", "time_s": 4.5,
                                        "previous_time_s": 5.0, "improvement_pct": 10.0}
    assert b.improved_board(rows, PEOPLE, "nope") == {"rows": []}


def test_competition_ranks():
    assert b.competition_ranks([1, 2, 2, 4, 4, 4, 5]) == [1, 2, 2, 4, 4, 4, 7]
    assert b.competition_ranks([]) == []


# properties ----------------------------------------------------------------------------------------
ATHLETES = st.sampled_from([("m1", ""), ("m2", ""), ("m3", ""), (None, "Moose"), (None, "Kiwi"), (None, "")])
ROWS = st.lists(st.tuples(ATHLETES, st.sampled_from(["sled1", "lane1"]), st.sampled_from(["c0", "c1"]),
                          st.sampled_from(["OK", "OK", "DQ", "DNF"]), st.floats(0.5, 30.0),
                          st.floats(TODAY - 2 * DAY, TODAY + DAY)), max_size=40)


def _rows(spec):
    return [row(f"r{i}", round(t, 3), at=at, station=s, member=m, athlete=a, status=status, cls=c)
            for i, ((m, a), s, c, status, t, at) in enumerate(spec)]


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_no_board_ever_shows_an_opted_out_member_or_a_hidden_result(spec):
    rows = _rows(spec)
    bad_ids = {r.id for r in rows if r.member_id == "m3" or r.status != "OK"}
    boards = [b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY, 50), b.class_board(rows, PEOPLE, "c1", 50),
              b.pb_board(rows, PEOPLE, TODAY, TODAY + DAY, 50), b.records_board(rows, PEOPLE),
              b.improved_board(rows, PEOPLE, "c1", 50)]
    for board in boards:
        for entry in board["rows"]:
            assert entry["member_id"] != "m3" and entry["athlete"] not in ("Shy", "Cara S.")
            assert entry.get("result_id") not in bad_ids


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_rankings_are_ordered_and_ranks_consistent(spec):
    rows = _rows(spec)
    station = b.station_board(rows, PEOPLE, "sled1", TODAY, TODAY + DAY, 50)["rows"]
    assert [e["time_s"] for e in station] == sorted(e["time_s"] for e in station)
    assert len({(e["member_id"], e["athlete"]) for e in station}) == len(station)
    cls = b.class_board(rows, PEOPLE, "c1", 50)["rows"]
    assert [e["points"] for e in cls] == sorted((e["points"] for e in cls), reverse=True)
    for e in cls:
        assert 0 < e["points"] <= 100 * e["stations"]
        assert e["points"] == round(sum(ev["points"] for ev in e["events"]), 1)
    for board in (station, cls):
        assert [e["rank"] for e in board] == b.competition_ranks(
            [e.get("time_s", e.get("points")) for e in board])
