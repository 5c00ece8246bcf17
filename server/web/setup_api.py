"""``/setup``'s routes and socket events; :func:`register_setup_features` hooks them into a hub app
(after ``register_class_features``, whose sign-in and access control the writes use).

REST (documented in ``docs/api.md``; reads are public, writes need an admin and the CSRF header):

- ``GET /api/setup[?find=TEXT]`` — nodes (new ones first; only 8 new ones in full, the others in
  ``new_nodes.hidden``) with their sensors' bindings, live readings, health and
  calibration; stations; running calibrations; warnings
- ``DELETE /api/setup/nodes/{node_id}`` — forget a node no station uses (server/setup/forget.py)
- ``GET /api/setup/warnings`` — what to fix before a class: ``{"ready", "errors", "warnings_count",
  "warnings": [{"level", "code", "message", "station_id", "station_name", "role", "node_id",
  "sensor_id"}], "checked_at"}``
- ``POST /api/setup/stations``, ``PUT|DELETE /api/setup/stations/{station_id}`` — a station and its
  sensor bindings; the answer lists the settings pushed to the nodes
- ``GET /api/setup/calibrations`` — the calibration each sensor runs with (newest per sensor)
- ``POST /api/setup/wizards`` ``{"node_id", "sensor_id", "mode"?}`` — start calibrating a sensor;
  ``GET /api/setup/wizards/{wizard_id}``; ``POST /api/setup/wizards/{wizard_id}/actions``
  ``{"action", "mass_kg"?, "distance_m"?}``

Socket.IO: ``setup:join`` (answer: the same as ``GET /api/setup``) puts the connection in the ``setup``
room, which gets ``setup:readings`` (a few times per second) and ``setup:view``; every page gets
``setup:warnings`` when the warnings change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request
from flask_socketio import join_room, leave_room

from server.auth.guard import EXTENSION as AUTH_EXTENSION
from server.auth.guard import auth_of, require_role
from server.auth.roles import Role
from server.setup.health import Thresholds
from server.setup.service import ROOM, SetupService
from server.setup.stations import SetupError
from server.web.errors import json_body

if TYPE_CHECKING:
    from server.app import HubApp

EXTENSION = "sledhub_setup"
ACTION_FIELDS = {"action", "mass_kg", "distance_m"}


def _user_name() -> str:
    who = auth_of().principal()
    return who.user.name if who.user else ""


def setup_blueprint(service: SetupService) -> Blueprint:
    bp = Blueprint("setup_api", __name__, url_prefix="/api/setup")
    call = service.call

    @bp.get("")
    def overview():
        find = request.args.get("find", "")[:64]
        return jsonify(call(lambda: service.view(find)))

    @bp.delete("/nodes/<node_id>")
    @require_role(Role.ADMIN)
    def forget_node(node_id: str):
        return jsonify(call(lambda: service.forget_node(node_id)))

    @bp.get("/warnings")
    def warnings():
        return jsonify(call(service.warnings))

    @bp.get("/calibrations")
    def calibrations():
        return jsonify([c.to_dict() for c in service.calibrations.current_all().values()])

    @bp.post("/stations")
    @require_role(Role.ADMIN)
    def create_station():
        body = json_body()
        return jsonify(call(lambda: service.save_station(body))), 201

    @bp.put("/stations/<station_id>")
    @require_role(Role.ADMIN)
    def replace_station(station_id: str):
        body = json_body()
        return jsonify(call(lambda: service.save_station(body, station_id)))

    @bp.delete("/stations/<station_id>")
    @require_role(Role.ADMIN)
    def delete_station(station_id: str):
        return jsonify(call(lambda: service.delete_station(station_id)))

    @bp.post("/wizards")
    @require_role(Role.ADMIN)
    def start_wizard():
        body = json_body()
        node, sensor, mode = body.get("node_id"), body.get("sensor_id"), body.get("mode", "full")
        if not isinstance(node, str) or not isinstance(sensor, str) or mode not in ("full", "zero"):
            raise SetupError(400, "give node_id and sensor_id (texts) and, for a load cell, mode 'full' or 'zero'")
        user = _user_name()
        return jsonify(call(lambda: service.start_wizard(node, sensor, mode, user))), 201

    @bp.get("/wizards/<wizard_id>")
    def wizard(wizard_id: str):
        return jsonify(call(lambda: service.wizard_view(wizard_id)))

    @bp.post("/wizards/<wizard_id>/actions")
    @require_role(Role.ADMIN)
    def wizard_action(wizard_id: str):
        body = json_body()
        action = body.get("action")
        unknown = sorted(set(body) - ACTION_FIELDS)
        if not isinstance(action, str) or unknown:
            raise SetupError(400, "give an 'action' (and 'mass_kg' or 'distance_m' where the step asks)"
                             + (f"; unknown field(s): {', '.join(unknown)}" if unknown else ""))
        params = {k: v for k, v in body.items() if k != "action"}
        return jsonify(call(lambda: service.act(wizard_id, action, params)))

    return bp


def register_setup_features(hub_app: "HubApp") -> SetupService:
    """Register ``/setup``'s routes, socket events, hub listener and ticker on ``hub_app``; call it in
    ``create_app`` after ``register_class_features`` and before the hub starts. A second call does nothing."""
    flask, hub, socketio = hub_app.flask, hub_app.hub, hub_app.socketio
    if EXTENSION in flask.extensions:
        return flask.extensions[EXTENSION]
    if AUTH_EXTENSION not in flask.extensions:
        raise RuntimeError("register_class_features(hub_app) must run first: /setup's writes use its access control")

    def emit(event: str, data: Any, room: str | None) -> None:
        socketio.emit(event, data, to=room)

    def watched() -> bool:
        return any(True for _ in socketio.server.manager.get_participants("/", ROOM))

    # a node that has not answered 3 of the hub's clock pings is offline, before its Last Will arrives
    ping_s = hub_app.config.timing.clock_ping_interval_s
    service = SetupService(hub, hub_app.db, emit, watched=watched,
                           thresholds=Thresholds(silent_after_s=max(3.0, 3 * ping_s)))
    flask.extensions[EXTENSION] = service
    flask.register_blueprint(setup_blueprint(service))
    hub.listeners.append(service.on_item)
    hub.pipeline.add_ticker(service.tick)

    def on_join(data: Any = None) -> dict[str, Any]:
        join_room(ROOM)
        return service.call(service.view)

    def on_leave(data: Any = None) -> dict[str, Any]:
        leave_room(ROOM)
        return {"ok": True}

    socketio.on_event("setup:join", on_join)
    socketio.on_event("setup:leave", on_leave)
    return service


def setup_service(hub_app: "HubApp") -> SetupService:
    """The service registered on ``hub_app`` (for tests and the CLI)."""
    return hub_app.flask.extensions[EXTENSION]
