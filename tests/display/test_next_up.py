"""The wall's *Next up* panel and *Class ended* header from class views (pure)."""

from __future__ import annotations

from server.boards.next_up import ended_class, next_up


def identify(member_id, athlete):
    names = {"m1": ("Rocket", False), "m2": ("Ben O.", False), "m3": ("Member", True)}
    return names.get(member_id, (athlete, False)) if member_id else (athlete, False)


def slot(station, member, athlete):
    return {"station_id": station, "station_name": station.title(), "member_id": member, "athlete": athlete,
            "opt_out": member == "m3", "status": "waiting"}


HEAT = [slot("sled1", "m1", "Rocket"), slot("sled2", "m2", "Ben Ode")]
NEXT = {"round_no": 1, "heat_no": 2, "entries": [slot("sled1", "m3", "Cara Secret"), slot("sled2", "m2", "Ben Ode")]}


def view(state, resume_to=None, nxt=NEXT):
    return {"state": state, "resume_to": resume_to, "round_no": 1, "heat_no": 1, "heat": HEAT, "next": nxt}


def test_while_a_heat_works_the_next_heat_is_up_with_wall_names():
    got = next_up(view("WORK"), identify)
    assert got == {"round_no": 1, "heat_no": 2, "entries": [
        {"station_id": "sled1", "station_name": "Sled1", "athlete": "Member", "hidden": True},
        {"station_id": "sled2", "station_name": "Sled2", "athlete": "Ben O.", "hidden": False}]}
    assert next_up(view("PAUSED", resume_to="WORK"), identify)["heat_no"] == 2
    assert next_up(view("WORK", nxt=None), identify) is None  # the last heat runs: nothing follows


def test_in_rest_or_get_ready_the_heat_at_the_pointer_is_up():
    for state, resume in (("READY", None), ("TRANSITION", None), ("PAUSED", "TRANSITION")):
        got = next_up(view(state, resume_to=resume), identify)
        assert (got["round_no"], got["heat_no"]) == (1, 1)
        assert [e["athlete"] for e in got["entries"]] == ["Rocket", "Ben O."]


def test_no_class_or_a_finished_class_has_nothing_up():
    assert next_up(None, identify) is None
    assert next_up(view("DONE"), identify) is None
    assert next_up(view("SETUP"), identify) is None


def test_the_header_says_a_class_ended_today_only():
    done = {"id": "c1", "name": "Tuesday 7am", "state": "DONE", "finished_at": 1_000.0}
    assert ended_class(done, since_s=900.0) == {"id": "c1", "name": "Tuesday 7am", "finished_at": 1_000.0}
    assert ended_class(done, since_s=1_001.0) is None  # yesterday's class
    assert ended_class({**done, "state": "WORK"}, since_s=0.0) is None
    assert ended_class(None, since_s=0.0) is None
