"""Free heats over REST: validation, roles, and the engine behind it."""

from __future__ import annotations

import pytest

from server.store.stations import Station
from tests.classes.api_support import make_users, signed_in
from tests.classes.conftest import hub_app  # noqa: F401  (fixture)


@pytest.fixture
def api(hub_app):  # noqa: F811
    make_users(hub_app.db)
    hub_app.hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15}))
    hub_app.hub.reload_stations()
    return signed_in(hub_app, "instructor")


@pytest.mark.parametrize("body, message", [
    ({}, "'entries' must be a non-empty list"),
    ({"entries": [{"athlete": "X"}]}, "needs a string 'station_id'"),
    ({"entries": [{"station_id": "sled1", "athlete": "X" * 41}]}, "at most 40 characters"),
    ({"entries": [{"station_id": "sled1"}, {"station_id": "sled1"}]}, "appears twice"),
])
def test_bad_heats_are_refused_with_a_reason(api, hub_app, body, message):  # noqa: F811
    r = api.post("/api/heats", json=body)
    assert r.status_code == 400 and message in r.get_json()["error"]
    assert hub_app.api_errors["400"] >= 1


def test_arm_go_and_abort(api, hub_app):  # noqa: F811
    r = api.post("/api/heats", json={"entries": [{"station_id": "sled1", "athlete": "Moose"}]})
    assert r.status_code == 201
    made = r.get_json()
    assert made[0]["station_id"] == "sled1" and made[0]["athlete"] == "Moose"
    assert api.post("/api/heats", json={"entries": [{"station_id": "nope"}]}).status_code == 409
    assert api.post("/api/heats/go", json={"station_ids": ["sled1"], "go_delay_s": 99}).status_code == 400
    r = api.post("/api/heats/go", json={"station_ids": ["sled1"]})
    assert r.status_code == 202 and isinstance(r.get_json()["go_t_us"], int)
    assert api.post("/api/stations/sled1/abort", json={"reason": ""}).status_code == 400
    assert api.post("/api/stations/sled1/abort", json={"reason": "athlete slipped"}).status_code == 202


def test_display_role_and_anonymous_cannot_arm(hub_app):  # noqa: F811
    make_users(hub_app.db)
    body = {"entries": [{"station_id": "sled1"}]}
    assert signed_in(hub_app, None).post("/api/heats", json=body).status_code == 401
    assert signed_in(hub_app, "display").post("/api/heats", json=body).status_code == 403
