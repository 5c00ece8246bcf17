"""The wall read at a glance from 10 m, in Chromium at 1920×1080 (issue 14): on every board and tile
view, no visible text under 3 % of the screen height (32.4 px) and no text element cut short
(``scrollWidth > clientWidth``); REC only on the standing record; names whole; a class overall that
stays hidden until a station has two athletes, with plain labels; *Next up*; the demo's rows gone
from *Latest* once a real class starts; the sound hint beside, not over, *Latest*; the header says
the class ended; a result's ``reason_text`` in words on the tile and in *Latest*."""

from __future__ import annotations

import pytest

from server.classes.circuits import parse_circuit
from server.classes.session import Event
from tests.display.legibility import legible
from tests.display.support import add_member, inject_result, serving_hub
from tests.support.waiting import wait_for

CIRCUIT = {"name": "Warm-up", "rounds": 2, "work_s": 40, "rest_s": 30, "countdown_s": 3,
           "stations": [{"name": "Sleds", "kind": "sled", "station_ids": ["sled1", "sled2"]},
                        {"name": "Lanes", "kind": "lane", "station_ids": ["lane1", "lane2"]}]}


@pytest.fixture
def hub(tmp_path):
    with serving_hub(tmp_path) as served:
        yield served


def texts(page, testid: str) -> list[str]:
    return page.locator(f'[data-testid="{testid}"]').all_inner_texts()


def header(page) -> tuple[str, str]:
    return page.locator('[data-testid="phase"]').inner_text(), page.locator('[data-testid="round"]').inner_text()


def show_board(page, app, board: str, station: str | None = None) -> None:
    app.display.select({"board": board, **({"station": station} if station else {})})
    page.wait_for_selector(f'[data-testid="board"][data-board="{board}"][data-station="{station or ""}"]',
                           timeout=5_000)


