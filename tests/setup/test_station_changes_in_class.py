"""Station changes during a class (issue 14): adding a station, or changing one that is not timing
anything, goes through while another station runs an attempt (which goes on undisturbed); changing or
removing the running station itself is refused — and every message names stations by their gym names,
never by internal ids."""

from __future__ import annotations

from server.engine.enums import AttemptState
from tests.classes.api_support import signed_in
from tests.support.waiting import wait_for
from tests.setup.test_api import BEAM, LOAD_CELL, WHEEL, FakeNode, app, sled_body  # noqa: F401

LANE = {"kind": "lane", "name": "Back lane", "bindings": [{"role": "finish", "node_id": "lane9", "sensor_id": "finish"}]}


def state(app, station_id: str) -> tuple[AttemptState, str | None]:  # noqa: F811
    engine = app.hub.engine
    return app.hub.pipeline.run_sync(lambda: (engine.state_of(station_id), engine.attempt_id_of(station_id)))


def test_stations_not_running_can_change_while_another_times_an_attempt(app):  # noqa: F811
    FakeNode(app, "new-sled", [LOAD_CELL, WHEEL]).connect()
    FakeNode(app, "sled4", [LOAD_CELL, WHEEL]).connect()
    FakeNode(app, "lane9", [BEAM]).connect()
    admin = signed_in(app, "admin")
    assert admin.post("/api/setup/stations", json=sled_body("Front sled")).status_code == 201
    assert admin.post("/api/setup/stations", json=LANE).status_code == 201
    [armed] = app.hub.arm([("back-lane", "Dana", None, None)])
    wait_for(lambda: state(app, "back-lane")[0] is AttemptState.ARMED, 5, 0.02, "the arm applied at the watermark")
    assert state(app, "back-lane")[1] == armed.attempt_id

    # adding a station: allowed (it used to be refused naming "back-lane, front-sled")
    added = admin.post("/api/setup/stations", json=sled_body("Corner sled", node="sled4"))
    assert added.status_code == 201, added.get_json()
    # changing a station that is not running: allowed
    changed = admin.put("/api/setup/stations/front-sled", json={**sled_body("Front sled"), "config": {"distance_m": 12}})
    assert changed.status_code == 200, changed.get_json()
    assert app.hub.engine.stations["front-sled"].distance_m == 12
    # the running station's attempt went on undisturbed
    assert state(app, "back-lane") == (AttemptState.ARMED, armed.attempt_id)

    # changing or removing the running station: refused, by its gym name
    refused = admin.put("/api/setup/stations/back-lane", json={**LANE, "name": "Renamed lane"})
    assert refused.status_code == 409
    message = refused.get_json()["error"]
    assert message.startswith("Back lane is timing an attempt") and "back-lane" not in message
    removed = admin.delete("/api/setup/stations/back-lane")
    assert removed.status_code == 409 and removed.get_json()["error"].startswith("Back lane is timing an attempt")
    calibrate = admin.post("/api/setup/wizards", json={"node_id": "lane9", "sensor_id": "finish"})
    assert calibrate.status_code == 409 and calibrate.get_json()["error"].startswith("Back lane is timing")

    # a sensor bound at another station is named by that station's gym name
    taken = admin.post("/api/setup/stations", json=sled_body("Spare sled"))
    assert taken.status_code == 409
    assert "is bound at Front sled" in taken.get_json()["error"] and "front-sled" not in taken.get_json()["error"]

    # once the attempt has ended the lane can change too
    app.hub.abort("back-lane", "aborted by instructor")
    wait_for(lambda: state(app, "back-lane")[0] is AttemptState.ABORTED, 5, 0.02, "the abort applied")
    assert admin.put("/api/setup/stations/back-lane", json={**LANE, "name": "Renamed lane"}).status_code == 200
