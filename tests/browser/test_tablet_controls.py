"""The instructor tablet's controls in Debian's Chromium, on a hub with the demo stations but no sensor
nodes (nothing runs, so every state holds still): keypad sign-in, the roster and an admin's quick
warm-up, pause/resume, skip, abort and re-arm, STOP ALL, late arrivals — at both tablet sizes.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.app import create_app
from server.auth.ratelimit import SignInLimiter
from server.auth.users import UserStore, ensure_demo_user
from server.config import Config
from server.sim.demo import demo_stations
from tests.browser.test_tablet import (CIRCUIT, MEMBERS, check_layout, screenshot,  # noqa: F401
                                       shots, sign_in_with_keypad, tablet_page, tid)
from tests.classes.conftest import FakeClock
from tests.display.support import HubClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def quiet_hub(tmp_path):
    """A hub with the demo's stations and no MQTT (no node ever reports): ``(app, base, admin client)``."""
    base = Config()
    config = replace(base, store=replace(base.store, path=str(tmp_path / "hub.db")),
                     http=replace(base.http, ping_interval_s=1))
    app = create_app(config, connect_mqtt=False)
    for station in demo_stations():
        app.hub.stations.upsert(station)
    app.hub.reload_stations()
    ensure_demo_user(app.db)
    UserStore(app.db).create("owner", "admin", "975310")
    port = app.serve_in_thread("127.0.0.1", 0)
    app.start()
    url = f"http://127.0.0.1:{port}"
    admin = HubClient(url)
    admin.sign_in("owner", "975310")
    try:
        yield app, url, admin
    finally:
        app.stop()


def known_names(page: Page, *names: str) -> None:
    """A tablet that signed in with these names before (the sign-in screen offers them to tap)."""
    page.add_init_script(f"localStorage.setItem('sledhub.instructors', JSON.stringify({list(names)!r}))")


def seed(admin: HubClient, members: int = 4, rounds: int = 1) -> tuple[dict, list[dict]]:
    circuit = admin.call("POST", "/api/circuits", {**CIRCUIT, "rounds": rounds})
    return circuit, [admin.call("POST", "/api/members", {"name": n, "nickname": k}) for n, k in MEMBERS[:members]]


def running_class(page: Page, admin: HubClient, base: str, members: int) -> str:
    """Sign in as the demo instructor, create a class of two rounds, check ``members`` in, start: READY."""
    circuit, _ = seed(admin, members, rounds=2)
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    tid(page, "circuit", circuit_id=circuit["id"]).tap()
    for i in range(members):
        tid(page, "checkin-member").nth(i).tap()
    expect(tid(page, "checkin-count")).to_have_text(str(members))
    expect(tid(page, "start-class")).to_be_enabled()
    tid(page, "start-class").tap()
    expect(tid(page, "phase")).to_contain_text("Ready")
    return page.evaluate("window.sledhub.view.id")


def state(admin: HubClient, class_id: str) -> str:
    return admin.call("GET", f"/api/classes/{class_id}")["state"]


