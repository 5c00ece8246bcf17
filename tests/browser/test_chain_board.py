"""A chain board on the wall (issue 18): the instructor's choice shows the best per athlete on one drill
across the chain's gyms with the club beside each name, and it follows a correction from another gym
without a reload."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import replace

import pytest

from server.chain.record import ChainRecord
from server.config import ChainConfig
from tests.display.support import build_app, display_config, drop_connections
from tests.support.waiting import wait_for


@contextmanager
def chain_hub(tmp_path):
    config = replace(display_config(tmp_path), chain=ChainConfig(gym_id="gym-ams", club="Amsterdam"))
    app = build_app(config)
    try:
        bound = app.serve_in_thread("127.0.0.1", 0)
        app.hub.start()
        yield app, f"http://127.0.0.1:{bound}"
    finally:
        drop_connections(app)
        app.stop()


@pytest.fixture
def hub(tmp_path):
    with chain_hub(tmp_path) as made:
        yield made


def shared(gym, club, attempt, athlete, time_s, version=0, status="OK"):
    return ChainRecord(gym, attempt, version, club, athlete, athlete.lower(), "sled1", "sled:10 m", status, time_s,
                       time.time() - 60)


def rows(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator('[data-testid="board-row"]').all_inner_texts()]


def test_the_wall_shows_a_chain_board_with_clubs_and_follows_a_correction(page, hub):
    app, base = hub
    app.chain.store.put([shared("gym-ams", "Amsterdam", "a1", "Kiwi", 4.2)])
    app.chain.receiver.store_records([shared("gym-ber", "Berlin", "b1", "Lia", 4.5),
                                      shared("gym-cork", "Cork", "c1", "Noor", 4.9)])
    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    app.display.select({"board": "chain", "drill": "sled:10 m", "period": "month"})
    page.wait_for_selector('[data-testid="board"][data-board="chain"]', timeout=5_000)
    wait_for(lambda: len(rows(page)) == 3, 5, what="three clubs on the chain board")
    assert page.locator('[data-testid="board-athlete"]').all_inner_texts() == ["Kiwi", "Lia", "Noor"]
    assert ["Amsterdam" in rows(page)[0], "Berlin" in rows(page)[1], "Cork" in rows(page)[2]] == [True] * 3
    assert "Reverse sled pull · 10 m" in page.locator('[data-testid="board"]').inner_text()

    # Berlin corrects Lia's time: the wall re-ranks on the hub's "chain" push, no reload
    app.chain.receiver.store_records([shared("gym-ber", "Berlin", "b1", "Lia", 3.9, version=1)])
    wait_for(lambda: page.locator('[data-testid="board-athlete"]').all_inner_texts() == ["Lia", "Kiwi", "Noor"], 5,
             what="Lia first after Berlin's correction")
    assert "3.90" in rows(page)[0]
