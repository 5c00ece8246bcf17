"""The app factory: :func:`create_app` builds Flask, Socket.IO (threading mode), the hub and its MQTT
link from a :class:`~server.config.Config`. Nothing is created at import time.

    hub_app = create_app(config, broker=("127.0.0.1", 1883))
    hub_app.start()          # pipeline thread + MQTT link
    hub_app.serve()          # HTTP until shutdown() (blocks)
    hub_app.stop()
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import Flask
from flask_socketio import SocketIO
from werkzeug.serving import BaseWSGIServer, make_server

from server.broadcast import Broadcaster
from server.classes.wiring import register_class_features
from server.config import Config, read_password
from server.hub import Hub, monotonic_us
from server.mqtt_link import MqttLink
from server.run_journal import read_host_boot
from server.sio_transport import NoDelayHandler, hub_packet_class
from server.store.db import Database
from server.web.api import api_blueprint
from server.web.errors import install_error_handlers
from server.web.display_api import register_display_features
from server.web.heats_api import heats_blueprint
from server.web.pages import pages_blueprint
from server.web.setup_api import register_setup_features
from server.web.sockets import register_socket_handlers

log = logging.getLogger(__name__)


class SocketIOEmitter:
    """Adapts Flask-SocketIO to the broadcaster's ``emit`` (callable from any thread)."""

    def __init__(self, socketio: SocketIO):
        self._sio = socketio

    def emit(self, event: str, data: Any, to: str | None = None, callback: Callable | None = None) -> None:
        self._sio.emit(event, data, to=to, callback=callback)


@dataclass
class HubApp:
    """Everything one running hub is made of; ``start``/``stop`` own every thread it creates."""

    config: Config
    flask: Flask
    socketio: SocketIO
    hub: Hub
    db: Database
    link: MqttLink | None = None
    demo: Any = None
    api_errors: Counter = field(default_factory=Counter)
    _server: BaseWSGIServer | None = None
    _serve_thread: threading.Thread | None = None

    def broker_connected(self) -> bool:
        return self.link is not None and self.link.connected.is_set()

    def start(self) -> None:
        self.hub.start()
        if self.link is not None:
            self.link.start()
        if self.demo is not None:
            self.demo.start()

    def bind(self, host: str | None = None, port: int | None = None) -> int:
        """Bind the HTTP server (port 0 = a free one); returns the port."""
        self._server = make_server(host or self.config.http.host, self.config.http.port if port is None else port,
                                   self.flask, threaded=True, request_handler=NoDelayHandler)
        return self._server.server_port

    def serve(self) -> None:
        """Serve HTTP and Socket.IO until :meth:`shutdown` (blocks)."""
        if self._server is None:
            self.bind()
        self._server.serve_forever(poll_interval=0.2)

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and serve in a background thread (tests, demo); returns the port."""
        bound = self.bind(host, port)
        self._serve_thread = threading.Thread(target=self.serve, name="sledhub-http", daemon=True)
        self._serve_thread.start()
        return bound

    def shutdown(self) -> None:
        """Stop serving HTTP."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._serve_thread is not None:
            self._serve_thread.join(5)
            self._serve_thread = None

    def stop(self) -> None:
        """Stop everything started by this app, in reverse order; safe to call twice. Open pages see
        their socket close at once (and show their offline banner) instead of waiting for a heartbeat."""
        if self.demo is not None:
            self.demo.stop()
        if self.link is not None:
            self.link.stop()
        self.hub.stop()
        eio = self.socketio.server.eio
        for sock in list(eio.sockets.values()):
            try:
                sock.close(wait=False, abort=True)
            except Exception:  # already closing
                log.debug("socket close failed", exc_info=True)
        self.shutdown()
        eio.shutdown()
        self.db.close()


def _secret_key(config: Config) -> str:
    path = config.http.secret_key_file
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8").strip()
    return secrets.token_hex(32)


def create_app(config: Config, *, broker: tuple[str, int] | None = None, clock_us: Callable[[], int] = monotonic_us,
               connect_mqtt: bool = True) -> HubApp:
    """Build a hub. ``broker`` overrides ``config.mqtt`` host/port (e.g. a managed broker)."""
    web_root = Path(config.http.web_root)
    flask = Flask("sledhub", static_folder=str(web_root / "static"), static_url_path="/static")
    flask.config["SECRET_KEY"] = _secret_key(config)
    flask.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024
    # async_handlers=False: a page's events run on its own connection thread, not a new thread each
    socketio = SocketIO(flask, async_mode="threading", logger=False, engineio_logger=False,
                        async_handlers=False, serializer=hub_packet_class(),
                        ping_interval=config.http.ping_interval_s, ping_timeout=config.http.ping_interval_s)
    db = Database(config.store.path)
    broadcaster = Broadcaster(SocketIOEmitter(socketio), frame_interval_us=config.timing.frame_interval_ms * 1000)
    hub = Hub(db, broadcaster, clock_us=clock_us, lateness_us=config.timing.lateness_ms * 1000,
              ping_interval_us=int(config.timing.clock_ping_interval_s * 1e6),
              # runs resume after a restart only on the real hub clock (the machine's monotonic clock)
              host_boot=read_host_boot() if clock_us is monotonic_us else None)
    hub_app = HubApp(config=config, flask=flask, socketio=socketio, hub=hub, db=db)
    if connect_mqtt:
        host, port = broker or (config.mqtt.host, config.mqtt.port)
        link = MqttLink(host, port, hub.submit, clock_us, client_id=config.mqtt.client_id,
                        username=config.mqtt.username, password=read_password(config.mqtt),
                        keepalive_s=config.mqtt.keepalive_s)
        hub.attach_publisher(link.publish, link.publish_stamped)
        link.state_listeners.append(hub.broker_state)
        hub_app.link = link
    install_error_handlers(flask, hub_app.api_errors)
    flask.register_blueprint(pages_blueprint(web_root))
    flask.register_blueprint(api_blueprint(hub_app))
    flask.register_blueprint(heats_blueprint(hub_app))
    register_socket_handlers(socketio, hub_app)
    register_class_features(hub_app)
    register_display_features(hub_app)
    register_setup_features(hub_app)
    return hub_app
