"""Stations as the /setup form sends them: checks and the lane options that follow from the bindings."""

from __future__ import annotations

import pytest

from server.errors import Conflict, InvalidInput
from server.setup.stations import parse_station, slug

SENSORS = {("sled3", "force"): "load_cell", ("sled3", "wheel"): "encoder", ("lane9", "start"): "beam",
           ("lane9", "split1"): "beam", ("lane9", "split2"): "beam", ("lane9", "turn"): "beam",
           ("lane9", "finish"): "dual_beam"}


def parse(body, *, station_id=None, elsewhere=None, taken=()):
    return parse_station(body, station_id=station_id, sensors=SENSORS, bound_elsewhere=elsewhere or {},
                         taken_ids=set(taken))


def bind(*pairs):
    return [{"role": r, "node_id": n, "sensor_id": s} for r, n, s in pairs]


def test_a_sled_station_from_the_form():
    st = parse({"kind": "sled", "name": " Sled 3 ", "config": {"distance_m": 5},
                "bindings": bind(("wheel", "sled3", "wheel"), ("force", "sled3", "force"))}, taken={"sled-3"})
    assert (st.id, st.kind, st.name, st.config) == ("sled-3-2", "sled", "Sled 3", {"distance_m": 5})
    assert [(b.role, b.sensor_id) for b in st.bindings] == [("force", "force"), ("wheel", "wheel")]


def test_lane_options_follow_from_the_bindings():
    st = parse({"kind": "lane", "name": "Lane 9", "bindings": bind(("split2", "lane9", "split2"), ("finish", "lane9", "finish"),
                                                                   ("split1", "lane9", "split1"))})
    assert st.config == {"split_roles": ["split1", "split2"], "start_gate": False}
    shuttle = parse({"kind": "lane", "name": "Shuttle", "config": {"shuttle_legs": 2},
                     "bindings": bind(("start", "lane9", "start"), ("turn", "lane9", "turn"), ("finish", "lane9", "finish"))})
    assert shuttle.config == {"shuttle_legs": 2}


def test_every_problem_is_listed():
    with pytest.raises(InvalidInput) as exc:
        parse({"kind": "sled", "name": "", "colour": "red", "bindings": bind(
            ("force", "sled3", "wheel"), ("start", "sled3", "force"), ("wheel", "ghost", "wheel"))})
    e = exc.value
    joined = " | ".join(e.errors)
    assert "colour: unknown field" in joined and "name: 1 to 40" in joined
    assert "role 'force' needs a load cell; sled3/wheel is a wheel encoder" in joined
    assert "a sled station has no role 'start'" in joined
    assert "no sensor ghost/wheel has announced itself" in joined
    with pytest.raises(InvalidInput, match="distance_m: the pull distance"):
        parse({"kind": "sled", "name": "Sled", "bindings": []})
    with pytest.raises(InvalidInput, match="a turn gate is for shuttles"):
        parse({"kind": "lane", "name": "L", "bindings": bind(("turn", "lane9", "turn"), ("finish", "lane9", "finish"))})
    with pytest.raises(InvalidInput, match="bound twice"):
        parse({"kind": "lane", "name": "L", "bindings": bind(("start", "lane9", "start"), ("finish", "lane9", "start"))})
    with pytest.raises(InvalidInput, match="config: L: HOLD_IN_BEAM needs a start gate"):
        parse({"kind": "lane", "name": "L", "config": {"start_mode": "HOLD_IN_BEAM"},
               "bindings": bind(("finish", "lane9", "finish"))})


def test_a_sensor_in_use_elsewhere_and_a_taken_id_are_conflicts():
    with pytest.raises(Conflict) as exc:
        parse({"kind": "sled", "name": "Sled 3", "config": {"distance_m": 5},
               "bindings": bind(("force", "sled3", "force"))}, elsewhere={("sled3", "force"): "Sled 1"})
    assert "bound at Sled 1" in exc.value.message  # the gym's name, not the station id
    with pytest.raises(Conflict) as exc:
        parse({"id": "sled1", "kind": "sled", "name": "Sled", "config": {"distance_m": 5}}, taken={"sled1"})
    assert "exists already" in exc.value.message
    # replacing a station keeps its id
    st = parse({"kind": "sled", "name": "Renamed", "config": {"distance_m": 5}}, station_id="sled1", taken={"sled2"})
    assert st.id == "sled1"


def test_slug():
    assert slug("Sled 3", set()) == "sled-3"
    assert slug("Sled 3", {"sled-3", "sled-3-2"}) == "sled-3-3"
    assert slug("!!!", set()) == "station"
