"""The JSON API under ``/api/`` (documented in ``docs/api.md``)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Protocol

from flask import Blueprint, jsonify, request

from server.hub.service import Hub
from server.store.db import Database
from server.web.errors import ApiError

NO_DEMO = "this hub runs no demo class (start it with 'sledhub demo')"


class DemoControl(Protocol):
    """What the web layer needs of a demo rig (:class:`server.sim.demo.DemoRig`)."""

    def state(self) -> dict[str, Any]: ...

    def start_class(self) -> None: ...

    def stop_class(self) -> None: ...


DemoOf = Callable[[], "DemoControl | None"]
"""The hub's demo rig, None on a hub without one (a demo is attached after the app is built)."""


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter '{name}' must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"query parameter '{name}' must be {lo}..{hi}, got {value}")
    return value


def api_blueprint(hub: Hub, db: Database, broker_connected: Callable[[], bool], api_errors: Counter,
                  demo: DemoOf, results_since: Callable[[str, int], Any] | None = None,
                  gc_pauses: Callable[[], dict[str, Any]] | None = None) -> Blueprint:
    """Health (with the MQTT link's state, whether the store takes writes, the count of refused API
    calls by status and ``gc_pauses()``: the garbage collector's, ``server/gc_tuning.py``), results,
    stations, nodes and the demo class. ``results_since(since, limit)`` answers
    ``GET /api/results?since=`` (a hub in a chain: :meth:`server.chain.service.ChainService.results_since`)."""
    bp = Blueprint("api", __name__, url_prefix="/api")

    def demo_rig() -> DemoControl:
        rig = demo()
        if rig is None:
            raise ApiError(404, NO_DEMO)
        return rig

    @bp.get("/health")
    def health():
        data = hub.health()
        data["broker_connected"] = broker_connected()
        data["store_writable"] = db.check_writable()
        error = db.write_error
        data["store_error"] = None if error is None else {"reason": error.reason, "message": error.message}
        data["api_errors"] = dict(api_errors)
        if gc_pauses is not None:
            data["gc"] = gc_pauses()
        return jsonify(data)

    @bp.get("/results")
    def results():
        if "since" in request.args:
            if results_since is None:
                raise ApiError(404, "this hub is not in a chain ([chain] gym_id is not set): no results feed")
            return jsonify(results_since(request.args["since"], _int_arg("limit", 500, 1, 1000)))
        limit = _int_arg("limit", 50, 1, 1000)
        station = request.args.get("station") or None
        class_id = request.args.get("class") or None
        return jsonify([r.to_dict() for r in hub.results.recent(limit, station, class_id)])

    @bp.get("/results/<result_id>")
    def result(result_id: str):
        r = hub.results.get(result_id)
        if r is None:
            raise ApiError(404, f"no result with id {result_id!r}")
        return jsonify(r.to_dict())

    @bp.get("/stations")
    def stations():
        return jsonify([s.to_dict() for s in hub.stations.all()])

    @bp.get("/nodes")
    def nodes():
        return jsonify(hub.node_views())

    @bp.get("/demo")
    def demo_state():
        return jsonify(demo_rig().state())

    @bp.post("/demo/start")
    def demo_start():
        rig = demo_rig()
        rig.start_class()
        return jsonify(rig.state())

    @bp.post("/demo/stop")
    def demo_stop():
        rig = demo_rig()
        rig.stop_class()
        return jsonify(rig.state())

    return bp
