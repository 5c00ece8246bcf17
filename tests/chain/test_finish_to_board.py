"""Issue 18's headline figure, measured from a real finish: a lane's finish gate breaks on a sensor node
in gym A, and the time runs until gym B's chain board shows the result.

The path: the node (:class:`tests.faults.parts.LaneNode`, protocol v1 only: status, descriptor, clock
pongs, ``evt``) publishes the break on gym A's Mosquitto → A's hub places it on its clock and times it;
the result of record waits for the engine's lateness bound (300 ms) → A commits it (SQLite) → publishes
it on ``sledhub/v1/hub/results/<station>`` → A's bridge → the central Mosquitto → B's bridge → B's
Mosquitto → B's hub stores it → B's chain board shows it. Two gyms on loopback (the bridges and central
broker of :mod:`tests.chain.rig`). The heat is armed and started through the hub's own methods.

Figures (printed with ``-s`` and attached with ``record_property``, times in ms): finish-gate break →
B's board (p50, max), and its two parts, break → A's commit (the lateness bound and the engine's tick)
and A's commit → B's board.
"""

from __future__ import annotations

import statistics
import time

import pytest

from server.boards.model import course_of
from server.chain.record import drill_of
from server.engine.config import LaneStationConfig, lane_route
from server.store.stations import Binding, Station
from tests.chain.rig import Rig, central_broker, start_gym, warm_up
from tests.chain.support import add_sled
from tests.faults.parts import LaneNode
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker

NODE = "lane-node-a"
LANE_CONFIG = {"start_mode": "GO_COUNTDOWN", "countdown_s": 0.0, "split_roles": [], "time_cap_s": 20.0,
               "holdoff_s": 0.2}
LANE = Station("lane1", "lane", "Lane 1", LANE_CONFIG,
               (Binding("start", NODE, "start"), Binding("finish", NODE, "finish")))
DRILL = drill_of("lane", course_of(None, list(lane_route(LaneStationConfig("lane1", **LANE_CONFIG))))[0])
RUN_S = 0.4
"""Start beam to finish beam (s): the athlete's run (the time runs from GO, a moment before the start beam)."""
FINISHES = 5
LATENESS_S = 0.3
"""The hub's lateness bound (s): the result of record is held this long behind the newest time."""
CLOCK_SAMPLES = 4
"""Clock exchanges to wait for before the first heat, so the node's times are placed by a measured offset."""


@pytest.fixture
def two_gyms(tmp_path):
    gyms = (("gym-a", "Amsterdam"), ("gym-b", "Berlin"))
    central = central_broker(tmp_path, [gym_id for gym_id, _ in gyms])
    central.start()
    rig = Rig(central)
    node: LaneNode | None = None
    try:
        for gym_id, club in gyms:
            rig.gyms.append(start_gym(tmp_path, central, gym_id, club))
        warm_up(rig)
        a = rig.gyms[0]
        add_sled(a.app, LANE)
        node = LaneNode(NODE, (a.broker.host, a.broker.port))
        node.power_on()
        yield rig, node
    finally:
        if node is not None:
            node.stop()
        rig.close()


def on_board(gym, athlete: str) -> dict | None:
    rows = gym.app.display.boards.board("chain", drill=DRILL, period="all", limit=50)["rows"]
    return next((r for r in rows if r["athlete"] == athlete and r["club"] == "Amsterdam"), None)


def test_a_finish_in_one_gym_reaches_the_chain_board_in_another(two_gyms, record_property):
    rig, node = two_gyms
    a, b = rig.gyms
    hub = a.app.hub
    wait_for(lambda: hub.pipeline.run_sync(lambda: hub.clock_sync.samples(NODE)) >= CLOCK_SAMPLES, 10,
             what="gym A's hub has measured the lane node's clock")

    committed: dict[str, float] = {}  # attempt id → time.monotonic() when A's hub committed it
    hub.writer.listeners.append(lambda stored: committed.setdefault(stored.id, time.monotonic()))

    to_board, to_commit, commit_to_board = [], [], []
    for i in range(FINISHES):
        athlete = f"Lia{i}"
        (attempt,) = hub.arm([("lane1", athlete, None, None)])
        t_go_us = hub.go(["lane1"])
        t_start_us = time.monotonic_ns() // 1000     # countdown 0: the GO signal is t_go_us, already past
        node.beam_break("start", node.clock_offset_us + t_start_us)
        wait_for(lambda t=t_start_us: time.monotonic_ns() // 1000 >= t + RUN_S * 1e6, 2, interval_s=0.001,
                 what="the athlete's run")
        t_break_us = time.monotonic_ns() // 1000     # the finish beam breaks now, stamped at the edge
        t_break = t_break_us / 1e6
        node.beam_break("finish", node.clock_offset_us + t_break_us)
        row = wait_for(lambda who=athlete: on_board(b, who), 10, interval_s=0.002, what=f"{athlete} on Berlin's chain board")
        t_board = time.monotonic()
        # timed on the node's clock, placed on the hub's by the clock exchange: GO to the finish break
        assert row["time_s"] == pytest.approx((t_break_us - t_go_us) / 1e6, abs=0.005)
        stored = hub.results.get(attempt.attempt_id)
        assert stored is not None and stored.status == "OK" and stored.time_s == row["time_s"]
        to_board.append(t_board - t_break)
        to_commit.append(committed[attempt.attempt_id] - t_break)
        commit_to_board.append(t_board - committed[attempt.attempt_id])

    assert hub.late_events == 0
    assert len({r["athlete"] for r in b.app.display.boards.board("chain", drill=DRILL, period="all",
                                                                   limit=50)["rows"]}) == FINISHES
    # the result of record waits for the lateness bound: nothing reaches A's commit before it (less the
    # error of the measured node clock offset, well under a millisecond on loopback)
    assert min(to_commit) >= LATENESS_S - 0.002
    assert max(to_board) < 2.0, f"finish → other gym's board took {max(to_board):.3f} s"

    def ms(xs: list[float]) -> str:
        return f"p50 {statistics.median(xs) * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms"
    for name, xs in (("finish_to_other_board", to_board), ("finish_to_commit", to_commit),
                     ("commit_to_other_board", commit_to_board)):
        record_property(f"{name}_p50_ms", round(statistics.median(xs) * 1000, 1))
        record_property(f"{name}_max_ms", round(max(xs) * 1000, 1))
    print(f"\nchain on loopback, n={FINISHES}: finish-gate break in gym A -> gym B's chain board {ms(to_board)};"
          f" of it break -> A's commit {ms(to_commit)} (lateness bound {LATENESS_S * 1000:.0f} ms),"
          f" A's commit -> B's board {ms(commit_to_board)}")
