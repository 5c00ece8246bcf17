"""Helpers for display tests: a hub app with the class and display features, results put through the
hub's real result path (book → writer: commit, ``result`` broadcast, listeners), a history of earlier
classes, and an HTTP client that signs in."""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

from server import engine as eng
from server.app import HubApp, create_app
from server.auth.users import UserStore
from server.config import Config
from server.sim.demo import attach_demo, demo_stations
from server.sim.demo_class import DemoTiming
from server.sim.roster import demo_roster
from server.classes.members import MemberStore
from server.store.results import ResultStore, StoredResult
from tests.classes.conftest import FAST_HASH
from tests.support.waiting import wait_for


def display_config(tmp_path, db_name: str = "hub.db", ping_interval_s: int = 1) -> Config:
    base = Config()
    return replace(base, store=replace(base.store, path=str(tmp_path / db_name)),
                   http=replace(base.http, ping_interval_s=ping_interval_s))


def build_app(config: Config, *, broker: tuple[str, int] | None = None, seed_stations: bool = True) -> HubApp:
    """``create_app`` (it builds every service: classes, display, setup), the demo stations seeded unless
    ``seed_stations`` is False."""
    app = create_app(config, broker=broker, connect_mqtt=broker is not None)
    if seed_stations:
        for station in demo_stations():
            app.hub.stations.upsert(station)
        app.hub.reload_stations()
    return app


def drop_connections(app: HubApp) -> None:
    """Close every page's connection, as a hub going down does (``HubApp.stop`` leaves open websockets
    running). Without waiting: ``eio.disconnect()`` waits for each socket's writer to drain its queue,
    forever if that writer has already ended (a page that just closed)."""
    app.drop_connections()  # on the serving thread: engine.io's sockets are gevent objects
    app.socketio.server.eio.sockets = {}


def add_member(app: HubApp, name: str, nickname: str = "", opt_out: bool = False) -> str:
    return MemberStore(app.db).create(name, nickname, opt_out).id


def curve(points: int = 20, duration_s: float = 4.0) -> dict[str, list[float]]:
    t = [round(i * duration_s / (points - 1), 3) for i in range(points)]
    return {"t_s": t, "force_n": [round(300 + 400 * min(1.0, x / 0.6) - 40 * x, 1) for x in t],
            "velocity_m_s": [round(min(2.8, 1.5 * x), 3) for x in t]}


def inject_result(app: HubApp, station_id: str, athlete: str, *, member_id: str | None = None,
                  class_id: str | None = "c1", status: str = "OK", time_s: float | None = None,
                  reason: str = "finished", false_start: str | None = None, with_curve: bool = True) -> StoredResult:
    """A finished attempt as the engine would report it, stored and announced by the hub's writer."""
    is_sled = station_id.startswith("sled")

    def do() -> StoredResult:
        (a,) = app.hub.book.new_heat([(station_id, athlete, member_id, class_id)])
        metrics: dict[str, Any] = ({"distance_m": 10.0, "peak_force_n": 700.0, "peak_power_w": 1500.0} if is_sled
                                   else {"distance_m": None, "route": ["start", "split1", "finish"]})
        result = eng.AttemptResult(
            station_id=station_id, attempt_id=a.attempt_id, status=eng.ResultStatus(status), reason=reason,
            start_t_us=1_000_000, finish_t_us=None, time_s=time_s, reaction_s=0.25,
            splits_s=[round(time_s / 2, 3)] if time_s else [None], metrics=metrics,
            curve=curve() if is_sled and with_curve else {}, heat_id=a.heat_id, false_start=false_start,
            warnings=[f"false_start:{false_start}: early"] if false_start else [])
        return app.hub.writer.finished(result)

    return app.hub.pipeline.run_sync(do)


def seed_history(app: HubApp, names: list[str], *, days_ago: float = 7.0, class_id: str = "last-week") -> None:
    """An earlier class of the demo athletes (times like the demo's own): boards then have personal
    bests, records and improvements to show."""
    store = ResultStore(app.db)
    at = time.time() - days_ago * 86_400
    for i, name in enumerate(names):
        for j, station in enumerate(("sled1", "sled2", "lane1", "lane2")):
            if (i + j) % 2:
                continue
            sled = station.startswith("sled")
            t = round((7.2 if sled else 7.6) + ((37 * i + 11 * j) % (10 if sled else 20)) / 10, 2)
            metrics = ({"distance_m": 10.0, "peak_force_n": 520.0, "peak_power_w": 900.0} if sled
                       else {"distance_m": None, "route": ["start", "split1", "finish"]})
            store.save(StoredResult(id=f"{class_id}-{i}-{j}", station_id=station, heat_id=None, class_id=class_id,
                                    member_id=None, athlete=name, status="OK", reason="finished", time_s=t,
                                    reaction_s=0.3, detail={"splits_s": [round(t / 2, 2)], "metrics": metrics,
                                                            "curve": {}, "warnings": []},
                                    finished_at=at + 60 * (i * 4 + j)))


class HubClient:
    """JSON over HTTP with a session cookie: ``sign_in`` then writes carry the CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf: str | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **({"X-CSRF-Token": self.csrf} if self.csrf else {})})
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """A request that must succeed (2xx); its JSON answer."""
        status, data = self.request(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {data!r}"
        return data

    def get(self, path: str) -> Any:
        status, data = self.request("GET", path)
        assert status == 200, (path, status, data)
        return data

    def sign_in(self, name: str, pin: str) -> None:
        status, data = self.request("POST", "/api/session", {"name": name, "pin": pin})
        assert status == 200, data
        self.csrf = data["csrf_token"]


@contextmanager
def serving_hub(tmp_path, *, port: int = 0) -> Iterator[tuple[HubApp, str]]:
    """A hub with the demo stations but no broker and no demo: tests drive it through its control
    methods and its result path. Serves HTTP on ``port`` (0 = a free one); yields ``(hub_app, base_url)``."""
    app = build_app(display_config(tmp_path))
    try:
        bound = app.serve_in_thread("127.0.0.1", port)
        app.hub.start()
        yield app, f"http://127.0.0.1:{bound}"
    finally:
        drop_connections(app)
        app.stop()


WALL_CLASS = DemoTiming(ready_s=1.5, countdown_s=3.0, cap_s=20.0, rest_s=2.0)
"""A quick demo class for browser tests (the countdown matches the demo stations' 3 s)."""
COACH, COACH_PIN = "coach", "4821"


@contextmanager
def demo_display_hub(tmp_path, broker, *, port: int = 0, roster_size: int = 5, history: bool = True,
                     coach: bool = True) -> Iterator[tuple[HubApp, str]]:
    """A hub with class and display features and the demo class on simulated nodes, serving HTTP on
    ``port`` (0 = a free one); ``roster_size`` 5 makes athletes change station every round. Yields
    ``(hub_app, base_url)``; stops everything afterwards."""
    app = build_app(display_config(tmp_path), broker=(broker.host, broker.port), seed_stations=False)
    try:
        rig = attach_demo(app, (broker.host, broker.port), timing=WALL_CLASS)
        rig.demo_class.roster = demo_roster(size=roster_size)
        if history:
            seed_history(app, [a.nickname for a in rig.demo_class.roster])
        if coach and not UserStore(app.db).all():
            UserStore(app.db, hasher=FAST_HASH).create(COACH, "instructor", COACH_PIN)
        bound = app.serve_in_thread("127.0.0.1", port)
        app.start()
        wait_for(app.broker_connected, 10, what="hub connected to the broker")
        yield app, f"http://127.0.0.1:{bound}"
    finally:
        drop_connections(app)
        app.stop()
