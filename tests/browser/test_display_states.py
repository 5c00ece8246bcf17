"""Wall tiles for every kind of outcome, on a hub with no sensors: results go through the hub's real
result path (stored, then pushed). False starts, DNFs and DQs show as words; members who opted out
show as "Member" and never reach a board; PB and record badges; the sled curve; nothing overflows its
tile at 1920×1080 or at 4K."""

from __future__ import annotations

import pytest

from tests.display.legibility import legible
from tests.display.support import add_member, inject_result, serving_hub
from tests.support.waiting import wait_for

OVERFLOWING = """() => [...document.querySelectorAll('.tile, .board, .latest, .bar')]
  .filter((e) => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.dataset.testid || e.className)"""


@pytest.fixture
def quiet_hub(tmp_path):
    with serving_hub(tmp_path) as hub:
        yield hub


def tile_text(page, station: str) -> str:
    return page.locator(f'[data-testid="tile-{station}"]').inner_text()


def test_tiles_show_every_outcome_and_keep_opted_out_members_anonymous(page, quiet_hub):
    app, base = quiet_hub
    shy = add_member(app, "Cara Secret", "Shy", opt_out=True)
    anna = add_member(app, "Anna Kowalski")
    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)

    app.hub.arm([("sled1", "Anna Kowalski", anna, "c1"), ("lane1", "Shy", shy, "c1")])
    wait_for(lambda: page.locator('[data-testid="tile-athlete-sled1"]').inner_text() == "Anna K.", 5,
             what="the wall name of a member without a nickname")
    wait_for(lambda: page.locator('[data-testid="tile-athlete-lane1"]').inner_text() == "Member", 5,
             what="'Member' for the member who opted out")
    assert page.locator('[data-testid="tile-big-sled1"]').inner_text() == "READY"
    app.hub.abort("sled1")
    app.hub.abort("lane1")
    wait_for(lambda: "ABORTED" in tile_text(page, "lane1"), 5, what="the aborted lane")

    inject_result(app, "sled1", "Anna Kowalski", member_id=anna, status="FALSE_START", reason="false_start_force")
    inject_result(app, "sled2", "Kiwi", status="DNF", reason="time_cap")
    inject_result(app, "lane2", "Moose", time_s=8.25, false_start="start_beam")
    inject_result(app, "lane1", "Shy", member_id=shy, time_s=5.0)
    wait_for(lambda: "8.25 s" in tile_text(page, "lane2"), 5, what="the lane 2 result")
    assert "FALSE START" in tile_text(page, "sled1") and "pulled before GO" in tile_text(page, "sled1")
    assert page.locator('[data-testid="tile-sled1"]').get_attribute("data-state") == "FALSE_START"
    assert "DNF" in tile_text(page, "sled2") and "time cap reached" in tile_text(page, "sled2")
    assert "False start (kept)" in tile_text(page, "lane2")
    assert page.locator('[data-testid="tile-athlete-lane1"]').inner_text() == "Member"
    # injected after lane 2's: wait for it to be drawn too rather than racing the page
    wait_for(lambda: "5.00 s" in tile_text(page, "lane1"), 5, what="the lane 1 result")
    assert page.evaluate(OVERFLOWING) == []

    inject_result(app, "sled2", "Kiwi", time_s=6.0)
    inject_result(app, "sled2", "Moose", time_s=5.8)
    chip = page.locator('[data-testid="tile-chip-sled2"]')
    wait_for(lambda: chip.inner_text() == "RECORD", 5, what="a record badge (Moose beat Kiwi's 6.00 s)")
    inject_result(app, "sled2", "Kiwi", time_s=5.9)
    wait_for(lambda: chip.inner_text() == "PB", 5, what="a PB badge (Kiwi beat their 6.00 s, not the record)")
    assert page.locator('[data-testid="tile-chart-sled2"] polyline').count() == 2
    assert page.locator('[data-testid="tile-chart-sled2"] text[data-series="Force"]').text_content() == "700 N"

    # boards never show the member who opted out, and the page never shows their name anywhere
    app.display.select({"board": "station", "station": "lane1"})
    page.wait_for_selector('[data-testid="board"][data-station="lane1"]', timeout=5_000)
    assert page.locator('[data-testid="board-athlete"]').all_inner_texts() == []  # only "Shy" ran lane 1
    assert page.locator('[data-testid="board-empty"]').is_visible()
    body = page.locator("body").inner_text()
    assert "Shy" not in body and "Cara" not in body and "Kowalski" not in body

    page.set_viewport_size({"width": 3840, "height": 2160})  # a 4K TV: the same layout, twice the size
    wait_for(lambda: page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > 50, 5,
             what="type scaled for 4K")
    wait_for(lambda: page.evaluate(OVERFLOWING) == [], 5, what="every tile and panel fitting at 4K")
    assert page.evaluate("document.documentElement.scrollHeight") <= 2160
    legible(page, "4K")  # the same 3 % of the screen height: 64.8 px
