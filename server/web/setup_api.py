"""``/setup``'s routes and socket events over :class:`~server.setup.service.SetupService`
(built by :func:`server.app.create_app`).

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

from typing import Any

from flask import Blueprint, jsonify, request
from flask_socketio import SocketIO, join_room, leave_room

from server.auth.guard import Auth, require_role
from server.auth.roles import Role
from server.errors import InvalidInput
from server.setup.service import ROOM, SetupService
from server.web.errors import json_body

ACTION_FIELDS = {"action", "mass_kg", "distance_m"}


def setup_blueprint(service: SetupService, auth: Auth) -> Blueprint:
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
            raise InvalidInput("give node_id and sensor_id (texts) and, for a load cell, mode 'full' or 'zero'")
        who = auth.principal()
        user = who.user.name if who.user else ""
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
            raise InvalidInput("give an 'action' (and 'mass_kg' or 'distance_m' where the step asks)"
                             + (f"; unknown field(s): {', '.join(unknown)}" if unknown else ""))
        params = {k: v for k, v in body.items() if k != "action"}
        return jsonify(call(lambda: service.act(wizard_id, action, params)))

    return bp


def register_setup_events(socketio: SocketIO, service: SetupService) -> None:
    """``setup:join`` (answer: the overview; the connection joins the ``setup`` room) and ``setup:leave``."""

    def on_join(data: Any = None) -> dict[str, Any]:
        join_room(ROOM)
        return service.call(service.view)

    def on_leave(data: Any = None) -> dict[str, Any]:
        leave_room(ROOM)
        return {"ok": True}

    socketio.on_event("setup:join", on_join)
    socketio.on_event("setup:leave", on_leave)
