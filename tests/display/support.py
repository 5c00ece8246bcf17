"""Helpers for display tests: a hub app with the class and display features, and results put through
the hub's real result path (book → writer: commit, ``result`` broadcast, listeners)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from server import engine as eng
from server.app import HubApp, create_app
from server.classes.wiring import register_class_features
from server.config import Config
from server.sim.demo import demo_stations
from server.store.members import MemberStore
from server.store.results import StoredResult
from server.web.display_api import register_display_features


def display_config(tmp_path, db_name: str = "hub.db", ping_interval_s: int = 1) -> Config:
    base = Config()
    return replace(base, store=replace(base.store, path=str(tmp_path / db_name)),
                   http=replace(base.http, ping_interval_s=ping_interval_s))


def build_app(config: Config, *, broker: tuple[str, int] | None = None, seed_stations: bool = True) -> HubApp:
    """``create_app`` plus what ``create_app`` will call: class features, then display features."""
    app = create_app(config, broker=broker, connect_mqtt=broker is not None)
    register_class_features(app)
    register_display_features(app)
    if seed_stations:
        for station in demo_stations():
            app.hub.stations.upsert(station)
        app.hub.reload_stations()
    return app


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
