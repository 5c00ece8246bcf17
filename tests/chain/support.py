"""Helpers of the chain tests: a hub config in a chain, and a result committed the way the hub commits
one (an attempt in the book, the engine's result through the :class:`ResultWriter`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from server.config import ChainConfig, Config
from server.engine.enums import ResultStatus
from server.engine.outputs import AttemptResult
from server.store.stations import Binding, Station

SLED = Station("sled1", "sled", "Sled 1", {"distance_m": 10.0},
               (Binding("force", "n1", "lc"), Binding("wheel", "n1", "enc")))


def chain_config(tmp_path: Path, gym_id: str, club: str = "", reconcile_from: str = "", name: str = "") -> Config:
    base = Config()
    return replace(base, store=replace(base.store, path=str(tmp_path / f"{name or gym_id}.db")),
                   http=replace(base.http, ping_interval_s=1),
                   chain=ChainConfig(gym_id=gym_id, club=club, reconcile_from=reconcile_from))


def add_sled(app, station: Station = SLED) -> None:
    app.hub.stations.upsert(station)
    app.hub.reload_stations()


def commit(app, athlete: str, time_s: float, *, member_id: str | None = None, station_id: str = "sled1",
           distance_m: float = 10.0, status: ResultStatus = ResultStatus.OK) -> str:
    """Commit one finished sled pull on ``app``'s pipeline thread; returns its attempt id."""
    hub = app.hub

    def finish() -> str:
        (a,) = hub.book.new_heat([(station_id, athlete, member_id, None)])
        hub.writer.finished(AttemptResult(station_id, a.attempt_id, status, "", 0, int(time_s * 1e6), time_s, None,
                                          metrics={"distance_m": distance_m}))
        return a.attempt_id
    return hub.pipeline.run_sync(finish)
