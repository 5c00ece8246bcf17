"""Circuit validation and the roster CSV (pure)."""

from __future__ import annotations

import pytest

from server.classes.circuits import DEFAULT_REST_S, DEFAULT_WORK_S, circuit_from_dict, parse_circuit
from server.errors import InvalidInput
from server.classes.roster import MemberFields, parse_csv, parse_member, to_csv

KINDS = {"sled1": "sled", "sled2": "sled", "lane1": "lane", "lane2": "lane"}


def test_defaults_suit_a_warm_up():
    c = parse_circuit({"name": "Basic", "stations": [{"kind": "sled", "station_ids": ["sled1"]},
                                                     {"kind": "lane", "station_ids": ["lane1", "lane2"]}]}, KINDS)
    assert (c.work_s, c.rest_s, c.rounds, c.auto_go) == (DEFAULT_WORK_S, DEFAULT_REST_S, 2, True)
    assert 15 <= c.work_s <= 30
    assert c.stations[0].time_cap_s == c.work_s
    assert c.stations[0].distance_m == 15 and c.stations[1].distance_m == 20
    assert c.station_params["lane2"]["start_mode"] == "GO_COUNTDOWN"
    assert circuit_from_dict(c.to_dict()) == c


def test_every_problem_is_listed_with_where():
    with pytest.raises(InvalidInput) as err:
        parse_circuit({"name": "", "work_s": 1, "rounds": 0, "colour": "red",
                       "stations": [{"kind": "sled", "station_ids": ["lane1", "nope"], "start_mode": "HOLD_IN_BEAM"},
                                    {"kind": "boat", "station_ids": ["x"]},
                                    {"kind": "lane", "station_ids": ["lane1"], "time_cap_s": 100,
                                     "false_start_policy": "SHRUG"}]}, KINDS)
    errors = err.value.errors
    for expected in ("name: give it a name", "work_s: work must be 5 to 120 s (got 1 s)",
                     "rounds: rounds must be a whole number from 1 to 20", "colour: unknown field",
                     "stations[0].station_ids: lane1 is a lane, not a sled",
                     "stations[0].station_ids: no station 'nope' (add it on the setup page first)",
                     "stations[0].start_mode: hold in the start beam does not work on a sled",
                     "stations[1].kind: choose a sled pull ('sled') or a shuffle lane ('lane')",
                     "stations[2].false_start_policy: 'SHRUG' is not a false-start rule"):
        assert any(e.startswith(expected) for e in errors), (expected, errors)


def test_time_cap_cannot_outlast_the_work_interval_and_stations_are_used_once():
    with pytest.raises(InvalidInput) as err:
        parse_circuit({"name": "x", "work_s": 15, "stations": [
            {"kind": "sled", "station_ids": ["sled1"], "time_cap_s": 20},
            {"kind": "sled", "station_ids": ["sled1"]}]}, KINDS)
    assert "stations[0].time_cap_s: the time cap (20 s) is longer than work (15 s): make it 15 s or less, " \
        "or lengthen work" in err.value.errors
    assert any(e.startswith("stations[1].station_ids: sled1 is already used by station 1") for e in err.value.errors)


def test_csv_import_reads_columns_in_any_order_and_flags():
    rows = parse_csv("\ufeffNickname,name,opt_out\r\nRocket,Dana Lee,yes\r\n,Sam Roe,\r\n\r\nMoose,Kim Poe,0\r\n")
    assert rows == [MemberFields("Dana Lee", "Rocket", True), MemberFields("Sam Roe", "", False),
                    MemberFields("Kim Poe", "Moose", False)]


def test_csv_errors_name_each_line():
    text = "name,nickname,opt_out\nDana,Rocket,maybe\n,Ghost,no\nSam,ThisNicknameIsFarTooLongForTheWall,no\n" \
           "dana,Again,no\nKim,Moose,no,extra\n"
    with pytest.raises(InvalidInput) as err:
        parse_csv(text)
    assert err.value.errors == [
        "line 2: opt_out: expected yes or no, got 'maybe'",
        "line 3: name: required, a non-empty text",
        "line 4: nickname: at most 24 characters",
        "line 5: name: 'dana' is already on line 2",
        "line 6: more cells than header columns",
    ]
    assert "nothing imported" in err.value.message


def test_csv_header_problems():
    with pytest.raises(InvalidInput) as err:
        parse_csv("nick,opt_out\nx,no\n")
    assert err.value.errors == ["line 1: unknown column 'nick' (columns: name, nickname, opt_out)",
                                "line 1: the 'name' column is missing"]
    with pytest.raises(InvalidInput):
        parse_csv("")


def test_export_round_trips_and_defuses_formulas():
    members = [MemberFields("=cmd|' /C calc'!A0", "@boss", True), MemberFields("Ann, Jr.", "", False)]
    text = to_csv(members)
    assert text.splitlines()[1].startswith("'=cmd")
    assert parse_csv(text) == members


def test_member_json_validation():
    assert parse_member({"name": " Dana ", "nickname": "Rocket", "opt_out": True}) == \
        {"name": "Dana", "nickname": "Rocket", "opt_out": True}
    assert parse_member({"opt_out": False}, partial=True) == {"opt_out": False}
    with pytest.raises(InvalidInput) as err:
        parse_member({"name": "", "opt_out": "yes", "age": 3})
    assert err.value.errors == ["age: unknown field (known: name, nickname, opt_out)", "name: required, a non-empty text",
                                "opt_out: expected true or false"]
