"""Issue 16: sessions live on the hub (sign-out, a new PIN and "sign out everywhere" end them at once,
for copies of the cookie and open Socket.IO connections too), and PIN guessing is slowed without
locking the owner out of their own tablet."""

from __future__ import annotations

import io

import pytest

from server.auth.cli import main_user_add
from server.auth.ratelimit import SignInLimiter
from tests.classes.api_support import PINS, ApiClient, make_users, signed_in
from tests.classes.conftest import FakeClock

TABLET = {"REMOTE_ADDR": "192.168.1.20"}
INTRUDER = {"REMOTE_ADDR": "192.168.1.66"}


@pytest.fixture
def app(hub_app):
    make_users(hub_app.db)
    return hub_app


@pytest.fixture
def pace(app):
    """The sign-in limiter on an injected clock (s)."""
    clock = FakeClock(1000.0)
    app.auth.limiter = SignInLimiter(clock)
    return clock


def user_id(app, name: str) -> str:
    return next(u.id for u in app.auth.users.all() if u.name == name)


def copy_of(app, api: ApiClient) -> ApiClient:
    """Another browser holding a copy of ``api``'s session cookie (and its CSRF token)."""
    thief = ApiClient(app.flask.test_client())
    thief.client.set_cookie("sledhub_session", api.client.get_cookie("sledhub_session").value)
    thief.csrf = api.csrf
    return thief


def sign_in_from(api: ApiClient, name: str, pin: str, where: dict):
    response = api.post("/api/session", json={"name": name, "pin": pin}, environ_base=where)
    if response.status_code == 200:
        api.csrf = response.get_json()["csrf_token"]
    return response


# sessions ---------------------------------------------------------------------------------------------
def test_sign_out_ends_every_copy_of_the_cookie(app):
    tablet = signed_in(app, "instructor")
    thief = copy_of(app, tablet)
    assert thief.get("/api/session").get_json()["signed_in"]
    assert tablet.delete("/api/session").status_code == 200
    assert thief.post("/api/stop-all").status_code == 401
    assert thief.get("/api/session").get_json()["signed_in"] is False


def test_the_hub_keeps_only_a_hash_of_the_session_token(app):
    tablet = signed_in(app, "instructor")
    token = tablet.client.get_cookie("sledhub_session").value
    rows = app.db.query("SELECT token_hash, csrf FROM sessions")
    assert len(rows) == 1 and rows[0]["csrf"] == tablet.csrf
    assert all(len(r["token_hash"]) == 64 and r["token_hash"] not in token for r in rows)


def test_a_new_pin_ends_the_users_other_sessions(app):
    tablet, phone = signed_in(app, "instructor"), signed_in(app, "instructor")
    admin, admin_laptop = signed_in(app, "admin"), signed_in(app, "admin")
    assert admin.patch(f"/api/users/{user_id(app, 'instructor')}", json={"pin": "2468"}).status_code == 200
    assert tablet.post("/api/stop-all").status_code == 401 and phone.post("/api/stop-all").status_code == 401
    assert admin.patch(f"/api/users/{user_id(app, 'admin')}", json={"pin": "13579"}).status_code == 200
    assert admin.post("/api/stop-all").status_code == 200  # the admin who changed it stays signed in
    assert admin_laptop.post("/api/stop-all").status_code == 401
    assert admin.patch(f"/api/users/{user_id(app, 'display')}", json={"role": "instructor"}).status_code == 200
    assert admin.post("/api/stop-all").status_code == 200  # a role change alone ends nothing


def test_a_pin_reset_from_the_command_line_ends_the_sessions(app):
    tablet = signed_in(app, "instructor")
    assert main_user_add(["instructor", "--db", app.db.path, "--pin-stdin", "--reset-pin"],
                         stdin=io.StringIO("8642\n"), stdout=io.StringIO()) == 0
    assert tablet.post("/api/stop-all").status_code == 401


def test_sign_out_everywhere(app):
    tablet, phone = signed_in(app, "instructor"), signed_in(app, "instructor")
    admin = signed_in(app, "admin")
    uid = user_id(app, "instructor")
    assert signed_in(app, "instructor").delete(f"/api/users/{uid}/sessions").status_code == 403
    answer = admin.delete(f"/api/users/{uid}/sessions")
    assert answer.status_code == 200
    assert answer.get_json() == {"id": uid, "sessions_ended": 3, "devices_forgotten": 3}
    assert tablet.post("/api/stop-all").status_code == 401 and phone.post("/api/stop-all").status_code == 401
    assert admin.post("/api/stop-all").status_code == 200
    assert admin.delete("/api/users/nobody/sessions").status_code == 404


