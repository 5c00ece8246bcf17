"""The JSON API under ``/api/`` (documented in ``docs/api.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from server.web.errors import ApiError

if TYPE_CHECKING:
    from server.app import HubApp


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


def api_blueprint(app: "HubApp") -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api")
    hub = app.hub

    @bp.get("/health")
    def health():
        data = hub.health()
        data["broker_connected"] = app.broker_connected()
        data["store_writable"] = app.db.check_writable()
        error = app.db.write_error
        data["store_error"] = None if error is None else {"reason": error.reason, "message": error.message}
        data["api_errors"] = dict(app.api_errors)
        return jsonify(data)

    @bp.get("/results")
    def results():
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
        if app.demo is None:
            raise ApiError(404, "this hub runs no demo class (start it with 'sledhub demo')")
        return jsonify(app.demo.state())

    @bp.post("/demo/start")
    def demo_start():
        if app.demo is None:
            raise ApiError(404, "this hub runs no demo class (start it with 'sledhub demo')")
        app.demo.start_class()
        return jsonify(app.demo.state())

    @bp.post("/demo/stop")
    def demo_stop():
        if app.demo is None:
            raise ApiError(404, "this hub runs no demo class (start it with 'sledhub demo')")
        app.demo.stop_class()
        return jsonify(app.demo.state())

    return bp
