"""First run (issue 14): a hub with no users offers, once, to create the owner (an admin) from the
tablet; refused (409, a clear message) as soon as one user exists, and one of two racing tablets wins."""

from __future__ import annotations

import threading

import pytest

from server.auth.roles import Role
from server.auth.users import OWNER_TAKEN, UserStore, bootstrap_hint, ensure_demo_admin, ensure_demo_user
from server.errors import Conflict, InvalidInput
from server.store.db import Database
from tests.display.support import HubClient, serving_hub


def race(n: int, attempt) -> list:
    """Run ``attempt(i)`` on ``n`` threads released together; their outcomes (value or exception)."""
    start = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        start.wait(5)
        try:
            out[i] = attempt(i)
        except Exception as exc:  # the outcome under test
            out[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return out


def test_the_owner_is_created_once_over_http_and_signed_in(tmp_path):
    with serving_hub(tmp_path) as (app, base):
        tablet = HubClient(base)
        assert tablet.get("/api/session")["first_run"] is True
        assert "/instructor" in bootstrap_hint(app.db)
        status, state = tablet.request("POST", "/api/owner", {"name": "Gym Owner", "pin": "482913"})
        assert status == 201
        assert (state["signed_in"], state["role"], state["user"]["name"], state["first_run"]) == (
            True, "admin", "Gym Owner", False)
        tablet.csrf = state["csrf_token"]
        # signed in as an admin at once: adds an instructor without any command line
        assert tablet.call("POST", "/api/users", {"name": "Dana", "role": "instructor", "pin": "2468"})["role"] == \
            "instructor"
        other = HubClient(base)
        assert other.get("/api/session")["first_run"] is False
        status, refused = other.request("POST", "/api/owner", {"name": "Intruder", "pin": "1111"})
        assert (status, refused["error"]) == (409, OWNER_TAKEN)
        assert {u.name for u in UserStore(app.db).all()} == {"Gym Owner", "Dana"}
        # a bad owner is a 400 naming the field, and creates nothing
        fresh_status, bad = HubClient(base).request("POST", "/api/owner", {"name": "", "pin": "12"})
        assert fresh_status == 400 and "name" in bad["error"]


def test_two_tablets_racing_over_http_one_wins(tmp_path):
    with serving_hub(tmp_path) as (app, base):
        answers = race(6, lambda i: HubClient(base).request("POST", "/api/owner", {"name": f"Owner {i}",
                                                                                   "pin": "135790"}))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201, 409, 409, 409, 409, 409], answers
        assert [u.role for u in UserStore(app.db).all()] == [Role.ADMIN]


def test_two_hub_connections_racing_on_one_database_one_wins(tmp_path):
    """The claim is one SQLite write transaction, not a Python lock: two connections to the same file."""
    path = str(tmp_path / "hub.db")
    dbs = [Database(path), Database(path)]
    try:
        outcomes = race(2, lambda i: UserStore(dbs[i]).create_owner(f"Owner {i}", "135790"))
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), outcomes
        assert UserStore(dbs[0]).count() == 1
    finally:
        for db in dbs:
            db.close()


def test_create_owner_checks_its_fields_and_refuses_once_anyone_exists(tmp_path):
    db = Database(str(tmp_path / "hub.db"))
    try:
        users = UserStore(db)
        with pytest.raises(InvalidInput, match="pin"):
            users.create_owner("Owner", "12")
        assert users.count() == 0
        ensure_demo_user(db)  # an instructor is a user: no owner offer any more
        with pytest.raises(Conflict, match="already has its owner"):
            users.create_owner("Owner", "135790")
    finally:
        db.close()


def test_the_demo_prints_an_admin_sign_in_that_works(tmp_path):
    db = Database(str(tmp_path / "hub.db"))
    try:
        line = ensure_demo_admin(db)
        assert line == ensure_demo_admin(db)  # idempotent
        assert "admin 'owner', PIN 9876" in line
        assert UserStore(db).authenticate("owner", "9876").role is Role.ADMIN
    finally:
        db.close()
