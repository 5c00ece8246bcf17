"""A class's results as CSV (the tablet's *Export results*): columns, quoting, roles, 404."""

from __future__ import annotations

import doctest

from server.classes import results_csv
from server.classes.results_csv import RESULT_COLUMNS
from server.store.stations import Station
from tests.classes.api_support import make_users, signed_in


def test_the_example_in_the_docstring_holds():
    failures, tried = doctest.testmod(results_csv)
    assert tried > 0 and failures == 0


def test_rows_are_oldest_first_and_empty_cells_stay_empty():
    text = results_csv.results_csv([
        {"finished_at": 20, "station_id": "lane1", "athlete": "Ben", "status": "DNF", "reason": "time_cap", "time_s": None},
        {"finished_at": 10, "station_id": "sled1", "athlete": "Ava", "status": "OK", "reason": "finished", "time_s": 8,
         "metrics": {"distance_m": 10, "peak_power_w": 512.25}}], {"sled1": "Sled 1"})
    lines = text.split("\r\n")
    assert lines[0] == ",".join(RESULT_COLUMNS)
    assert lines[1] == "1970-01-01T00:00:10Z,Sled 1,Ava,OK,finished,8.000,,10.00,,512.2,"
    assert lines[2] == "1970-01-01T00:00:20Z,lane1,Ben,DNF,time_cap,,,,,,"


def test_the_route_answers_csv_to_instructors(hub_app):
    make_users(hub_app.db)
    hub_app.hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15}))
    hub_app.hub.reload_stations()
    instructor = signed_in(hub_app, "instructor")
    circuit = instructor.post("/api/circuits", json={"name": "C", "stations": [{"kind": "sled", "station_ids": ["sled1"]}]})
    class_id = instructor.post("/api/classes", json={"circuit_id": circuit.get_json()["id"], "name": "Tue 6 am"}).get_json()["id"]
    answer = instructor.get(f"/api/classes/{class_id}/results.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="sledhub-Tue-6-am-results.csv"'
    assert answer.get_data(as_text=True) == ",".join(RESULT_COLUMNS) + "\r\n"
    assert instructor.get("/api/classes/nope/results.csv").status_code == 404
    assert signed_in(hub_app, "display").get(f"/api/classes/{class_id}/results.csv").status_code in (401, 403)
