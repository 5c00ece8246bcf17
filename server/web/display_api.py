"""The wall display's routes and socket events over :class:`~server.boards.display.DisplayFeatures`.

REST (documented in ``docs/display.md``):

- ``GET /api/leaderboards?board=station|class|pbs|records|improved|chain&station=&class=&limit=`` (public;
  ``board=chain`` takes ``drill=`` and ``period=month|all``)
- ``GET /api/display/board`` (public) and ``POST /api/display/board`` (instructor): which board walls show

Socket.IO, requests a page sends (answered through the acknowledgement):

- ``display:state`` → stations, live tiles, latest results (wall names), board choice, class clock;
  walls send it after every (re)connect
- ``display:badges`` ``{"result_id"}`` → PB/record badges of a result

Pushed to every page: ``display:armed``, ``display:result`` (see :mod:`server.boards.live`) and
``board`` (the instructor changed the board choice). Walls time their countdown cues from the hub's
``go`` push.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_socketio import SocketIO

from server.auth.guard import require_role
from server.auth.roles import Role
from server.boards.display import DisplayFeatures
from server.boards.service import MAX_LIMIT
from server.errors import DomainError
from server.web.errors import ApiError, error_ack, json_body


def _limit() -> int:
    raw = request.args.get("limit", "10")
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"query parameter 'limit' must be an integer 1..{MAX_LIMIT}, got {raw!r}") from None


def display_blueprint(features: DisplayFeatures) -> Blueprint:
    bp = Blueprint("display_api", __name__, url_prefix="/api")

    @bp.get("/leaderboards")
    def leaderboards():
        args = request.args
        return jsonify(features.boards.board(args.get("board"), station=args.get("station") or None,
                                             class_id=args.get("class") or None, limit=_limit(),
                                             drill=args.get("drill") or None, period=args.get("period") or None))

    @bp.get("/display/board")
    def get_board():
        return jsonify(features.selection())

    @bp.post("/display/board")
    @require_role(Role.INSTRUCTOR)
    def set_board():
        return jsonify(features.select(json_body()))

    return bp


def register_display_events(socketio: SocketIO, features: DisplayFeatures) -> None:
    """``display:state`` and ``display:badges`` (answered through the acknowledgement)."""

    def on_state(data: Any = None) -> dict[str, Any]:
        return features.state()

    def on_badges(data: Any = None) -> dict[str, Any]:
        try:
            return {"ok": True, **features.badges(data)}
        except DomainError as exc:
            return error_ack(exc)

    socketio.on_event("display:state", on_state)
    socketio.on_event("display:badges", on_badges)
