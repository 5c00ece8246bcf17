"""The wall display's routes and socket events; :func:`register_display_features` hooks them into a hub
app (after ``register_class_features``, whose access control the write route uses).

REST (documented in ``docs/display.md``):

- ``GET /api/leaderboards?board=station|class|pbs|records|improved&station=&class=&limit=`` (public)
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

import threading
import time
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, request

from server.auth.guard import EXTENSION as AUTH_EXTENSION
from server.auth.guard import require_role
from server.auth.roles import Role
from server.boards.live import LiveTiles, course_info
from server.boards.reader import BoardReader
from server.boards.selection import Selection, SelectionError, parse_selection
from server.boards.service import MAX_LIMIT, Leaderboards
from server.station_setup import engine_config
from server.web.errors import ApiError, json_body

if TYPE_CHECKING:
    from server.app import HubApp

EXTENSION = "sledhub_display"
CLASS_EXTENSION = "sledhub_classes"
LATEST_RESULTS = 8
CLASS_FIELDS = ("id", "name", "state", "round_no", "rounds_total", "heat_no", "heats_in_round", "clock")


class DisplayFeatures:
    """The display's parts on one hub app (kept in ``flask.extensions["sledhub_display"]``)."""

    def __init__(self, hub_app: "HubApp"):
        self.hub_app = hub_app
        hub = hub_app.hub
        self.reader = BoardReader(hub_app.db)
        self.boards = Leaderboards(self.reader, hub.stations, current_class=self._current_class_id)
        self.tiles = LiveTiles(hub, hub.broadcaster.event, self.reader.identify)
        self._selection = Selection()
        self._changed_at = time.time()
        self._lock = threading.Lock()

    # board choice ---------------------------------------------------------------------------------------
    def selection(self) -> dict[str, Any]:
        with self._lock:
            sel, changed_at = self._selection, self._changed_at
        return {**sel.to_dict(self.boards.default_rotation()), "changed_at": changed_at}

    def select(self, data: Any) -> dict[str, Any]:
        """Validate and apply the instructor's choice; every page hears ``board``."""
        try:
            sel = parse_selection(data, [s.id for s in self.hub_app.hub.stations.all()])
        except SelectionError as exc:
            raise ApiError(400, f"invalid board choice: {exc}", errors=exc.errors) from None
        with self._lock:
            self._selection, self._changed_at = sel, time.time()
        shown = self.selection()
        self.hub_app.hub.broadcaster.event("board", shown)
        return shown

    # state for a (re)connecting wall --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        hub = self.hub_app.hub
        latest = [self.tiles.mask({k: v for k, v in r.to_dict().items() if k != "curve"})
                  for r in hub.results.recent(LATEST_RESULTS)]
        return {"stations": [_station(s) for s in hub.stations.all()], "tiles": self.tiles.snapshot(),
                "results": latest, "board": self.selection(), "class": self._current_class(),
                "demo": self.hub_app.demo.state() if self.hub_app.demo is not None else None,
                "server_time": time.time()}

    def _class_service(self) -> Any:
        return self.hub_app.flask.extensions.get(CLASS_EXTENSION)

    def _current_class(self) -> dict[str, Any] | None:
        service = self._class_service()
        view = service.current() if service is not None else None
        return None if view is None else {k: view.get(k) for k in CLASS_FIELDS}

    def _current_class_id(self) -> str | None:
        service = self._class_service()
        view = service.current() if service is not None else None
        return None if view is None else view["id"]


def _station(station: Any) -> dict[str, Any]:
    try:
        info = course_info(engine_config(station))
    except ValueError:
        info = course_info(None)
    return {"id": station.id, "name": station.name, **info}


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
                                             class_id=args.get("class") or None, limit=_limit()))

    @bp.get("/display/board")
    def get_board():
        return jsonify(features.selection())

    @bp.post("/display/board")
    @require_role(Role.INSTRUCTOR)
    def set_board():
        return jsonify(features.select(json_body()))

    return bp


def register_display_features(hub_app: "HubApp") -> DisplayFeatures:
    """Register the display's routes, socket events and hub listeners on ``hub_app``; call it in
    ``create_app`` after ``register_class_features`` and before the hub starts. A second call does nothing."""
    flask, hub = hub_app.flask, hub_app.hub
    if EXTENSION in flask.extensions:
        return flask.extensions[EXTENSION]
    if AUTH_EXTENSION not in flask.extensions:
        raise RuntimeError("register_class_features(hub_app) must run first: POST /api/display/board "
                           "uses its access control")
    features = DisplayFeatures(hub_app)
    flask.extensions[EXTENSION] = features
    flask.register_blueprint(display_blueprint(features))
    hub.listeners.append(features.tiles.on_output)
    hub.writer.listeners.append(features.tiles.on_result)
    # live frames: the engine's progress must come at least twice per frame slot, so every frame has news
    hub.engine.progress_interval_us = min(hub.engine.progress_interval_us, hub.broadcaster.frame_interval_us // 2)

    def on_state(data: Any = None) -> dict[str, Any]:
        return features.state()

    def on_badges(data: Any = None) -> dict[str, Any]:
        result_id = data.get("result_id") if isinstance(data, dict) else None
        if not isinstance(result_id, str) or not result_id:
            return {"ok": False, "status": 400, "error": "result_id is required"}
        return {"ok": True, **features.boards.badges(result_id)}

    hub_app.socketio.on_event("display:state", on_state)
    hub_app.socketio.on_event("display:badges", on_badges)
    return features
