"""The wall during a real class run by the class service (no sensors): the header shows the phase,
round and work countdown from the class clock; the tiles show the wall names of the members the class
armed; a page opened mid-class picks the clock and the tiles up from ``display:state``; after the class
the header says it ended."""

from __future__ import annotations

import pytest

from server.classes.circuits import parse_circuit
from server.classes.session import Event
from tests.display.support import add_member, serving_hub
from tests.support.waiting import wait_for

CIRCUIT = {"name": "Warm-up", "rounds": 2, "work_s": 40, "rest_s": 15, "countdown_s": 3,
           "stations": [{"name": "Sleds", "kind": "sled", "station_ids": ["sled1", "sled2"]}]}


@pytest.fixture
def class_hub(tmp_path):
    with serving_hub(tmp_path) as hub:
        yield hub


def header(page) -> tuple[str, str, str]:
    return tuple(page.locator(f'[data-testid="{t}"]').inner_text() for t in ("phase", "round", "class-clock"))


def test_the_wall_follows_a_class_and_picks_it_up_after_a_reload(page, class_hub):
    app, base = class_hub
    service = app.classes
    kinds = {s.id: s.kind for s in app.hub.stations.all()}
    circuit = service.circuits.save(parse_circuit(CIRCUIT, kinds))
    rocket = add_member(app, "Anna Kowalski", "Rocket")
    ben = add_member(app, "Ben Ode")
    shy = add_member(app, "Cara Secret", "Shy", opt_out=True)
    cls = service.create_class(circuit.id, "Tuesday 7am")
    service.check_in(cls["id"], [rocket, ben, shy])

    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    assert header(page)[0] == "Waiting for class"
    service.start(cls["id"])
    wait_for(lambda: header(page)[0] == "Get ready", 5, what="the READY phase on the wall")
    assert header(page)[1] == "Round 1/2 · heat 1/2"
    armed = {sid: page.locator(f'[data-testid="tile-athlete-{sid}"]') for sid in ("sled1", "sled2")}
    wait_for(lambda: all(a.inner_text() for a in armed.values()), 5, what="the armed members' names")
    shown = {a.inner_text() for a in armed.values()}
    assert shown <= {"Rocket", "Ben O.", "Member"} and len(shown) == 2

    service.control(cls["id"], Event.GO)
    wait_for(lambda: header(page)[0] == "Get set", 5, what="the GO countdown")
    wait_for(lambda: header(page)[0] == "Work", 6, what="the work interval")
    phase, _round, clock = header(page)
    assert page.locator('[data-testid="class-clock"]').get_attribute("data-tone") == "work"
    assert clock in ("00:40", "00:39", "00:38"), clock

    page.reload()  # a wall switched on mid-class
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    wait_for(lambda: header(page)[0] == "Work" and header(page)[2] not in ("--:--", "00:00"), 5,
             what="the class clock from display:state")
    assert {a.inner_text() for a in armed.values()} == shown

    service.control(cls["id"], Event.PAUSE)
    wait_for(lambda: header(page)[0] == "Paused", 5, what="the paused class")
    service.control(cls["id"], Event.FINISH)  # aborts the running attempts
    wait_for(lambda: all("ABORTED" in page.locator(f'[data-testid="tile-{sid}"]').inner_text()
                         for sid in ("sled1", "sled2")), 5, what="the aborted attempts")
    wait_for(lambda: header(page)[:2] == ("Class ended", "Tuesday 7am"), 5, what="the header after the class")
