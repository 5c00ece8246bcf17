"""The wall display in Debian's Chromium at 1920×1080, on a hub running the demo class on simulated nodes:
live tiles at 20 frames/s, a finish on screen as stored, audio cues, and the leaderboard the instructor
picks in the same order as ``/api/leaderboards``. Saves ``display.png`` (mid-round) and
``leaderboard.png`` to ``$SLEDHUB_SCREENSHOTS`` when set (``SLEDHUB_SCREENSHOTS=docs/img`` refreshes the
docs' pictures); a plain run leaves the checkout untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.display.legibility import legible
from tests.display.support import COACH, COACH_PIN, HubClient, demo_display_hub
from tests.support.waiting import wait_for

BOARD_ROWS = 8

MID_ROUND = """() => {
  const demo = window.sledhub && window.sledhub.clock.demoState;
  const states = [...document.querySelectorAll('.tile')].map((t) => t.dataset.state);
  return demo && demo.state.round >= 2 && states.includes('RUNNING') && states.includes('OK')
    && document.querySelector('.tile[data-state="OK"] .track .fill') !== null;
}"""
COUNT_FRAMES = """async (ms) => {
  const s = window.sledhub.stats, before = s.frames;
  await new Promise((done) => setTimeout(done, ms));
  return s.frames - before;
}"""


@pytest.fixture
def wall_hub(tmp_path, broker):
    with demo_display_hub(tmp_path, broker) as hub:
        yield hub


def save_screenshot(page, name: str) -> None:
    """Written here, not by Playwright (its file writer starts a thread that outlives the test)."""
    shot = page.screenshot()
    assert len(shot) > 10_000, "an empty screenshot"
    if os.environ.get("SLEDHUB_SCREENSHOTS"):
        out = Path(os.environ["SLEDHUB_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(shot)


def result_ids(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="result-row"]', "rows => rows.map(r => r.dataset.resultId)")


def screen_board(page) -> list[str]:
    return page.locator('[data-testid="board-row"] [data-testid="board-athlete"]').all_inner_texts()


def board_matches_api(page, api: HubClient, query: str, board: str) -> bool:
    """The board on screen is the API's answer, in its order: its first rows, as many as fit whole."""
    shown = page.locator('[data-testid="board"]').get_attribute("data-board")
    rows = screen_board(page)
    expected = [r["athlete"] for r in api.get(f"/api/leaderboards?{query}&limit={BOARD_ROWS}")["rows"]]
    return shown == board and bool(rows) == bool(expected) and rows == expected[:len(rows)]


def test_wall_shows_a_live_class_and_the_boards_in_api_order(page, wall_hub):
    app, base = wall_hub
    api = HubClient(base)
    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    for sid in ("sled1", "sled2", "lane1", "lane2"):
        page.wait_for_selector(f'[data-testid="tile-{sid}"]', timeout=10_000)
    earlier = result_ids(page)  # last week's results, loaded with the page

    # live: a running sled shows its force gauge; frames arrive at 25 per second
    page.wait_for_selector('.tile[data-kind="sled"][data-state="RUNNING"] [data-testid^="tile-gauge-"]',
                           timeout=30_000)
    # 25 frames/s is the design (the grid is checked exactly in tests/display/test_parts.py); an idle
    # machine shows 48-50 in 2 s, a heavily loaded one (shared CI) less, as the threads wait for CPU
    frames = page.evaluate(COUNT_FRAMES, 2000)
    assert frames >= 10, f"only {frames} frames in 2 s"
    assert page.locator('[data-testid="offline-banner"]').is_hidden()
    # cues: the page may have opened mid-heat (after that heat's GO), so wait for the next heat's
    # countdown beeps and GO rather than expecting them to be in the log already
    def cue_counts():
        kinds = [c["kind"] for c in page.evaluate("window.sledhub.cues.log")]
        return kinds.count("go") >= 1 and kinds.count("beep") >= 2
    wait_for(cue_counts, 60, what="a countdown (two beeps) and a GO cue")

    # a finish appears on screen as it was stored
    result_id = wait_for(lambda: next((i for i in result_ids(page) if i not in earlier), None), 30,
                         what="a new result on screen")
    row = page.locator(f'[data-testid="result-row"][data-result-id="{result_id}"]')
    stored = api.get(f"/api/results/{result_id}")
    assert stored["athlete"] in row.inner_text()
    shown = f'{stored["time_s"]:.2f} s' if stored["status"] == "OK" else stored["status"].replace("_", " ")
    assert shown in row.inner_text()
    tile = page.locator(f'[data-testid="tile-{stored["station_id"]}"]')
    wait_for(lambda: shown in tile.inner_text(), 5, what=f"the tile showing {shown}")

    # mid-round picture for the README: a result (with its curve for sleds) next to running stations
    page.wait_for_function(MID_ROUND, timeout=60_000)
    save_screenshot(page, "display.png")
    legible(page, "mid-round")
    sled_done = page.locator('.tile[data-kind="sled"][data-state="OK"] svg.chart polyline')
    if sled_done.count():
        assert sled_done.count() == 2 * page.locator('.tile[data-kind="sled"][data-state="OK"] svg.chart').count()

    # the instructor picks boards; the screen shows each in the API's order
    api.sign_in(COACH, COACH_PIN)
    assert api.request("POST", "/api/display/board", {"board": "station", "station": "sled1"})[0] == 200
    wait_for(lambda: board_matches_api(page, api, "board=station&station=sled1", "station"), 15,
             what="the sled 1 board on screen in API order")
    legible(page, "sled 1 board")
    assert len(screen_board(page)) >= 1
    assert api.request("POST", "/api/display/board", {"board": "class"})[0] == 200
    # the class overall scores a station once two athletes ran it: wait for four scored athletes
    wait_for(lambda: board_matches_api(page, api, "board=class", "class") and len(screen_board(page)) >= 4, 60,
             what="the class board on screen in API order")
    save_screenshot(page, "leaderboard.png")
    legible(page, "class board")
    assert api.request("POST", "/api/display/board", {"board": "rotate", "rotate_s": 4,
                                                      "boards": [{"board": "records"}, {"board": "class"}]})[0] == 200
    titles = set()
    wait_for(lambda: titles.add(page.locator('[data-testid="board-title"]').inner_text()) or len(titles) >= 2, 15,
             what="the wall rotating between two boards")
    assert titles == {"All-time records", "Class overall"}