def test_the_wall_reads_at_a_glance_through_a_class(page, hub):
    app, base = hub
    bison = add_member(app, "Bianca Sonne", "Bison")
    rocket = add_member(app, "Anna Kowalski", "Rocket")
    stefania = add_member(app, "Stefania Kowalczyk")
    max_r = add_member(app, "Maximilian Rosenberg")
    kiwi = add_member(app, "Kim Wilde", "Kiwi")
    inject_result(app, "sled1", "Moose", class_id="demo", status="ABORTED", reason="class stopped")
    demo_row = inject_result(app, "lane2", "Emu", class_id="demo", status="ABORTED", reason="class stopped")

    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    page.wait_for_selector(f'[data-result-id="{demo_row.id}"]', timeout=5_000)

    # an earlier class c0 on sled 2, then one heat of class c1 (everyone alone at a station): four
    # records in a row on sled 2
    inject_result(app, "sled2", "Kiwi", member_id=kiwi, time_s=6.0, class_id="c0")
    inject_result(app, "sled2", "Bison", member_id=bison, time_s=5.8, class_id="c0")
    inject_result(app, "sled2", "Rocket", member_id=rocket, time_s=5.6, class_id="c0")
    standing = inject_result(app, "sled2", "Stefania K.", member_id=stefania, time_s=5.4)
    inject_result(app, "lane1", "Maximilian Rosenberg", member_id=max_r, time_s=8.25)
    dnf = inject_result(app, "sled1", "Bison", member_id=bison, status="DNF", reason="time_cap")
    # a result payload with the hub's reason in words (helper "first-hour" adds reason_text)
    shown = app.display.tiles.mask({k: v for k, v in dnf.to_dict().items() if k != "curve"})
    app.hub.broadcaster.event("display:result", {**shown, "reason_text": "time cap 25 s — stopped at 10.5 m"})

    reason = page.locator('[data-testid="tile-reason-sled1"]')
    wait_for(lambda: reason.count() and reason.inner_text() == "time cap 25 s — stopped at 10.5 m", 5,
             what="the DNF's reason in words on its tile")
    latest_reason = page.locator(f'[data-result-id="{dnf.id}"] [data-testid="result-reason"]')
    assert latest_reason.inner_text() == "time cap 25 s — stopped at 10.5 m"
    assert page.locator(f'[data-result-id="{dnf.id}"] .t').inner_text() == "DNF"
    wait_for(lambda: "Split 1 ✓ 4.13" in page.locator('[data-testid="tile-track-lane1"]').inner_text(), 5,
             what="the lane's split on its tile")
    wait_for(lambda: page.locator(f'[data-result-id="{standing.id}"] .badge.record').count() == 1, 5,
             what="REC on the newest record in Latest")
    assert page.locator('[data-testid="results"] .badge.record').count() == 1  # only the standing record
    # names whole where there is room: the tile and Latest show them as they are, never "Bis…"
    assert page.locator('[data-testid="tile-athlete-sled1"]').inner_text() == "Bison"
    assert page.locator('[data-testid="tile-athlete-lane1"]').inner_text() == "Maximilian R."
    long_name = add_member(app, "Alexandra Maximiliane", "Alexandra-Maximiliane")  # too long for one line
    inject_result(app, "lane2", "Alexandra-Maximiliane", member_id=long_name, time_s=9.87)
    wait_for(lambda: page.locator('[data-testid="tile-athlete-lane2"]').inner_text().replace("\n", "")
             == "Alexandra-Maximiliane", 5, what="a long name whole on its tile")
    legible(page, "tiles with results, rotation")

    show_board(page, app, "station", "sled2")
    wait_for(lambda: texts(page, "board-athlete") == ["Stefania K.", "Rocket", "Bison", "Kiwi"], 5,
             what="the sled 2 board with whole names")
    assert page.locator('[data-testid="board-rows"] .badge.record').count() == 1
    assert page.locator('[data-testid="board-row"]').first.locator(".badge.record").count() == 1
    legible(page, "station board")

    show_board(page, app, "class")  # after one heat nobody shares a station: no score means anything yet
    assert texts(page, "board-row") == []
    assert page.locator('[data-testid="board-empty"]').inner_text() == \
        "Scores start once two athletes have run the same station"
    legible(page, "class board, one heat")
    inject_result(app, "sled2", "Maximilian Rosenberg", member_id=max_r, time_s=6.48)
    wait_for(lambda: len(texts(page, "board-row")) == 2, 5, what="class scores once sled 2 has two athletes")
    assert texts(page, "board-athlete") == ["Stefania K.", "Maximilian R."]
    assert texts(page, "board-note") == ["1 station", "1 station"]  # plain labels, not "1 st."
    assert texts(page, "board-value") == ["100.0 pts", "83.3 pts"]  # 100 × 5.4 ÷ 6.48
    legible(page, "class board")
    for board in ("pbs", "records", "improved"):
        show_board(page, app, board)
        legible(page, f"{board} board")

    # a real class starts: the demo's rows leave Latest, Next up shows who goes where
    service = app.classes
    kinds = {s.id: s.kind for s in app.hub.stations.all()}
    circuit = service.circuits.save(parse_circuit(CIRCUIT, kinds))
    cls = service.create_class(circuit.id, "Tuesday 7am")
    service.check_in(cls["id"], [bison, rocket, stefania, max_r, kiwi])
    service.start(cls["id"])
    wait_for(lambda: header(page)[0] == "Get ready", 5, what="the class on the wall")
    wait_for(lambda: page.locator('[data-class-id="demo"]').count() == 0, 5, what="the demo's rows leaving Latest")
    up = page.locator('[data-testid="next-up"]')
    wait_for(lambda: up.is_visible() and "heat 1" in page.locator('[data-testid="next-title"]').text_content(), 5,
             what="Next up for the first heat")
    heat = service.current()["heat"]
    names = {bison: "Bison", rocket: "Rocket", stefania: "Stefania K.", max_r: "Maximilian R.", kiwi: "Kiwi"}
    assert texts(page, "next-entry") == [f"{e['station_name']}\n{names[e['member_id']]}" for e in heat] or \
        [t.replace("\n", " ") for t in texts(page, "next-entry")] == \
        [f"{e['station_name']} {names[e['member_id']]}" for e in heat]
    legible(page, "get ready with next up")

    service.control(cls["id"], Event.GO)
    wait_for(lambda: header(page)[0] == "Work", 8, what="the work interval")
    nxt = service.current()["next"]
    wait_for(lambda: f"round {nxt['round_no']} · heat {nxt['heat_no']}" in
             page.locator('[data-testid="next-title"]').text_content(), 5, what="Next up moving on to the next heat")
    hint = page.locator('[data-testid="sound-hint"]')
    # what a browser started without the autoplay flag shows (headless Chromium may let audio play)
    page.evaluate("window.sledhub.cues.hint.hidden = false")
    wait_for(hint.is_visible, 5, what="the sound hint")
    hint_box, latest_box = hint.bounding_box(), page.locator('[data-testid="latest"]').bounding_box()
    assert hint_box["y"] >= latest_box["y"] + latest_box["height"], "the sound hint covers Latest"
    # running stations (no sensors: the hub's own frames say how long they have run)
    page.wait_for_selector('[data-testid="tile-gauge-sled1"]', timeout=8_000)
    wait_for(lambda: page.locator('[data-testid="tile-lane1"]').get_attribute("data-state") == "RUNNING", 5,
             what="the lane running")
    legible(page, "work with live tiles and the sound hint")

    service.control(cls["id"], Event.SKIP)  # the heat ends: rest, change stations
    wait_for(lambda: header(page)[0] == "Rest · change stations", 5, what="the rest phase")
    legible(page, "rest · change stations")

    service.control(cls["id"], Event.FINISH)
    wait_for(lambda: header(page) == ("Class ended", "Tuesday 7am"), 5, what="the header after class")
    wait_for(lambda: not up.is_visible(), 5, what="Next up leaving with the class")
    page.reload()  # a wall switched on after class says so too
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    wait_for(lambda: header(page) == ("Class ended", "Tuesday 7am"), 5, what="the header after a reload")
    legible(page, "after class")


