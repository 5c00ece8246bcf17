"""The instructor tablet in Debian's Chromium, on a hub with the simulated demo stations (the demo's
own class not started): sign in on the keypad, check members in by tapping, start, override a slot,
GO, correct a live result with a preset reason, finish — and the wall display shows the corrected time.

Screenshots go to ``$SLEDHUB_SCREENSHOTS`` when set (``SLEDHUB_SCREENSHOTS=docs/img`` refreshes the
ones in docs/instructor.md), else to the test's tmp_path.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from server.auth.users import UserStore, ensure_demo_user
from server.sim.roster import demo_roster
from tests.display.support import HubClient
from tests.integration.conftest import make_hub
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.broker]

PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1280, "height": 800}
MIN_TARGET_PX = 44
ANSWERS_NOT_ERRORS = ("/api/demo", "/api/session")
"""Failed loads that are answers: the sign-in screen asks whether the hub is a demo (404 when not),
and a wrong PIN is a 401."""
MEMBERS = [  # nicknames from the demo roster, so the simulated athletes run with those profiles
    ("Ava Stone", "Rocket"), ("Ben Ortiz", "Moose"), ("Cleo Park", "Kiwi"), ("Dev Singh", "Blaze"),
    ("Eli Novak", "Tank"), ("Fay Lund", "Pixie"), ("Gus Reyes", "Viper"), ("Hana Ito", "Bear"),
]
CIRCUIT = {
    "name": "Tablet test circuit", "rounds": 1, "work_s": 25, "rest_s": 3, "countdown_s": 3,
    "stations": [
        {"name": "Reverse pull", "kind": "sled", "station_ids": ["sled1", "sled2"], "distance_m": 10,
         "false_start_policy": "WARN_KEEP"},
        {"name": "Backward shuffle", "kind": "lane", "station_ids": ["lane1", "lane2"],
         "false_start_policy": "WARN_KEEP"},
    ],
}


def build_tablet_hub(tmp_path, broker):
    """The demo rig without its own class, the demo instructor, an admin (``create_app`` has registered
    the class and display features)."""
    app, port = make_hub(tmp_path, broker, demo=True, autostart=False)
    ensure_demo_user(app.db)
    UserStore(app.db).create("owner", "admin", "975310")
    return app, f"http://127.0.0.1:{port}"


def seed_class_material(base: str) -> dict[str, Any]:
    """What a gym has before class: a circuit (admins make circuits) and the roster."""
    admin = HubClient(base)
    admin.sign_in("owner", "975310")
    circuit = admin.call("POST", "/api/circuits", CIRCUIT)
    members = [admin.call("POST", "/api/members", {"name": n, "nickname": k}) for n, k in MEMBERS]
    return {"circuit": circuit, "members": members, "admin": admin}


@pytest.fixture
def tablet_hub(tmp_path, broker):
    app, base = build_tablet_hub(tmp_path, broker)
    try:
        yield app, base, seed_class_material(base)
    finally:
        app.stop()


@pytest.fixture
def tablet_page(chromium):
    """A touch tablet in portrait (768×1024)."""
    context = chromium.new_context(viewport=PORTRAIT, has_touch=True, is_mobile=False, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})")
          if m.type == "error" and not m.location.get("url", "").endswith(ANSWERS_NOT_ERRORS) else None)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"browser errors on the tablet page: {errors}"


@pytest.fixture
def shots(tmp_path) -> Path:
    out = Path(os.environ.get("SLEDHUB_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


# helpers ---------------------------------------------------------------------------------------------
def tid(page: Page, testid: str, **data: str):
    extra = "".join(f'[data-{k.replace("_", "-")}="{v}"]' for k, v in data.items())
    return page.locator(f'[data-testid="{testid}"]{extra}')


def small_targets(page: Page) -> list[dict]:
    """Every visible control smaller than 44×44 CSS px."""
    return page.evaluate("""(min) => [...document.querySelectorAll('button, a, input, select, label.button, [role=button]')]
      .filter((e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
                       return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && e.offsetParent !== null; })
      .map((e) => { const r = e.getBoundingClientRect();
                    return {testid: e.dataset.testid || '', text: e.textContent.trim().slice(0, 30),
                            w: Math.round(r.width), h: Math.round(r.height)}; })
      .filter((b) => b.w < min || b.h < min)""", MIN_TARGET_PX)


def check_layout(page: Page, where: str) -> None:
    """At 768×1024 and 1280×800: no control under 44 px, nothing wider than the screen, STOP ALL on
    screen when signed in, and no keyboard field on the run screens."""
    size = page.viewport_size
    try:
        for viewport in (PORTRAIT, LANDSCAPE):
            page.set_viewport_size(viewport)
            label = f"{where} at {viewport['width']}x{viewport['height']}"
            assert small_targets(page) == [], label
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{label}: {overflow} px wider than the screen"
            if where != "sign-in":
                box = tid(page, "stop-all").bounding_box()
                assert box and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"], label
            if where in ("run", "correction", "done"):
                typing = page.locator("input:visible, textarea:visible, [contenteditable]:visible")
                assert typing.count() == 0, f"{label}: a keyboard field is showing"
    finally:
        page.set_viewport_size(size)


def sign_in_with_keypad(page: Page, name: str, pin: str) -> None:
    tid(page, "signin-name", name=name).tap()
    for digit in pin:
        tid(page, f"key-{digit}").tap()
    tid(page, "pin-ok").tap()


def screenshot(page: Page, path: Path) -> None:
    """Save a screenshot (written here: Playwright's own file writing starts an executor thread that
    outlives the test)."""
    path.write_bytes(page.screenshot())


def stations_settled(app) -> bool:
    """No attempt armed or running on any station (the engine applies aborts on its timeline)."""
    engine = app.hub.engine
    states = app.hub.pipeline.run_sync(lambda: [engine.state_of(sid) for sid in engine.stations])
    return all(s.value in ("IDLE", "FINISHED", "ABORTED", "DNF", "DQ", "FALSE_START") for s in states)


def result_time_text(seconds: float) -> str:
    return f"{seconds:.2f} s"


# the demo class, from the tablet ---------------------------------------------------------------------
def test_tablet_runs_a_class_and_the_wall_shows_the_correction(chromium, tablet_page, tablet_hub, shots):
    app, base, seeded = tablet_hub
    page = tablet_page
    admin: HubClient = seeded["admin"]

    page.goto(f"{base}/instructor")
    expect(tid(page, "screen-signin")).to_be_visible()
    check_layout(page, "sign-in")
    screenshot(page, shots / "tablet-signin.png")
    sign_in_with_keypad(page, "demo", "1234")

    # a demo hub offers its self-running demo class (not started here: it would use the same stations)
    expect(tid(page, "demo-class")).to_contain_text("stopped")
    expect(tid(page, "demo-start")).to_be_enabled()

    # pick the circuit: a class in check-in
    tid(page, "circuit", circuit_id=seeded["circuit"]["id"]).tap()
    expect(tid(page, "screen-checkin")).to_be_visible()
    check_layout(page, "check-in")

    # check in by tapping every name, as fast as the page lets a finger go
    buttons = tid(page, "checkin-member")
    expect(buttons).to_have_count(len(MEMBERS) + len(demo_roster()))  # the demo hub's own roster too
    shown = buttons.evaluate_all("(bs) => bs.map((b) => b.querySelector('.n').textContent)")
    assert shown == sorted(shown, key=str.casefold), "alphabetical"
    ours = [n for n, _ in MEMBERS]
    assert set(ours) <= set(shown)
    started = time.monotonic()
    for name in ours:
        buttons.nth(shown.index(name)).tap()
    expect(tid(page, "checkin-count")).to_have_text(str(len(MEMBERS)))
    expect(page.locator('[data-testid="checkin-member"][data-checked="true"]:not(.pending)')).to_have_count(len(MEMBERS))
    per_tap_s = (time.monotonic() - started) / len(MEMBERS)
    assert per_tap_s < 1.0, f"check-in takes {per_tap_s:.2f} s a member: 30 would not fit in 30 s"
    class_id = page.evaluate("window.sledhub.view.id")
    assert len(admin.call("GET", f"/api/classes/{class_id}")["checked_in"]) == len(MEMBERS)

    # start: the rotation puts someone at every sled and lane
    tid(page, "start-class").tap()
    expect(tid(page, "screen-run")).to_be_visible()
    expect(tid(page, "phase")).to_contain_text("Ready")
    view = admin.call("GET", f"/api/classes/{class_id}")
    up = {e["station_id"]: e for e in view["heat"]}
    assert set(up) == {"sled1", "sled2", "lane1", "lane2"}
    for sid, entry in up.items():
        expect(tid(page, "slot-now", station=sid)).to_have_text(entry["athlete"])

    # tap to override: whoever is at lane1 swaps with the member at sled1
    tid(page, "slot-now", station="sled1").tap()
    expect(tid(page, "pick-sheet")).to_be_visible()
    tid(page, "pick-member", member_id=up["lane1"]["member_id"]).tap()
    expect(tid(page, "slot-now", station="sled1")).to_have_text(up["lane1"]["athlete"])
    expect(tid(page, "slot-now", station="lane1")).to_have_text(up["sled1"]["athlete"])
    check_layout(page, "run")

    # the wall, before anything runs
    wall = chromium.new_page(viewport={"width": 1920, "height": 1080})
    try:
        wall.goto(f"{base}/display")
        page.bring_to_front()  # a page in the background gets its timers throttled

        # GO: the countdown shows, the simulated athletes run, results arrive live
        tid(page, "go").tap()
        expect(tid(page, "countdown")).to_be_visible(timeout=3_000)
        expect(tid(page, "phase")).to_contain_text("Work")
        first = tid(page, "tablet-result-row").first
        first.wait_for(timeout=30_000)
        expect(tid(page, "tablet-result-row").filter(has_text=re.compile(r"\d+\.\d\d s"))).not_to_have_count(0,
                                                                                                          timeout=30_000)
        def efforts() -> list[dict]:  # finished attempts (not the ones the swap aborted)
            return [r for r in admin.call("GET", f"/api/results?class={class_id}") if r["status"] != "ABORTED"]

        wait_for(lambda: len(efforts()) >= 3, 40, 0.2, "three results of the first heat")
        screenshot(page, shots / "tablet-portrait.png")
        page.set_viewport_size(LANDSCAPE)
        screenshot(page, shots / "tablet-run.png")
        page.set_viewport_size(PORTRAIT)

        # correct a timed result: +0.1 +0.1 −0.01 with a preset reason
        timed = [r for r in efforts() if r["status"] == "OK"]
        assert len(timed) >= 2, f"too few timed results in the first heat: {efforts()}"
        target, other = timed[-1], timed[-2]
        row = tid(page, "tablet-result-row", result_id=target["id"])
        expect(row).to_contain_text(result_time_text(target["time_s"]))
        row.tap()
        expect(tid(page, "correction-sheet")).to_be_visible()
        expect(tid(page, "fix-time")).to_have_text(result_time_text(target["time_s"]))
        expect(tid(page, "fix-save")).to_be_disabled()
        tid(page, "time-plus-0.1").tap()
        tid(page, "time-plus-0.1").tap()
        tid(page, "time-minus-0.01").tap()
        corrected = round(target["time_s"] + 0.19, 2)
        expect(tid(page, "fix-time")).to_have_text(result_time_text(corrected))
        tid(page, "fix-reason", reason="timing error").tap()
        check_layout(page, "correction")
        screenshot(page, shots / "tablet-correct.png")
        tid(page, "fix-save").tap()
        expect(tid(page, "correction-sheet")).to_be_hidden()
        expect(row).to_contain_text(result_time_text(corrected))
        expect(row).to_contain_text("timing error")

        stored = admin.call("GET", f"/api/results/{target['id']}")
        assert stored["time_s"] == pytest.approx(corrected, abs=1e-6) and stored["status"] == "OK"
        audit = admin.call("GET", f"/api/results/{target['id']}/corrections")
        assert [(e["kind"], e["reason"], e["user_name"]) for e in audit] == [("edit_time", "timing error", "demo")]

        # the wall shows the corrected time (within a second of the correction)
        wall_row = wall.locator(f'[data-testid="result-row"][data-result-id="{target["id"]}"]')
        expect(wall_row).to_contain_text(f"{corrected:.2f}", timeout=1_500)

        # DQ with a preset reason (no time editor then); delete another result of the heat
        tid(page, "tablet-result-row", result_id=other["id"]).tap()
        tid(page, "fix-dq").tap()
        expect(tid(page, "time-plus-0.1")).to_be_hidden()
        expect(tid(page, "fix-save")).to_be_disabled()
        tid(page, "fix-reason", reason="pulled forwards").tap()
        tid(page, "fix-save").tap()
        expect(tid(page, "tablet-result-row", result_id=other["id"])).to_contain_text("DQ")
        assert admin.call("GET", f"/api/results/{other['id']}")["status"] == "DQ"
        gone = next(r for r in efforts() if r["id"] not in (target["id"], other["id"]))
        tid(page, "tablet-result-row", result_id=gone["id"]).tap()
        tid(page, "fix-delete").tap()
        tid(page, "fix-reason", reason="test run").tap()
        tid(page, "fix-save").tap()
        expect(tid(page, "tablet-result-row", result_id=gone["id"])).to_have_count(0)
        trail = admin.call("GET", f"/api/corrections?class={class_id}")
        assert {(e["result_id"], e["kind"], e["reason"]) for e in trail} == {
            (target["id"], "edit_time", "timing error"), (other["id"], "dq", "pulled forwards"),
            (gone["id"], "delete", "test run")}

        # STOP ALL: every station aborted, the class paused
        tid(page, "stop-all").tap()
        expect(tid(page, "phase")).to_contain_text("Paused")
        expect(tid(page, "resume")).to_be_visible()
        wait_for(lambda: stations_settled(app), 5, 0.05, "the aborts applied")

        # finish (two taps): the class is done
        tid(page, "finish").tap()
        expect(tid(page, "finish")).to_have_text("Tap again to finish")
        tid(page, "finish").tap()
        expect(tid(page, "screen-done")).to_be_visible()
        assert admin.call("GET", f"/api/classes/{class_id}")["state"] == "DONE"
        expect(tid(page, "tablet-result-row", result_id=target["id"])).to_contain_text(result_time_text(corrected))
        check_layout(page, "done")
    finally:
        wall.close()
