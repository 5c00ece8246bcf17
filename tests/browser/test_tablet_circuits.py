"""The circuit builder on the tablet in Debian's Chromium, signed in as an instructor: start from a
warm-up template, see the class timeline, get the hub's messages next to the fields, reorder
stations, save, edit, duplicate and delete — at both tablet sizes, every control finger-sized.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.tablet_layout import PORTRAIT, check_tablet_controls, console_watch, tablet_problems
from tests.browser.test_tablet import screenshot, shots, sign_in_with_keypad, tid  # noqa: F401
from tests.browser.test_tablet_controls import known_names, quiet_hub  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def tablet_page(chromium):
    """A touch tablet in portrait (768×1024) that fails the test on any console error but the hub's
    answers to the builder's drafts (a 400 with its messages is the builder working)."""
    context = chromium.new_context(viewport=PORTRAIT, has_touch=True, device_scale_factor=1)
    page = context.new_page()
    errors = console_watch(page)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"browser errors on the tablet page: {errors}"


def field_error(page: Page, field: str):
    return page.locator(f'[data-testid="field-error"][data-field="{field}"]')


def open_builder(page: Page, base: str) -> None:
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    tid(page, "open-circuits").tap()
    expect(tid(page, "screen-circuits")).to_be_visible()


def test_an_instructor_builds_edits_reorders_duplicates_and_deletes_a_circuit(tablet_page, quiet_hub,  # noqa: F811
                                                                            shots):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet_page
    open_builder(page, base)
    expect(tid(page, "no-circuit")).to_be_visible()
    expect(tid(page, "template")).to_have_count(3)
    check_tablet_controls(page, "circuits")

    # a template: the beginner warm-up (4 × 20 s) on every sled and lane, with its timeline
    tid(page, "template", key="beginner").tap()
    expect(tid(page, "circuit-editor")).to_be_visible()
    expect(tid(page, "circuit-station")).to_have_count(2)
    expect(tid(page, "work_s-value")).to_have_text("20 s")
    expect(tid(page, "timeline-total")).to_contain_text("for 12 members")
    expect(tid(page, "timeline-round")).to_have_count(4)
    expect(tid(page, "timeline-headline")).to_contain_text("4 × 20 s each")
    total_before = tid(page, "timeline-total").text_content()
    tid(page, "circuit-name").fill("Tue 6 am")

    # longer work: the timeline grows, and time caps that were the whole interval follow it
    tid(page, "work_s-plus").tap()
    expect(tid(page, "work_s-value")).to_have_text("25 s")
    expect(tid(page, "stations[0].time_cap_s-value")).to_have_text("25 s")
    expect(tid(page, "timeline-total")).not_to_have_text(total_before)

    # a time cap longer than work: the hub's message shows next to that field, in a coach's words
    tid(page, "stations[0].time_cap_s-plus").tap()
    expect(field_error(page, "stations[0].time_cap_s")).to_have_text(
        "the time cap (26 s) is longer than work (25 s): make it 25 s or less, or lengthen work")
    expect(tid(page, "timeline-total")).to_have_text("Fix the marked fields to see the timeline")
    check_tablet_controls(page, "circuit editor with an error")
    screenshot(page, shots / "tablet-circuit-builder.png")
    tid(page, "stations[0].time_cap_s-minus").tap()
    expect(field_error(page, "stations[0].time_cap_s")).to_have_text("")
    expect(tid(page, "timeline-total")).to_contain_text("Up to")

    # a third station with nothing left to use: the message says what to pick; remove it again
    tid(page, "add-station").tap()
    expect(tid(page, "circuit-station")).to_have_count(3)
    expect(field_error(page, "stations[2].station_ids")).to_contain_text("pick 1 to 8 sleds")
    tid(page, "circuit-station").nth(2).locator('[data-testid="station-remove"]').tap()
    expect(tid(page, "circuit-station")).to_have_count(2)

    # reorder: the shuffle lanes first; the lanes start on a reaction start
    tid(page, "circuit-station").nth(0).locator('[data-testid="station-down"]').tap()
    expect(tid(page, "circuit-station").nth(0).locator('[data-testid="stations[0].kind-option"][aria-pressed="true"]')) \
        .to_have_attribute("data-value", "lane")
    page.locator('[data-testid="stations[0].start_mode-option"][data-value="REACTION_RANDOM"]').tap()
    tid(page, "rounds-minus").tap()
    tid(page, "circuit-save").tap()
    expect(tid(page, "circuit-row")).to_have_count(1)
    (saved,) = admin.call("GET", "/api/circuits")
    assert saved["name"] == "Tue 6 am" and saved["work_s"] == 25 and saved["rounds"] == 3
    assert [s["kind"] for s in saved["stations"]] == ["lane", "sled"]
    assert saved["stations"][0]["start_mode"] == "REACTION_RANDOM"
    assert [s["time_cap_s"] for s in saved["stations"]] == [25, 25]

    # edit: a blank name is refused next to the name; a fixed one saves
    tid(page, "circuit-edit").tap()
    tid(page, "circuit-name").fill("")
    tid(page, "circuit-save").tap()
    expect(field_error(page, "name")).to_contain_text("give it a name")
    tid(page, "circuit-name").fill("Tue 6 am warm-up")
    tid(page, "rest_s-plus").tap()
    tid(page, "circuit-save").tap()
    expect(tid(page, "circuit-row")).to_have_count(1)
    (edited,) = admin.call("GET", "/api/circuits")
    assert (edited["id"], edited["name"], edited["rest_s"]) == (saved["id"], "Tue 6 am warm-up", 25)

    # duplicate, then delete the copy (two taps)
    tid(page, "circuit-duplicate").tap()
    expect(tid(page, "circuit-row")).to_have_count(2)
    copy = next(c for c in admin.call("GET", "/api/circuits") if c["id"] != saved["id"])
    assert copy["name"] == "Tue 6 am warm-up (copy)" and copy["stations"] == edited["stations"]
    check_tablet_controls(page, "circuits")
    delete = tid(page, "circuit-row", circuit_id=copy["id"]).locator('[data-testid="circuit-delete"]')
    delete.tap()
    expect(delete).to_have_text("Tap again to delete")
    delete.tap()
    expect(tid(page, "circuit-row")).to_have_count(1)
    assert [c["id"] for c in admin.call("GET", "/api/circuits")] == [saved["id"]]

    # the circuit is there to pick on the start screen
    tid(page, "circuits-back").tap()
    expect(tid(page, "circuit", circuit_id=saved["id"])).to_contain_text("Tue 6 am warm-up")


