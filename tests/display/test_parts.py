"""Small parts of the display's server side: live tiles on a fake hub, the board choice, day bounds and
the frame grid of the broadcaster."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server import engine as eng
from server.hub.attempts import AttemptBook
from server.boards.live import LiveTiles
from server.boards.selection import BoardChoice, SelectionError, parse_selection
from server.boards.service import day_bounds
from server.hub.broadcast import Broadcaster
from server.engine.enums import AttemptState, FalseStartPolicy, FalseStartReason


class FakeEngine:
    def __init__(self):
        self.stations = {"sled1": eng.SledStationConfig("sled1", distance_m=15.0, split_distances_m=(5.0, 10.0)),
                         "lane1": eng.LaneStationConfig("lane1", split_roles=("split1", "split2"))}


class FakeHub:
    def __init__(self):
        self.book = AttemptBook("t")
        self.engine = FakeEngine()


def identify(member_id, athlete):
    return ("Member", True) if member_id == "shy" else (athlete, False)


def changed(station, attempt, state, t_us=9_700_000, heat="t-h1", rearmed_from=None):
    return eng.AttemptStateChanged(station, attempt, state, t_us, "r", heat, rearmed_from)


def test_tiles_follow_arm_countdown_false_start_rearm_and_result():
    hub, sent = FakeHub(), []
    tiles = LiveTiles(hub, lambda name, data: sent.append((name, data)), identify)
    (a,) = hub.book.new_heat([("sled1", "Rocket", None, "c1")])
    tiles.on_output(changed("sled1", a.attempt_id, AttemptState.ARMED, heat=a.heat_id))
    assert sent[-1][0] == "display:armed"
    assert {k: sent[-1][1][k] for k in ("athlete", "target_m", "split_distances_m", "kind")} == {
        "athlete": "Rocket", "target_m": 15.0, "split_distances_m": [5.0, 10.0], "kind": "sled"}
    tiles.on_output(changed("sled1", a.attempt_id, AttemptState.COUNTDOWN, heat=a.heat_id))
    assert tiles.snapshot()["sled1"]["state"] == "COUNTDOWN" and len(sent) == 1
    tiles.on_output(eng.FalseStartDetected("sled1", a.attempt_id, 9_800_000, FalseStartReason.FORCE,
                                           FalseStartPolicy.VOID_REARM, True, "early"))
    assert tiles.snapshot()["sled1"]["false_start"] == "force"
    hub.book.finished(a.attempt_id)  # the voided attempt's result was stored
    tiles.on_output(changed("sled1", a.attempt_id + "~2", AttemptState.ARMED, heat=a.heat_id,
                            rearmed_from=a.attempt_id))
    assert sent[-1][1]["athlete"] == "Rocket" and sent[-1][1]["rearmed_from"] == a.attempt_id
    tiles.on_output(eng.Progress("sled1", a.attempt_id, 1, 0.1, 0.2, 300.0, 1.0, 300.0, []))  # ignored
    assert len(sent) == 2 and tiles.snapshot()["sled1"]["state"] == "ARMED"


def test_members_who_opted_out_stay_hidden_on_tiles():
    hub, sent = FakeHub(), []
    tiles = LiveTiles(hub, lambda name, data: sent.append((name, data)), identify)
    (b,) = hub.book.new_heat([("lane1", "Cara", "shy", None)])
    tiles.on_output(changed("lane1", b.attempt_id, AttemptState.ARMED))
    assert sent[-1][1]["athlete"] == "Member" and sent[-1][1]["route"] == ["start", "split1", "split2", "finish"]

    class Stored:
        id, station_id = b.attempt_id, "lane1"

        def to_dict(self):
            return {"id": self.id, "station_id": "lane1", "member_id": "shy", "athlete": "Cara", "status": "DNF"}

    tiles.on_result(Stored())
    assert sent[-1] == ("display:result", {"id": b.attempt_id, "station_id": "lane1", "member_id": "shy",
                                           "athlete": "Member", "hidden": True, "status": "DNF"})
    assert tiles.snapshot()["lane1"]["state"] == "DNF"


# board choice ----------------------------------------------------------------------------------------
STATIONS = ["sled1", "lane1"]


def test_board_choices():
    assert parse_selection({"board": "records"}, STATIONS).boards == (BoardChoice("records"),)
    fixed = parse_selection({"board": "station", "station": "lane1"}, STATIONS)
    assert fixed.mode == "fixed" and fixed.boards == (BoardChoice("station", "lane1"),)
    rotate = parse_selection({"board": "rotate"}, STATIONS)
    assert rotate.mode == "rotate" and rotate.boards is None and rotate.rotate_s == 12.0
    assert rotate.to_dict([{"board": "class", "station": None}])["boards"] == [{"board": "class", "station": None}]
    custom = parse_selection({"board": "rotate", "rotate_s": 5, "boards": [{"board": "pbs"},
                                                                          {"board": "station", "station": "sled1"}]},
                             STATIONS)
    assert custom.boards == (BoardChoice("pbs"), BoardChoice("station", "sled1")) and custom.rotate_s == 5.0


@pytest.mark.parametrize("data, text", [
    ("class", "JSON object"),
    ({}, "selection.board: one of"),
    ({"board": "station"}, "selection.station: a station id (lane1, sled1)"),
    ({"board": "class", "station": "sled1"}, "only board 'station' takes a station"),
    ({"board": "class", "rotate_s": 5}, "rotate_s and boards go with board 'rotate'"),
    ({"board": "rotate", "rotate_s": 2}, "rotate_s: seconds per board, 4..600"),
    ({"board": "rotate", "rotate_s": True}, "rotate_s"),
    ({"board": "rotate", "boards": []}, "boards: a non-empty list"),
    ({"board": "rotate", "boards": ["class"]}, "boards[0]: expected an object"),
    ({"board": "rotate", "boards": [{"board": "class", "x": 1}]}, "boards[0]: unknown field(s) x"),
    ({"board": "rotate", "speed": 1}, "unknown field(s) speed"),
])
def test_bad_board_choices_are_refused_with_a_reason(data, text):
    with pytest.raises(SelectionError) as caught:
        parse_selection(data, STATIONS)
    assert text in str(caught.value)


# today -----------------------------------------------------------------------------------------------
def test_a_day_runs_from_local_midnight_to_the_next_even_across_a_dst_change():
    zone = ZoneInfo("Europe/Berlin")
    noon = datetime(2024, 3, 31, 12, 0, tzinfo=zone).timestamp()  # clocks went forward at 02:00
    start, end = day_bounds(noon, zone)
    assert datetime.fromtimestamp(start, zone) == datetime(2024, 3, 31, 0, 0, tzinfo=zone)
    assert datetime.fromtimestamp(end, zone) == datetime(2024, 4, 1, 0, 0, tzinfo=zone)
    assert end - start == 23 * 3600


# frames -----------------------------------------------------------------------------------------------
class Emitter:
    def __init__(self):
        self.frames = []

    def emit(self, event, data, to=None, callback=None):
        if event == "frames":
            self.frames.append(data["t_us"])
            callback()  # the page acknowledges at once


def test_a_steady_stream_gets_twenty_frames_a_second_despite_tick_jitter():
    em = Emitter()
    b = Broadcaster(em, frame_interval_us=50_000)
    b.client_joined("wall")
    t = 1_000_000
    for i in range(200):  # two seconds of 10 ms ticks, each 0..3 ms late
        t += 10_000 + (i * 7919) % 3_000
        b.progress("sled1", {"elapsed_s": i})
        b.flush(t)
    span_s = (t - 1_000_000) / 1e6
    assert len(em.frames) >= int(20 * span_s) - 1
    gaps = [b - a for a, b in zip(em.frames, em.frames[1:])]
    assert min(gaps) >= 30_000  # never a burst
    # after a pause the grid restarts: the next frame goes at once, the one after a slot later
    b.progress("sled1", {}), b.flush(t + 1_000_000)
    b.progress("sled1", {}), b.flush(t + 1_040_000)
    assert em.frames[-1] == t + 1_000_000
    b.flush(t + 1_050_000)
    assert em.frames[-1] == t + 1_050_000


def test_a_late_tick_catches_up_without_a_burst():
    em = Emitter()
    b = Broadcaster(em, frame_interval_us=50_000)
    b.client_joined("wall")
    for t in (50_000, 100_000, 185_000, 190_000, 200_000, 210_000, 250_000):  # a 35 ms stall at 150 ms
        b.progress("sled1", {})
        b.flush(t)
    assert em.frames == [50_000, 100_000, 185_000, 210_000, 250_000]