def test_keypad_sign_in_refuses_a_wrong_pin_then_the_socket_carries_the_session(tablet_page, quiet_hub,  # noqa: F811
                                                                                 shots):  # noqa: F811
    app, base, admin = quiet_hub
    circuit, members = seed(admin)
    page = tablet_page
    known_names(page, "demo", "owner")
    page.goto(f"{base}/instructor")
    expect(tid(page, "signin-name")).to_have_count(2)
    expect(tid(page, "signin-other")).to_be_hidden()
    tid(page, "signin-name", name="demo").tap()
    expect(tid(page, "pin-ok")).to_be_disabled()
    for key in ("9", "9", "9", "8", "pin-back", "9"):
        tid(page, key if key == "pin-back" else f"key-{key}").tap()
    expect(page.locator('[data-testid="pin-dots"] .dot')).to_have_count(4)
    tid(page, "pin-ok").tap()
    expect(tid(page, "signin-error")).to_contain_text("wrong name or PIN")
    expect(page.locator('[data-testid="pin-dots"] .dot')).to_have_count(0)

    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    expect(tid(page, "signed-in-as")).to_have_text("demo")
    check_layout(page, "home")
    screenshot(page, shots / "tablet-home.png")
    # check-in goes over the socket: it only works if the socket reconnected with the new session
    tid(page, "circuit", circuit_id=circuit["id"]).tap()
    tid(page, "checkin-member", member_id=members[0]["id"]).tap()
    confirmed = f'[data-testid="checkin-member"][data-member-id="{members[0]["id"]}"][data-checked="true"]:not(.pending)'
    expect(page.locator(confirmed)).to_have_count(1)
    class_id = page.evaluate("window.sledhub.view.id")
    assert [p["member_id"] for p in admin.call("GET", f"/api/classes/{class_id}")["checked_in"]] == [members[0]["id"]]
    # tap again: checked out
    tid(page, "checkin-member", member_id=members[0]["id"]).tap()
    expect(tid(page, "checkin-count")).to_have_text("0")
    expect(tid(page, "start-class")).to_be_disabled()

    # a reload keeps the class in check-in; sign out takes two taps and ends the session
    page.reload()
    expect(tid(page, "screen-checkin")).to_be_visible()
    tid(page, "checkin-back").tap()
    tid(page, "sign-out").tap()
    expect(tid(page, "screen-home")).to_be_visible()
    tid(page, "sign-out").tap()
    expect(tid(page, "screen-signin")).to_be_visible()
    assert page.evaluate("fetch('/api/session').then((r) => r.json())")["signed_in"] is False


