"""Fixtures for the class features: an injected clock, a tmp database, a fake hub, the service, and a
real app (``create_app`` without MQTT) with the class features registered."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.auth.pins import hash_pin
from server.auth.users import UserStore
from server.classes.circuits import parse_circuit
from server.classes.service import ClassService
from server.store.db import Database
from tests.classes.fakes import FakeHub

FAST_HASH = lambda pin: hash_pin(pin, n=2 ** 10)  # noqa: E731 - cheap scrypt for tests (params stored in the hash)


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "hub.db"


@pytest.fixture
def db(db_path):
    database = Database(db_path)
    yield database
    database.close()


@pytest.fixture
def hub(db):
    return FakeHub(db)


@pytest.fixture
def service(hub, db, clock):
    return ClassService(hub, db, clock=clock, wall_clock=lambda: 1_700_000_000 + clock())


def make_circuit(hub, **overrides):
    spec = {"name": "Warm-up", "rounds": 2, "work_s": 20, "rest_s": 10, "countdown_s": 3,
            "stations": [{"name": "Sled", "kind": "sled", "station_ids": ["sled1"]},
                         {"name": "Lanes", "kind": "lane", "station_ids": ["lane1", "lane2"]}]}
    spec.update(overrides)
    return parse_circuit(spec, {s.id: s.kind for s in hub.stations.all()})


@pytest.fixture
def circuit_id(service, hub):
    return service.circuits.save(make_circuit(hub)).id


@pytest.fixture
def members(service):
    return [service.members.create(f"Member {i}", f"Nick{i}").id for i in range(6)]


@pytest.fixture
def users(db):
    return UserStore(db, hasher=FAST_HASH)


def base_config(tmp_path):
    from server.config import Config
    cfg = Config()
    return replace(cfg, store=replace(cfg.store, path=str(tmp_path / "app.db")))


@pytest.fixture
def hub_app(tmp_path):
    """The real app factory (no MQTT), with the hub's pipeline running."""
    from server.app import create_app
    app = create_app(base_config(tmp_path), connect_mqtt=False)
    app.flask.config["TESTING"] = True
    app.hub.start()
    yield app
    app.stop()
