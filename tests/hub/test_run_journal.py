"""A hub restart in the middle of a run costs nothing: the run journal (``server/hub/run_journal.py``) brings
back the armed attempt and what was measured, and the finish published while the hub was down (here:
handed to the new hub, as the broker's persistent session does) gets its exact time.

Two hubs on one SQLite file, real hub clock (the machine's monotonic clock), no broker: messages go in
through the hub's one message seam. The first hub "crashes": its pipeline stops, nothing is saved at
exit (only what each 40 ms tick wrote, and each event when it was handled).
"""

from __future__ import annotations

import json
from dataclasses import replace

from server.app import create_app
from server.config import Config
from server.hub.service import monotonic_us
from server.store.stations import Binding, Station
from tests.support.waiting import wait_for

OFFSET_US = 4_900_000   # t_hub = t_node + OFFSET_US
ROOT = "sledhub/v1/node/n1"


def make_app(db_path: str):
    base = Config()
    return create_app(replace(base, store=replace(base.store, path=db_path)), connect_mqtt=False)


def beam(app, seq: int, sensor: str, t_hub_us: int) -> None:
    body = {"v": 1, "boot_id": "b1", "seq": seq, "sensor": sensor, "kind": "break", "t_us": t_hub_us - OFFSET_US}
    app.hub.submit(f"{ROOT}/evt", json.dumps(body).encode(), monotonic_us())


def journal_rows(app) -> int:
    return app.db.query("SELECT COUNT(*) AS n FROM run_journal")[0]["n"]


def test_a_run_started_before_a_crash_finishes_with_its_exact_time_after_the_restart(tmp_path):
    db_path = str(tmp_path / "hub.db")
    first = make_app(db_path)
    first.hub.stations.upsert(Station("lane1", "lane", "Lane 1", {"start_mode": "FLY_THROUGH"},
                                      (Binding("start", "n1", "s"), Binding("finish", "n1", "f"))))
    first.hub.reload_stations()
    now = monotonic_us()
    first.hub.clock_sync.restore({"n1": {"boot_id": "b1", "samples": [[0, now - 400, now, now - 200 - OFFSET_US,
                                                                       400, OFFSET_US]]}})
    first.hub.start()
    try:
        (attempt,) = first.hub.arm([("lane1", "Kiwi", None, None)])
        t_start = monotonic_us() + 50_000
        beam(first, 0, "s", t_start)
        wait_for(lambda: journal_rows(first) >= 2, 5, what="the arm and the start break journaled")
        wait_for(lambda: first.hub.pipeline.run_sync(lambda: first.hub.engine.state_of("lane1")) == "RUNNING", 5,
                 what="the start processed")
    finally:
        first.hub.pipeline.stop()  # the crash: no orderly save
        first.link = None
        first.hub.stop = lambda: None
        first.stop()

    second = make_app(db_path)
    second.hub.start()
    try:
        assert second.hub.book.get(attempt.attempt_id).athlete == "Kiwi"
        t_finish = t_start + 3_456_789
        wait_for(lambda: monotonic_us() > t_finish, 10, what="the finish time reached")
        beam(second, 1, "f", t_finish)  # published while the hub was down, delivered when it is back
        stored = wait_for(lambda: second.hub.results.get(attempt.attempt_id), 10, what="the result stored")
        assert stored.status == "OK" and stored.athlete == "Kiwi"
        assert stored.detail["finish_t_us"] - stored.detail["start_t_us"] == 3_456_789
        assert stored.time_s == 3.457
        wait_for(lambda: journal_rows(second) == 0, 5, what="the journal emptied once nothing is active")
    finally:
        second.stop()


def test_a_beam_event_is_written_when_it_is_handled_not_at_the_next_tick(tmp_path):
    """paho acknowledges an event (QoS 1) to the broker when it reads it, so the broker will not deliver
    it again: a crash before the next tick's write must not lose it. Telemetry waits for the tick."""
    app = make_app(str(tmp_path / "hub.db"))
    try:
        app.hub.stations.upsert(Station("lane1", "lane", "Lane 1", {"start_mode": "FLY_THROUGH"},
                                        (Binding("start", "n1", "s"), Binding("finish", "n1", "f"))))
        app.hub.reload_stations()
        app.hub.arm([("lane1", "Kiwi", None, None)])  # the pipeline is not started: no tick runs
        assert journal_rows(app) == 0
        body = {"v": 1, "boot_id": "b1", "seq": 0, "sensor": "s", "kind": "break", "t_us": 1_000_000}
        app.hub._on_message(f"{ROOT}/evt", json.dumps(body).encode(), monotonic_us())  # the pipeline's handler
        kinds = [r["kind"] for r in app.db.query("SELECT kind FROM run_journal ORDER BY id")]
        assert kinds[-1] == "event" and "arm" in kinds
    finally:
        app.stop()


def test_a_journal_of_another_machine_boot_is_not_replayed(tmp_path):
    db_path = str(tmp_path / "hub.db")
    app = make_app(db_path)
    app.hub.stations.upsert(Station("lane1", "lane", "Lane 1", {"start_mode": "FLY_THROUGH"}, ()))
    app.hub.reload_stations()
    app.hub.arm([("lane1", "Kiwi", None, None)])
    app.hub.journal.flush()
    app.db.execute("UPDATE hub_state SET value = ? WHERE key = 'host_boot'", (json.dumps("another-boot"),))
    app.stop()
    again = make_app(db_path)
    again.hub.start()
    try:
        assert again.hub.book.current_all() == [] and again.hub.journal.replayed == 0
    finally:
        again.stop()


def test_dedupe_and_gap_counts_survive_a_restart(tmp_path):
    """A copy of a message handled before the restart, delivered again after it (QoS 1 redelivery of a
    persistent session), is still a duplicate; a seq missing before is still missing, and fills."""
    db_path = str(tmp_path / "hub.db")
    first = make_app(db_path)
    first.hub.start()
    for seq in (0, 1, 2, 4, 5):  # 3 is missing
        beam(first, seq, "s", 10_000_000 + seq)
    wait_for(lambda: first.hub.health()["messages_received"] == 5, 5, what="all handled")
    first.stop()
    second = make_app(db_path)
    second.hub.start()
    try:
        assert second.hub.health()["sequence_gaps"] == 1
        beam(second, 2, "s", 10_000_002)  # delivered again
        beam(second, 3, "s", 10_000_003)  # the missing one, at last
        wait_for(lambda: second.hub.health()["messages_received"] == 2, 5, what="both handled")
        health = second.hub.health()
        assert (health["duplicates"], health["sequence_gaps"], health["messages_accepted"]) == (1, 0, 1)
    finally:
        second.stop()
