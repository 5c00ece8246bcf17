"""Hooks the class features into a hub app: ``register_class_features(hub_app)`` from ``create_app``.

It configures the session cookie, installs the API guard (every ``/api/`` write needs a signed-in
user with the route's role and the CSRF header — this also covers routes registered by others, e.g.
``/api/demo/start``), registers the ``/api/`` blueprints for sessions/users/OpenAPI and
roster/circuits/classes/corrections, the Socket.IO control events, the class service's result
listener and interval-clock ticker, and restores a class that was running when the hub stopped.

The service and the auth object are kept in ``flask.extensions["sledhub_classes"]`` and
``flask.extensions["sledhub_auth"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.auth.guard import Auth, configure_session_cookie, install_guard
from server.classes.service import ClassService
from server.classes.sockets import register_control_events
from server.web.auth_api import auth_blueprint
from server.web.classes_api import classes_blueprint

if TYPE_CHECKING:
    from server.app import HubApp

EXTENSION = "sledhub_classes"


def register_class_features(hub_app: "HubApp") -> None:
    """Register everything once (``create_app`` calls it; a second call does nothing)."""
    flask, hub = hub_app.flask, hub_app.hub
    if EXTENSION in flask.extensions:
        return
    configure_session_cookie(flask)
    auth = Auth(hub_app.db)
    install_guard(flask, auth)
    service = ClassService(hub, hub_app.db)
    flask.extensions[EXTENSION] = service

    flask.register_blueprint(auth_blueprint(auth))
    flask.register_blueprint(classes_blueprint(service))
    register_control_events(hub_app.socketio, service, auth)
    hub.pipeline.add_ticker(lambda now_us: service.tick())
    service.restore()


def class_service(hub_app: "HubApp") -> ClassService:
    """The service registered on ``hub_app`` (for the demo, tests and the CLI)."""
    return hub_app.flask.extensions[EXTENSION]
