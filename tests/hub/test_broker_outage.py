"""While the broker is away the engine's clock waits: what the nodes held meanwhile, sent in any order
once they are back, is used as if it had come in time (tests/accuracy/FINDINGS.md F3: a broker restart cost samples).

The hub's one message seam with injected receipt times and hub clock; ticks are driven by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from server.app import create_app
from server.config import Config
from server.hub.service import BROKER_GRACE_US
from server.store.stations import Binding, Station

ROOT = "sledhub/v1/node/n2"
OFFSET_US = 2_000_000   # t_hub = t_node + OFFSET_US


@pytest.fixture
def hub(tmp_path):
    base = Config()
    now = [1_000_000]
    app = create_app(replace(base, store=replace(base.store, path=str(tmp_path / "h.db"))), connect_mqtt=False,
                     clock_us=lambda: now[0])
    app.hub.stations.upsert(Station("lane1", "lane", "Lane 1", {"start_mode": "FLY_THROUGH", "split_roles": ["split1"]},
                                    (Binding("start", "n2", "s"), Binding("split1", "n2", "p"),
                                     Binding("finish", "n2", "f"))))
    app.hub.reload_stations()
    app.hub.clock_sync.restore({"n2": {"boot_id": "b1", "samples": [[0, 0, 400, 200 - OFFSET_US, 400, OFFSET_US]]}})
    app.hub.now = now
    yield app.hub
    app.stop()


def run_until(hub, t_us: int) -> None:
    while hub.now[0] < t_us:
        hub.now[0] += 10_000
        hub._advance(hub.now[0])


def beam(hub, seq: int, sensor: str, t_hub_us: int) -> None:
    body = {"v": 1, "boot_id": "b1", "seq": seq, "sensor": sensor, "kind": "break", "t_us": t_hub_us - OFFSET_US}
    hub._on_message(f"{ROOT}/evt", json.dumps(body).encode(), hub.now[0])


def test_what_nodes_held_during_a_broker_restart_is_used_in_any_order(hub):
    (attempt,) = hub.arm([("lane1", "Kiwi", None, None)])
    run_until(hub, 2_000_000)
    beam(hub, 0, "s", 2_000_000)               # the start, in time
    run_until(hub, 2_500_000)
    hub._broker_state(False, hub.now[0])       # the broker goes away at 2.5 s ...
    run_until(hub, 5_000_000)
    hub._broker_state(True, hub.now[0])        # ... and is back at 5 s; the nodes reconnect and send
    run_until(hub, 5_300_000)
    beam(hub, 2, "f", 4_000_000)               # the finish they held, first ...
    beam(hub, 1, "p", 3_000_000)               # ... then the split, delayed more
    run_until(hub, 5_000_000 + BROKER_GRACE_US + 2_000_000)
    stored = hub.results.get(attempt.attempt_id)
    assert stored is not None and stored.status == "OK"
    assert stored.time_s == 2.0 and stored.detail["splits_s"] == [1.0]
    assert hub.late_events == 0


def test_what_nodes_sent_while_the_hub_itself_was_frozen_is_used_in_any_order(hub):
    """A SIGSTOP of the hub (tests/accuracy/FINDINGS.md F17): the messages sent during the freeze come
    in after it, stamped with receipt times after it, a few hundred ms into the catch-up."""
    (attempt,) = hub.arm([("lane1", "Kiwi", None, None)])
    run_until(hub, 2_000_000)
    beam(hub, 0, "s", 2_000_000)               # the start, in time
    run_until(hub, 2_500_000)
    hub.now[0] = 6_400_000                     # frozen from 2.5 s to 6.4 s: no tick in between
    run_until(hub, 6_700_000)                  # 300 ms after the freeze, the backlog is read ...
    beam(hub, 2, "f", 4_000_000)               # ... the finish first ...
    beam(hub, 1, "p", 3_000_000)               # ... then the split
    run_until(hub, 6_400_000 + BROKER_GRACE_US + 5_000_000)
    stored = hub.results.get(attempt.attempt_id)
    assert stored is not None and stored.status == "OK"
    assert stored.time_s == 2.0 and stored.detail["splits_s"] == [1.0]
    assert hub.late_events == 0
