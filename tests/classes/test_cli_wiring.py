"""``sledhub user add`` and the wiring: a class running when the app stopped comes back PAUSED in the
next app on the same database."""

from __future__ import annotations

import io

from server.auth.cli import main_user_add
from server.auth.users import UserStore, bootstrap_hint, ensure_demo_user
from server.store.db import Database
from server.store.stations import Station
from tests.classes.api_support import make_users, signed_in


def test_user_add_generates_a_pin_shown_once(tmp_path, capsys):
    db_file = str(tmp_path / "hub.db")
    out = io.StringIO()
    assert main_user_add(["owner", "--role", "admin", "--db", db_file], stdout=out) == 0
    text = out.getvalue()
    pin = text.split("PIN: ")[1].split()[0]
    assert len(pin) == 6 and pin.isdigit()
    db = Database(db_file)
    try:
        users = UserStore(db)
        assert users.authenticate("OWNER", pin).role.value == "admin"
        assert pin not in db.query("SELECT pin_hash FROM users")[0]["pin_hash"].split("$")[-1]
    finally:
        db.close()


def test_user_add_from_stdin_duplicate_and_reset(tmp_path, capsys):
    db_file = str(tmp_path / "hub.db")
    assert main_user_add(["dana", "--db", db_file, "--pin-stdin"], stdin=io.StringIO("4821\n"),
                         stdout=io.StringIO()) == 0
    assert main_user_add(["Dana", "--db", db_file, "--pin-stdin"], stdin=io.StringIO("4821\n")) == 1
    assert "already exists" in capsys.readouterr().err
    assert main_user_add(["dana", "--db", db_file, "--pin-stdin"], stdin=io.StringIO("12\n")) == 2
    assert main_user_add(["dana", "--db", db_file, "--pin-stdin", "--reset-pin", "--role", "admin"],
                         stdin=io.StringIO("7777\n"), stdout=io.StringIO()) == 0
    db = Database(db_file)
    try:
        user = UserStore(db).authenticate("dana", "7777")
        assert user is not None and user.role.value == "admin"
    finally:
        db.close()


def test_demo_user_and_bootstrap_hint(db):
    assert "sledhub user add" in bootstrap_hint(db) and "/instructor" in bootstrap_hint(db)
    assert "PIN 1234" in ensure_demo_user(db)
    assert "PIN 1234" in ensure_demo_user(db)  # idempotent
    assert bootstrap_hint(db) is None
    assert UserStore(db).authenticate("demo", "1234").role.value == "instructor"


def _app(tmp_path):
    from server.app import create_app
    from tests.classes.conftest import base_config
    app = create_app(base_config(tmp_path), connect_mqtt=False)
    app.hub.start()
    return app


def test_a_running_class_survives_an_app_restart(tmp_path):
    first = _app(tmp_path)
    try:
        make_users(first.db)
        first.hub.stations.upsert(Station("sled1", "sled", "Sled 1", {"distance_m": 15}))
        first.hub.reload_stations()
        admin = signed_in(first, "admin")
        circuit = admin.post("/api/circuits", json={"name": "C", "stations": [
            {"kind": "sled", "station_ids": ["sled1"]}]}).get_json()
        members = [admin.post("/api/members", json={"name": n}).get_json()["id"] for n in ("A", "B", "C")]
        class_id = admin.post("/api/classes", json={"circuit_id": circuit["id"]}).get_json()["id"]
        admin.post(f"/api/classes/{class_id}/checkin", json={"member_ids": members})
        admin.post(f"/api/classes/{class_id}/start")
        view = admin.post(f"/api/classes/{class_id}/go").get_json()
        assert view["state"] == "WORK"
    finally:
        first.stop()
    second = _app(tmp_path)
    try:
        view = signed_in(second, None).get("/api/classes/current").get_json()["class"]
        assert (view["id"], view["state"], view["resume_to"], view["heat_no"]) == (class_id, "PAUSED", "READY", 1)
        assert [s["status"] for s in view["heat"]] == ["lost"]
        view = signed_in(second, "admin").post(f"/api/classes/{class_id}/resume").get_json()
        assert view["state"] == "READY" and [s["status"] for s in view["heat"]] == ["armed"]
    finally:
        second.stop()
