"""Socket.IO handlers. Pages receive: ``hello`` (on connect), ``frames`` (coalesced live telemetry,
acknowledge to get the next), ``armed``, ``attempt``, ``false_start``, ``result``, ``node``, ``ack``,
``demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import request
from flask_socketio import SocketIO, emit

from server.auth.guard import EXTENSION as AUTH_EXTENSION

if TYPE_CHECKING:
    from server.app import HubApp


def register_socket_handlers(socketio: SocketIO, app: "HubApp") -> None:
    @socketio.on("connect")
    def on_connect(auth=None):
        app.hub.broadcaster.client_joined(request.sid)
        auth = app.flask.extensions.get(AUTH_EXTENSION)
        if auth is not None:
            auth.socket_connected(request.sid)  # so ending its session closes this connection
        emit("hello", {"results": [r.to_dict() for r in app.hub.results.recent(20)],
                       "stations": [s.to_dict() for s in app.hub.stations.all()],
                       "assignments": app.hub.current_assignments(),
                       "demo": app.demo.state() if app.demo else None})

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        app.hub.broadcaster.client_left(request.sid)
        auth = app.flask.extensions.get(AUTH_EXTENSION)
        if auth is not None:
            auth.socket_left(request.sid)