LONG_NAMES = [("Alexandria Montgomery-Fitzgerald", "Thunderbolt"), ("Bisola Adeyemi", "Bisola"),
              ("Christopher Vandenberg", ""), ("Dev Singh", "Blaze"), ("Eli Novak", "Tank"), ("Fay Lund", "Pixie")]


def test_every_tablet_view_has_finger_sized_spaced_unclipped_controls(tablet_page, quiet_hub):  # noqa: F811
    """Issue 14: every target ≥ 48 px, ≥ 8 px apart, no clipped text, at 768×1024 and 1280×800, on
    every view of the tablet; Abort is set apart from Stop and takes a second tap."""
    app, base, admin = quiet_hub
    page = tablet_page
    circuit = admin.call("POST", "/api/circuits", {
        "name": "Tuesday morning backward warm-up", "rounds": 2, "work_s": 20, "rest_s": 20,
        "stations": [{"name": "Reverse sled pull", "kind": "sled", "station_ids": ["sled1", "sled2"], "distance_m": 12},
                     {"name": "Backward shuffle", "kind": "lane", "station_ids": ["lane1", "lane2"]}]})
    for name, nick in LONG_NAMES:
        admin.call("POST", "/api/members", {"name": name, "nickname": nick})
    known_names(page, "demo", "owner")
    page.goto(f"{base}/instructor")
    expect(tid(page, "signin-name")).to_have_count(2)
    problems = tablet_problems(page, "sign-in")
    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    problems += tablet_problems(page, "home")
    tid(page, "open-roster").tap()
    expect(tid(page, "roster-member")).to_have_count(len(LONG_NAMES))
    problems += tablet_problems(page, "roster")
    tid(page, "roster-back").tap()
    tid(page, "circuit", circuit_id=circuit["id"]).tap()
    for i in range(len(LONG_NAMES)):
        tid(page, "checkin-member").nth(i).tap()
    expect(tid(page, "checkin-count")).to_have_text(str(len(LONG_NAMES)))
    problems += tablet_problems(page, "check-in")
    tid(page, "start-class").tap()
    expect(tid(page, "phase")).to_contain_text("Ready")
    problems += tablet_problems(page, "run (ready)")
    tid(page, "slot-now", station="sled1").tap()
    expect(tid(page, "pick-sheet")).to_be_visible()
    problems += tablet_problems(page, "who-runs sheet")
    tid(page, "sheet-close").tap()
    tid(page, "late-arrivals").tap()
    expect(tid(page, "late-sheet")).to_be_visible()
    problems += tablet_problems(page, "late arrivals")
    tid(page, "sheet-close").tap()

    # Abort: away from Stop, and a second tap
    stop = tid(page, "station-stop", station="sled1").bounding_box()
    abort_button = tid(page, "station-abort", station="sled1")
    abort = abort_button.bounding_box()
    assert stop and abort
    apart = max(abort["x"] - (stop["x"] + stop["width"]), stop["x"] - (abort["x"] + abort["width"]),
                abort["y"] - (stop["y"] + stop["height"]), stop["y"] - (abort["y"] + abort["height"]))
    assert apart >= 48, f"Abort is {apart:.0f} px from Stop"
    abort_button.tap()
    expect(abort_button).to_have_text("Tap again to abort")
    assert page.locator('[data-testid="station"][data-station="sled1"]').get_attribute("data-entry") == "armed"
    abort_button.tap()
    expect(page.locator('[data-testid="station"][data-station="sled1"]')).to_have_attribute("data-entry", "aborted")

    tid(page, "finish").tap()
    tid(page, "finish").tap()
    expect(tid(page, "screen-done")).to_be_visible()
    problems += tablet_problems(page, "done")
    assert not problems, "\n".join(problems)