def test_an_ended_session_loses_its_live_socket(app):
    tablet = signed_in(app, "instructor")
    thief = copy_of(app, tablet)
    socks = [app.socketio.test_client(app.flask, flask_test_client=api.client) for api in (tablet, thief)]
    try:
        assert all(s.is_connected() for s in socks)
        assert socks[1].emit("class:stop_all", {"csrf": thief.csrf}, callback=True)["ok"] is True
        assert tablet.delete("/api/session").status_code == 200
        assert not any(s.is_connected() for s in socks)
    finally:
        for s in socks:
            if s.is_connected():
                s.disconnect()


def test_a_removed_user_loses_their_live_socket(app):
    tablet = signed_in(app, "instructor")
    sock = app.socketio.test_client(app.flask, flask_test_client=tablet.client)
    anonymous = app.socketio.test_client(app.flask)
    try:
        assert signed_in(app, "admin").delete(f"/api/users/{user_id(app, 'instructor')}").status_code == 200
        assert not sock.is_connected() and anonymous.is_connected()
    finally:
        for s in (sock, anonymous):
            if s.is_connected():
                s.disconnect()


def test_a_socket_whose_session_ended_is_refused_even_if_still_open(app):
    tablet = signed_in(app, "instructor")
    sock = app.socketio.test_client(app.flask, flask_test_client=tablet.client)
    try:
        app.auth.disconnect_socket = None  # as if the close were still under way
        admin = signed_in(app, "admin")
        assert admin.delete(f"/api/users/{user_id(app, 'instructor')}/sessions").status_code == 200
        ack = sock.emit("class:stop_all", {"csrf": tablet.csrf}, callback=True)
        assert (ack["ok"], ack["status"]) == (False, 401)
    finally:
        sock.disconnect()


# PIN guessing -----------------------------------------------------------------------------------------
def guesses_in(app, pace: FakeClock, seconds: float, name: str = "instructor") -> int:
    """How many wrong PINs one intruder gets checked in ``seconds``, trying again as soon as allowed
    (from a fresh address each time, as if it had many)."""
    intruder = ApiClient(app.flask.test_client())
    end, checked, n = pace.t + seconds, 0, 0
    while True:
        n += 1
        answer = sign_in_from(intruder, name, f"{n % 10000:04d}" if f"{n % 10000:04d}" != PINS[name] else "0000",
                              {"REMOTE_ADDR": f"10.0.{n // 250 % 250}.{n % 250 + 1}"})
        if answer.status_code == 429:
            wait = int(answer.headers["Retry-After"])
            assert answer.get_json()["retry_after_s"] == wait
            if pace.t + wait > end:
                break  # leaves the name locked, as right after a failure
            pace.advance(wait)
        else:
            assert answer.status_code == 401
            checked += 1
    return checked


def test_guessing_a_four_digit_pin_takes_days(app, pace):
    per_day = guesses_in(app, pace, 24 * 3600)
    assert per_day <= 120
    assert 10_000 / 2 / per_day >= 30  # days, on average, for a 4-digit PIN


def test_the_owners_tablet_gets_in_while_the_name_is_under_attack(app, pace):
    tablet = ApiClient(app.flask.test_client())
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 200
    assert tablet.delete("/api/session").status_code == 200
    guesses_in(app, pace, 3600)
    # the name is locked for every device the instructor has not signed in from...
    elsewhere = ApiClient(app.flask.test_client())
    assert sign_in_from(elsewhere, "instructor", PINS["instructor"], TABLET).status_code == 429
    # ...but the tablet gets in at once, from its own address or any other
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 200
    assert tablet.post("/api/stop-all").status_code == 200
    assert sign_in_from(tablet, "instructor", PINS["instructor"], INTRUDER).status_code == 200
    # the tablet's trust is for that user only
    assert sign_in_from(tablet, "admin", "0000", TABLET).status_code == 401


def test_a_trusted_device_is_slowed_too_when_it_guesses(app, pace):
    tablet = ApiClient(app.flask.test_client())
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 200
    for _ in range(5):
        assert sign_in_from(tablet, "instructor", "0000", TABLET).status_code == 401
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 429
    pace.advance(1)
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 200


def test_sign_out_everywhere_withdraws_the_devices_trust(app, pace):
    tablet = ApiClient(app.flask.test_client())
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 200
    admin = signed_in(app, "admin")
    assert admin.delete(f"/api/users/{user_id(app, 'instructor')}/sessions").status_code == 200
    guesses_in(app, pace, 600)
    assert sign_in_from(tablet, "instructor", PINS["instructor"], TABLET).status_code == 429


def test_refused_sign_ins_are_answered_and_counted_like_every_error(app, pace):
    intruder = ApiClient(app.flask.test_client())
    for _ in range(5):
        assert sign_in_from(intruder, "instructor", "0000", INTRUDER).status_code == 401
    paced = sign_in_from(intruder, "instructor", "0000", INTRUDER)
    assert paced.status_code == 429 and paced.headers["Retry-After"] == str(paced.get_json()["retry_after_s"])
    assert paced.get_json()["status"] == 429
    errors = intruder.get("/api/health").get_json()["api_errors"]
    assert errors.get("401") == 5 and errors.get("429") == 1
