"""Chain boards: best per athlete on one drill across gyms, club beside the name, this month or all
time; chosen on the wall like any other board."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.app import create_app
from server.boards.chain import chain_board, month_start
from server.boards.selection import SelectionError, parse_selection
from server.chain.record import ChainRecord
from server.config import Config
from tests.chain.support import chain_config

NOW = datetime(2026, 12, 6, 23, 0, tzinfo=UTC).timestamp()
LAST_MONTH = datetime(2026, 11, 30, 23, 0, tzinfo=UTC).timestamp()


def rec(gym, attempt, athlete, time_s, finished_at=NOW - 60, version=0, status="OK", drill="sled:10 m", person=None):
    club = {"gym-a": "Amsterdam", "gym-b": "Berlin"}[gym]
    return ChainRecord(gym, attempt, version, club, athlete, person or athlete.lower(), "sled1", drill, status,
                       time_s, finished_at)


def test_best_per_athlete_per_gym_ties_to_the_earlier():
    rows = [rec("gym-a", "a1", "Kiwi", 4.2), rec("gym-a", "a2", "Kiwi", 4.0), rec("gym-b", "b1", "Kiwi", 4.0, NOW - 120),
            rec("gym-b", "b2", "Lia", 5.0)]
    made = chain_board(rows)
    assert [(r["rank"], r["club"], r["athlete"], r["time_s"]) for r in made["rows"]] == [
        (1, "Berlin", "Kiwi", 4.0), (1, "Amsterdam", "Kiwi", 4.0), (3, "Berlin", "Lia", 5.0)]
    assert made["clubs"] == 2


def test_month_start_is_the_first_at_midnight():
    assert month_start(NOW, UTC) == datetime(2026, 12, 1, tzinfo=UTC).timestamp()


def test_the_board_reads_this_month_or_all_time_and_drops_what_does_not_rank(tmp_path):
    app = create_app(chain_config(tmp_path, "gym-a", "Amsterdam"), connect_mqtt=False)
    try:
        app.display.boards._wall = lambda: NOW
        app.display.boards._tz = UTC
        app.chain.store.put([rec("gym-a", "a1", "Kiwi", 4.0), rec("gym-b", "b1", "Lia", 3.5, LAST_MONTH),
                             rec("gym-b", "b2", "Mo", 3.0, status="DQ"),
                             rec("gym-b", "b3", "Noor", 2.0, drill="lane:start–finish"),
                             rec("gym-b", "b4", "Ola", 3.8, status="DELETED")])
        month = app.display.boards.board("chain", drill="sled:10 m", period="month")
        assert [(r["club"], r["athlete"]) for r in month["rows"]] == [("Amsterdam", "Kiwi")]
        assert month["title"] == "Chain · Reverse sled pull · 10 m" and month["subtitle"].startswith("this month")
        every = app.display.boards.board("chain", drill="sled:10 m", period="all")
        assert [r["athlete"] for r in every["rows"]] == ["Lia", "Kiwi"]
        assert app.chain.drills() == ["lane:start–finish", "sled:10 m"]
        client = app.flask.test_client()
        answer = client.get("/api/leaderboards?board=chain&drill=lane:start–finish&period=all").get_json()
        assert [r["athlete"] for r in answer["rows"]] == ["Noor"]
        assert client.get("/api/leaderboards?board=chain&period=week").status_code == 400
        assert client.get("/api/chain/drills").get_json() == {"drills": ["lane:start–finish", "sled:10 m"]}
    finally:
        app.stop()


def test_the_wall_takes_a_chain_board_alone_or_in_a_rotation():
    fixed = parse_selection({"board": "chain", "drill": "sled:10 m", "period": "all"}, ["sled1"])
    assert fixed.to_dict([])["boards"] == [{"board": "chain", "station": None, "drill": "sled:10 m", "period": "all"}]
    rotation = parse_selection({"board": "rotate", "boards": [{"board": "class"}, {"board": "chain"}]}, ["sled1"])
    assert rotation.to_dict([])["boards"][1] == {"board": "chain", "station": None, "drill": None, "period": "month"}
    assert parse_selection({"board": "station", "station": "sled1"}, ["sled1"]).to_dict([])["boards"] == [
        {"board": "station", "station": "sled1"}]  # other boards answer as before


@pytest.mark.parametrize("choice, problem", [
    ({"board": "chain", "period": "week"}, "period"),
    ({"board": "chain", "drill": 7}, "drill"),
    ({"board": "chain", "station": "sled1"}, "station"),
    ({"board": "class", "drill": "sled:10 m"}, "only board 'chain'"),
])
def test_a_bad_chain_choice_names_the_problem(choice, problem):
    with pytest.raises(SelectionError, match=problem):
        parse_selection(choice, ["sled1"])


def test_a_hub_not_in_a_chain_has_no_feed(tmp_path):
    base = Config()
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "h.db"))), connect_mqtt=False)
    try:
        client = app.flask.test_client()
        assert client.get("/api/results?since=0").status_code == 404
        assert client.get("/api/chain").status_code == 404
        assert client.get("/api/leaderboards?board=chain").get_json()["rows"] == []
    finally:
        app.stop()


@pytest.mark.parametrize("chain, problem", [
    ({"gym_id": "gym ams"}, "chain.gym_id"), ({"gym_id": "g", "club": "x" * 61}, "chain.club"),
    ({"gym_id": "g", "reconcile_from": "gym-b:8080"}, "chain.reconcile_from"),
    ({"gym_id": "g", "reconcile_interval_s": 1}, "chain.reconcile_interval_s"), ({"gym": "g"}, "unknown option 'gym'"),
])
def test_a_bad_chain_setting_is_named_at_start_up(chain, problem):
    from server.config import ConfigError, config_from_dict
    with pytest.raises(ConfigError, match=problem):
        config_from_dict({"chain": chain}, "sledhub.toml")
