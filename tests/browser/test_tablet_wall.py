"""The wall-board chooser on the tablet (issue 18: "the tablet chooses [chain boards] like the other
boards"), in Debian's Chromium: the *Wall* sheet says what the walls show, one tap sets a board or the
rotation, the wall follows the hub's ``board`` push, and the sheet follows another instructor's choice.
Finger-sized and unclipped at both tablet sizes."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect

from server.app import create_app
from server.auth.users import ensure_demo_user
from server.chain.record import ChainRecord
from server.config import ChainConfig, Config
from server.sim.demo import demo_stations
from tests.browser.tablet_layout import PORTRAIT, REFUSALS_THAT_ARE_ANSWERS, check_tablet_controls, console_watch
from tests.browser.test_tablet import screenshot, shots, sign_in_with_keypad, tid  # noqa: F401
from tests.browser.test_tablet_controls import known_names, quiet_hub  # noqa: F401
from tests.display.support import drop_connections

pytestmark = pytest.mark.browser

NOT_IN_A_CHAIN = ((404, "/api/chain/drills"),)
"""The chooser asks for the chain's drills; a hub not in a chain answers 404 (no chain boards to offer)."""


@pytest.fixture
def tablet(chromium):
    """A touch tablet in portrait; fails the test on any console error but the hub's expected answers."""
    context = chromium.new_context(viewport=PORTRAIT, has_touch=True, device_scale_factor=1)
    page = context.new_page()
    errors = console_watch(page, REFUSALS_THAT_ARE_ANSWERS + NOT_IN_A_CHAIN)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"browser errors on the tablet page: {errors}"


@pytest.fixture
def wall(chromium):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def chain_hub(tmp_path):
    """A hub in a chain (gym-ams) with the demo stations and users, no MQTT: ``(app, base)``."""
    base = Config()
    config = replace(base, store=replace(base.store, path=str(tmp_path / "hub.db")),
                     http=replace(base.http, ping_interval_s=1), chain=ChainConfig(gym_id="gym-ams", club="Amsterdam"))
    app = create_app(config, connect_mqtt=False)
    for station in demo_stations():
        app.hub.stations.upsert(station)
    app.hub.reload_stations()
    ensure_demo_user(app.db)
    port = app.serve_in_thread("127.0.0.1", 0)
    app.start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        drop_connections(app)
        app.stop()


def open_wall_sheet(page: Page, base: str) -> None:
    known_names(page, "demo")
    page.goto(f"{base}/instructor")
    sign_in_with_keypad(page, "demo", "1234")
    expect(tid(page, "screen-home")).to_be_visible()
    tid(page, "open-wall").tap()
    expect(tid(page, "wall-sheet")).to_be_visible()


def wall_shows(wall: Page, base: str, board: str) -> None:
    wall.goto(f"{base}/display")
    wall.wait_for_selector("body[data-synced]", timeout=10_000)
    wall.wait_for_selector(f'[data-testid="board"][data-board="{board}"]', timeout=5_000)


def test_the_wall_sheet_shows_and_sets_the_board_and_the_wall_follows(tablet, wall, quiet_hub,  # noqa: F811
                                                                       shots):  # noqa: F811
    app, base, admin = quiet_hub
    page = tablet
    open_wall_sheet(page, base)
    # a fresh hub rotates every board, 12 s each; a hub not in a chain offers no chain boards
    expect(tid(page, "wall-now")).to_contain_text("every board in turn, 12 s each: Class overall · Sled 1 today")
    expect(tid(page, "wall-rotate", rotate_s="12")).to_have_attribute("aria-pressed", "true")
    expect(tid(page, "wall-chain")).to_have_count(0)
    expect(tid(page, "wall-chooser")).not_to_contain_text("null")  # no stray placeholder where chain boards would be
    check_tablet_controls(page, "wall sheet")

    tid(page, "wall-choice", board="records").tap()
    expect(tid(page, "wall-now")).to_contain_text("Records")
    expect(tid(page, "wall-choice", board="records")).to_have_attribute("aria-pressed", "true")
    expect(tid(page, "wall-rotate", rotate_s="12")).to_have_attribute("aria-pressed", "false")
    assert admin.call("GET", "/api/display/board")["boards"] == [{"board": "records", "station": None}]
    expect(tid(page, "toast")).not_to_have_class(re.compile(r"\bshow\b"), timeout=5_000)  # the sheet, not the toast
    screenshot(page, shots / "tablet-wall.png")
    wall_shows(wall, base, "records")

    # a station's board today: the wall follows the push without a reload
    tid(page, "wall-choice", board="station", station="sled2").tap()
    expect(tid(page, "wall-now")).to_contain_text("Sled 2 today")
    wall.wait_for_selector('[data-testid="board"][data-board="station"]', timeout=5_000)
    assert admin.call("GET", "/api/display/board")["boards"] == [{"board": "station", "station": "sled2"}]

    # back to the rotation, 20 s a board
    tid(page, "wall-rotate", rotate_s="20").tap()
    expect(tid(page, "wall-now")).to_contain_text("every board in turn, 20 s each")
    shown = admin.call("GET", "/api/display/board")
    assert (shown["mode"], shown["rotate_s"]) == ("rotate", 20)

    # another instructor chooses: the open sheet follows the hub's board push
    admin.call("POST", "/api/display/board", {"board": "pbs"})
    expect(tid(page, "wall-now")).to_contain_text("Personal bests")
    expect(tid(page, "wall-choice", board="pbs")).to_have_attribute("aria-pressed", "true")
    check_tablet_controls(page, "wall sheet after choosing")


def test_a_hub_in_a_chain_offers_chain_boards_per_drill_and_period(tablet, wall, chain_hub):
    app, base = chain_hub
    app.chain.receiver.store_records([ChainRecord("gym-ber", "b1", 0, "Berlin", "Lia", "lia", "sled1", "sled:10 m",
                                                  "OK", 4.5, time.time() - 60)])
    page = tablet
    open_wall_sheet(page, base)
    expect(tid(page, "wall-chain")).to_be_visible()
    choice = tid(page, "wall-choice", board="chain", drill="sled:10 m", period="all")
    expect(choice).to_have_text("Chain · Reverse sled pull · 10 m · all time")
    check_tablet_controls(page, "wall sheet in a chain")
    choice.tap()
    expect(tid(page, "wall-now")).to_contain_text("Chain · Reverse sled pull · 10 m · all time")
    assert app.display.selection()["boards"] == [{"board": "chain", "station": None, "drill": "sled:10 m",
                                                  "period": "all"}]
    wall_shows(wall, base, "chain")
    expect(wall.locator('[data-testid="board-athlete"]')).to_have_text(["Lia"])