@pytest.mark.parametrize("extra", [0, 1, 2, 3, 4, 5])
def test_a_gym_with_more_stations_stays_legible(page, hub, extra):
    """4 stations (two columns), 5 to 9 (three columns: the big lines step down, small type keeps its
    floor; with three rows a running sled leaves out speed and power), with results and live progress."""
    from dataclasses import replace


    app, base = hub
    template = {s.id: s for s in app.hub.stations.all()}
    added = []
    for i in range(extra):
        kind = "sled" if i % 2 == 0 else "lane"
        src = template["sled1" if kind == "sled" else "lane1"]
        sid = f"{kind}{3 + i // 2}"
        app.hub.stations.upsert(replace(src, id=sid, name=f"{kind.title()} {3 + i // 2}", bindings=tuple(
            replace(b, node_id=f"sim-{sid}") for b in src.bindings)))
        added.append(sid)
    app.hub.reload_stations()
    page.goto(f"{base}/display")
    page.wait_for_selector("body[data-synced]", timeout=10_000)
    for sid in ["sled1", "sled2", "lane1", "lane2", *added]:
        page.wait_for_selector(f'[data-testid="tile-{sid}"]', timeout=5_000)
        if sid.startswith("sled"):
            inject_result(app, sid, "Maximilian R.", time_s=5.42)
        else:
            inject_result(app, sid, "Bison", status="DNF", reason="time_cap")
    last = (added or ["lane2"])[-1]
    wait_for(lambda: page.locator(f'[data-testid="tile-{last}"]').get_attribute("data-state") in ("OK", "DNF"), 5,
             what="the last tile's result")
    legible(page, f"{4 + extra} stations, results")
    # live progress as the hub's frames carry it: a sled's gauge, a lane's first split
    app.hub.broadcaster.event("frames", {"stations": {
        "sled1": {"elapsed_s": 3.4, "distance_m": 6.2, "force_n": 1234.0, "velocity_m_s": 2.8, "power_w": 1500.0},
        "lane1": {"elapsed_s": 4.5, "splits": [4.09]}}})
    wait_for(lambda: "1234 N" in page.locator('[data-testid="tile-sled1"]').inner_text(), 5, what="the live gauge")
    wait_for(lambda: "Split 1 ✓ 4.09" in page.locator('[data-testid="tile-track-lane1"]').inner_text(), 5,
             what="a live split")
    legible(page, f"{4 + extra} stations, live")
