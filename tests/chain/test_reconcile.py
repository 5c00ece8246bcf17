"""Reconciliation: ``GET /api/results?since=`` pages through a gym's shared results, and a hub that
missed some (it joined late, a broker's queue overflowed) fills them in from the other hubs, without
doubling what it has."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from server.app import create_app
from server.classes.corrections import CorrectionKind
from server.mqtt.broker import ManagedBroker
from tests.chain.support import add_sled, chain_config, commit
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture
def two_gyms(tmp_path):
    """Gym A serving HTTP; gym C told to reconcile from A. Each on its own broker, not bridged."""
    brokers = [ManagedBroker(workdir=tmp_path / name).start() for name in ("a", "c")]
    apps = []
    try:
        a = create_app(chain_config(tmp_path, "gym-a", "Amsterdam"), broker=(brokers[0].host, brokers[0].port))
        apps.append(a)
        add_sled(a)
        port = a.serve_in_thread()
        a.start()
        url = f"http://127.0.0.1:{port}"
        c = create_app(chain_config(tmp_path, "gym-c", "Cork", reconcile_from=url),
                       broker=(brokers[1].host, brokers[1].port))
        apps.append(c)
        wait_for(a.broker_connected, 10, what="gym A on its broker")
        yield a, c, url
    finally:
        for app in apps:
            app.stop()
        for b in brokers:
            b.close()


def test_the_feed_pages_on_seq_and_refuses_a_bad_cursor(two_gyms):
    a, _, url = two_gyms
    ids = [commit(a, f"Ann{i}", 4.0 + i / 10) for i in range(3)]
    wait_for(lambda: a.chain.store.counts().get("gym-a") == 3, 5, what="A's results shared")
    first = get(f"{url}/api/results?since=0&limit=2")
    assert first["gym_id"] == "gym-a" and [r["attempt_id"] for r in first["results"]] == ids[:2]
    rest = get(f"{url}/api/results?since={first['next']}&limit=2")
    assert [r["attempt_id"] for r in rest["results"]] == ids[2:]
    assert get(f"{url}/api/results?since={rest['next']}")["results"] == []
    assert isinstance(get(f"{url}/api/results"), list)  # without since: the hub's own result list, as before
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(f"{url}/api/results?since=yesterday")
    assert refused.value.code == 400
    assert "since" in json.loads(refused.value.read())["error"]


def test_a_hub_fills_what_it_missed_and_doubles_nothing(two_gyms):
    a, c, _ = two_gyms
    ids = [commit(a, f"Ann{i}", 4.0 + i / 10) for i in range(3)]
    wait_for(lambda: a.chain.store.counts().get("gym-a") == 3, 5, what="A's results shared")
    assert c.chain.reconciler.run_once() == 3
    assert c.chain.reconciler.run_once() == 0
    rows = c.display.boards.board("chain", drill="sled:10 m", period="all")["rows"]
    assert [(r["club"], r["athlete"]) for r in rows] == [("Amsterdam", f"Ann{i}") for i in range(3)]
    a.classes.correct(ids[0], CorrectionKind.DQ, "false start missed", (None, "coach"))
    wait_for(lambda: a.chain.store.get(f"gym-a:{ids[0]}").status == "DQ", 5, what="A's correction shared")
    assert c.chain.reconciler.run_once() == 1
    rows = c.display.boards.board("chain", drill="sled:10 m", period="all")["rows"]
    assert [r["athlete"] for r in rows] == ["Ann1", "Ann2"]


def test_a_started_hub_reconciles_at_once_and_stops_cleanly(two_gyms):
    a, c, _ = two_gyms
    commit(a, "Ann", 4.0)
    wait_for(lambda: a.chain.store.counts().get("gym-a") == 1, 5, what="A's result shared")
    c.start()
    wait_for(lambda: c.chain.reconciler.rounds >= 1, 10, what="the first round at start")
    assert c.chain.reconciler.filled == 1 and c.chain.reconciler.failures == 0
    assert c.chain.health()["reconcile"]["filled"] == 1