def test_sign_out_everywhere_takes_the_tablet_back_to_sign_in_at_once(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    expect(page.locator("body[data-online='1']")).to_have_count(1)
    demo_id = next(u["id"] for u in admin.call("GET", "/api/users") if u["name"] == "demo")
    assert admin.call("DELETE", f"/api/users/{demo_id}/sessions")["sessions_ended"] == 1
    # the hub's signed_out reaches the page over the socket: no tap, no REST call needed
    expect(tid(page, "screen-signin")).to_be_visible()
    # the closed socket comes back (as a display) and a new sign-in works over it
    expect(page.locator("body[data-online='1']")).to_have_count(1)
    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    assert page.evaluate("fetch('/api/session').then((r) => r.json())")["signed_in"] is True


def test_the_tablet_signs_in_while_its_instructors_pin_is_being_guessed(tablet_page, quiet_hub):  # noqa: F811
    """The device cookie works in a real browser: the name is held back for everyone else, not for
    the tablet the instructor has signed in on before."""
    app, base, admin = quiet_hub
    clock = FakeClock(1000.0)
    app.auth.limiter = SignInLimiter(clock)  # sign-in waits on an injected clock
    page = tablet_page
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    tid(page, "sign-out").tap()
    tid(page, "sign-out").tap()
    expect(tid(page, "screen-signin")).to_be_visible()

    intruder, refused = HubClient(base), 0
    while refused < 15:
        status, answer = intruder.request("POST", "/api/session", {"name": "demo", "pin": f"{refused:04d}"})
        if status == 429:
            clock.advance(answer["retry_after_s"])
        else:
            assert status == 401
            refused += 1
    assert HubClient(base).request("POST", "/api/session", {"name": "demo", "pin": "1234"})[0] == 429

    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    expect(tid(page, "signed-in-as")).to_have_text("demo")


def test_run_controls_pause_skip_abort_rearm_stop_all_and_late_arrivals(tablet_page, quiet_hub):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    class_id = running_class(page, admin, base, members=4)

    # abort a station while READY: its entry is done for this heat; Re-arm puts it back
    tid(page, "station-abort", station="sled1").tap()
    expect(tid(page, "station-abort", station="sled1")).to_have_text("Tap again to abort")  # destructive: confirmed
    tid(page, "station-abort", station="sled1").tap()
    expect(page.locator('[data-testid="station"][data-station="sled1"]')).to_have_attribute("data-entry", "aborted")
    expect(tid(page, "arm")).to_be_visible()
    tid(page, "arm").tap()
    expect(page.locator('[data-testid="station"][data-station="sled1"]')).to_have_attribute("data-entry", "armed")
    expect(tid(page, "arm")).to_be_hidden()

    # GO (nobody runs here): WORK with the countdown, then pause freezes the clock, resume goes on
    tid(page, "go").tap()
    expect(tid(page, "countdown")).to_be_visible()
    expect(tid(page, "phase")).to_contain_text("Work")
    expect(tid(page, "slot-now", station="sled1")).to_be_disabled()  # the running heat cannot change
    tid(page, "pause").tap()
    expect(tid(page, "phase")).to_contain_text("Paused")
    clock = page.evaluate("(() => { const c = window.sledhub.run.clock; "
                          "return [c.base.running, c.remaining(), c.base.remaining_s]; })()")
    assert clock[0] is False and clock[1] == clock[2] > 0, "a paused clock does not count down"
    tid(page, "resume").tap()
    expect(tid(page, "phase")).not_to_contain_text("Paused")  # "Paused (Work)" contains "Work" too
    expect(tid(page, "phase")).to_contain_text("Work")
    assert state(admin, class_id) == "WORK"

    # skip ends the work interval: the rest (TRANSITION) with the next heat up
    tid(page, "skip").tap()
    expect(tid(page, "phase")).to_contain_text("Rest")
    check_layout(page, "run")

    # a late arrival checks in from the run view (joins from the next round)
    late = admin.call("POST", "/api/members", {"name": "Zoe Late", "nickname": "Nova"})
    tid(page, "late-arrivals").tap()
    expect(tid(page, "late-sheet")).to_be_visible()
    tid(page, "checkin-member", member_id=late["id"]).tap()
    expect(page.locator(f'[data-member-id="{late["id"]}"][data-checked="true"]:not(.pending)')).to_have_count(1)
    expect(tid(page, "late-sheet").locator('[data-testid="checkin-count"]')).to_have_text("5")
    check_layout(page, "late arrivals")
    tid(page, "sheet-close").tap()
    expect(tid(page, "late-sheet")).to_be_hidden()

    # STOP ALL: the class pauses; resume continues
    tid(page, "stop-all").tap()
    expect(tid(page, "phase")).to_contain_text("Paused")
    expect(tid(page, "toast")).to_contain_text("STOPPED")
    assert state(admin, class_id) == "PAUSED"
    tid(page, "resume").tap()
    expect(tid(page, "phase")).not_to_contain_text("Paused")


def test_admin_quick_warm_up_roster_and_csv(tablet_page, quiet_hub, tmp_path):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    page.goto(f"{base}/instructor")
    # a first sign-in on this tablet (no names to tap yet): type the name once, PIN on the keypad
    expect(tid(page, "signin-name")).to_have_count(0)
    tid(page, "signin-other").fill("owner")
    for digit in "975310":
        tid(page, f"key-{digit}").tap()
    tid(page, "pin-ok").tap()
    expect(tid(page, "screen-home")).to_be_visible()

    # the roster: add a walk-in, opt a member out, import a CSV
    tid(page, "open-roster").tap()
    tid(page, "member-name").fill("Ivy Walker")
    tid(page, "member-nickname").fill("Comet")
    tid(page, "add-member").locator("button").tap()
    expect(tid(page, "roster-member")).to_have_count(1)
    tid(page, "optout").tap()
    expect(tid(page, "optout")).to_have_text("Off boards")
    check_layout(page, "roster")
    csv = tmp_path / "roster.csv"
    csv.write_text("name,nickname,opt_out\nJon Bell,Otter,no\nKim Sato,Flash,yes\n", encoding="utf-8")
    tid(page, "roster-import").set_input_files(str(csv))
    expect(tid(page, "roster-member")).to_have_count(3)
    expect(tid(page, "toast")).to_contain_text("2 new")
    expect(tid(page, "roster-export")).to_have_attribute("href", "/api/members/export")
    members = {m["name"]: m for m in admin.call("GET", "/api/members")}
    assert members["Ivy Walker"]["opt_out"] is True and members["Ivy Walker"]["nickname"] == "Comet"
    assert members["Kim Sato"]["opt_out"] is True

    # no circuit yet: one tap makes a quick warm-up from every station and opens check-in
    tid(page, "roster-back").tap()
    tid(page, "quick-warmup").tap()
    expect(tid(page, "screen-checkin")).to_be_visible()
    (circuit,) = admin.call("GET", "/api/circuits")
    assert [(s["kind"], s["station_ids"]) for s in circuit["stations"]] == [
        ("sled", ["sled1", "sled2"]), ("lane", ["lane1", "lane2"])]
    expect(tid(page, "checkin-member")).to_have_count(3)


def test_thirty_members_check_in_by_tapping_in_well_under_thirty_seconds(tablet_page, quiet_hub,  # noqa: F811
                                                                          shots):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    circuit = admin.call("POST", "/api/circuits", CIRCUIT)
    first = ["Ava", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jade"]
    last = ["Stone", "Ortiz", "Park"]
    nicks = ["Rocket", "Moose", "Kiwi", "Blaze", "Tank", "Pixie", "Viper", "Bear", "Comet", "Maple"]
    for i in range(30):
        admin.call("POST", "/api/members", {"name": f"{first[i % 10]} {last[i // 10]}",
                                             "nickname": "" if i % 4 == 3 else f"{nicks[i % 10]}{i // 10 or ''}"})
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    tid(page, "circuit", circuit_id=circuit["id"]).tap()
    buttons = tid(page, "checkin-member")
    expect(buttons).to_have_count(30)
    # every name on one portrait screen: no scrolling, no search
    off_screen = buttons.evaluate_all("(bs) => bs.filter((b) => b.getBoundingClientRect().bottom > innerHeight).length")
    assert off_screen == 0, f"{off_screen} names need scrolling at 768x1024"

    started = time.monotonic()
    for i in range(30):
        buttons.nth(i).tap()
    expect(page.locator('[data-testid="checkin-member"][data-checked="true"]:not(.pending)')).to_have_count(30)
    took_s = time.monotonic() - started
    assert took_s < 15, f"30 check-ins took {took_s:.1f} s"
    class_id = page.evaluate("window.sledhub.view.id")
    assert len(admin.call("GET", f"/api/classes/{class_id}")["checked_in"]) == 30
    expect(tid(page, "checkin-count")).to_have_text("30")
    check_layout(page, "check-in")
    # a second tap checks out
    for i in (2, 6, 10, 13, 17, 21, 25, 28):
        buttons.nth(i).tap()
    expect(tid(page, "checkin-count")).to_have_text("22")
    expect(page.locator('[data-testid="checkin-member"][data-checked="true"]:not(.pending)')).to_have_count(22)
    wait_for(lambda: len(admin.call("GET", f"/api/classes/{class_id}")["checked_in"]) == 22, 5, 0.05, "check-outs stored")
    screenshot(page, shots / "tablet-checkin.png")


def test_the_instructor_guide_matches_the_page():
    """docs/instructor.md: its screenshots exist and the reasons it quotes are the page's presets."""
    repo = Path(__file__).resolve().parents[2]
    guide = (repo / "docs" / "instructor.md").read_text(encoding="utf-8")
    images = re.findall(r"\]\((img/[^)]+)\)", guide)
    assert images and all((repo / "docs" / img).is_file() for img in images), images
    presets = (repo / "web" / "static" / "tablet" / "correct.js").read_text(encoding="utf-8")
    quoted = re.findall(r"\*([a-z][a-z -]+)\*", guide.split("## Correcting a result")[1].split("##")[0])
    assert quoted and all(f'"{q}"' in presets for q in quoted), quoted
