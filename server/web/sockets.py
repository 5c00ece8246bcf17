"""Socket.IO handlers every page shares. Pages receive: ``hello`` (on connect: recent
results, stations, assignments, ``attempts``: every station's current attempt so a page joining
mid-heat starts from the hub's truth), ``frames`` (coalesced
live telemetry, acknowledge to get the next), ``armed``, ``attempt``, ``false_start``, ``result``,
``node``, ``ack``, ``demo``. The class control events are in :mod:`server.web.class_sockets`, the
display's in :mod:`server.web.display_api`, ``/setup``'s in :mod:`server.web.setup_api`."""

from __future__ import annotations

from flask import request
from flask_socketio import SocketIO, emit

from server.auth.guard import Auth
from server.hub.service import Hub
from server.web.api import DemoOf


def register_socket_handlers(socketio: SocketIO, hub: Hub, demo: DemoOf, access: Auth) -> None:
    @socketio.on("connect")
    def on_connect(auth=None):
        hub.broadcaster.client_joined(request.sid)
        access.socket_connected(request.sid)  # so ending its session closes this connection
        rig = demo()
        emit("hello", {"results": [r.to_dict() for r in hub.results.recent(20)],
                       "stations": [s.to_dict() for s in hub.stations.all()],
                       "assignments": hub.current_assignments(),
                       "attempts": hub.live_attempts(),
                       "demo": rig.state() if rig else None})

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        hub.broadcaster.client_left(request.sid)
        access.socket_left(request.sid)
