"""The composition root: :func:`create_app` builds Flask, Socket.IO (gevent mode, served by
:mod:`server.web.serving`), the hub, its MQTT
link and every service from a :class:`~server.config.Config`, each with its type, and hands them to
the blueprints, socket handlers and hub listeners that need them. Nothing is created at import time,
nothing is looked up by name, and nothing depends on the order of registration calls elsewhere.

    hub_app = create_app(config, broker=("127.0.0.1", 1883))
    hub_app.start()          # pipeline thread + MQTT link
    hub_app.serve()          # HTTP until shutdown() (blocks)
    hub_app.stop()

What is built, and who gets it:

- ``db`` (:class:`~server.store.db.Database`), ``hub`` (:class:`~server.hub.service.Hub`, with its
  :class:`~server.hub.broadcast.Broadcaster` on Socket.IO) and ``link`` (:class:`~server.mqtt.link.MqttLink`);
- ``auth`` (:class:`~server.auth.guard.Auth`): the ``/api/`` guard, the session/user routes, every
  write route and the Socket.IO control events;
- ``classes`` (:class:`~server.classes.service.ClassService`): class routes and control events, a
  result listener and the class interval-clock ticker; a class running when the hub stopped is restored;
- ``display`` (:class:`~server.boards.display.DisplayFeatures`): leaderboard/board routes, the
  display's socket events, live tiles on the hub's output and result listeners;
- ``setup`` (:class:`~server.setup.service.SetupService`): ``/setup``'s routes and socket events, a
  hub listener and a ticker;
- ``chain`` (:class:`~server.chain.service.ChainService`, only with ``[chain] gym_id``): the MQTT
  link's chain topics, a ticker, a result listener, chain boards and ``/api/chain``, ``/api/results?since=``.
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

from server.auth.guard import Auth, configure_session_cookie, install_guard
from server.boards.display import DisplayFeatures
from server.chain.service import ChainService
from server.gc_tuning import GcPauses, MiddleCollections, freeze_startup_heap, tune_collector
from server.hub.broadcast import Broadcaster
from server.classes.service import ClassService
from server.config import Config, read_password
from server.hub.service import Hub, monotonic_us
from server.mqtt.link import MqttLink
from server.hub.run_journal import read_host_boot
from server.setup.health import Thresholds
from server.setup.service import ROOM as SETUP_ROOM
from server.setup.service import SetupService
from server.web.serving import ASYNC_MODE, IDLE_TIMEOUT_S, HubSocketIO, LoopCalls, Serving
from server.web.sio_transport import hub_packet_class
from server.store.db import Database
from server.web.api import DemoControl, api_blueprint
from server.web.auth_api import auth_blueprint
from server.web.chain_api import chain_blueprint
from server.web.class_sockets import register_control_events
from server.web.classes_api import classes_blueprint
from server.web.display_api import display_blueprint, register_display_events
from server.web.errors import install_error_handlers
from server.web.heats_api import heats_blueprint
from server.web.pages import pages_blueprint
from server.web.setup_api import register_setup_events, setup_blueprint
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
    socketio: HubSocketIO
    hub: Hub
    db: Database
    auth: Auth
    classes: ClassService
    display: DisplayFeatures
    setup: SetupService
    link: MqttLink | None = None
    chain: ChainService | None = None
    demo: DemoControl | None = None
    api_errors: Counter = field(default_factory=Counter)
    gc_pauses: GcPauses = field(default_factory=GcPauses)
    _serving: Serving | None = None
    _serve_thread: threading.Thread | None = None

    def broker_connected(self) -> bool:
        return self.link is not None and self.link.connected.is_set()

    def prepare_collector(self) -> int:
        """``sledhub serve`` / ``demo``, once everything is built and before serving: the start-up heap
        frozen, the young threshold raised, the younger generations collected once a minute of hub time
        (``server/gc_tuning.py``). Returns the objects frozen."""
        self.gc_pauses.frozen = freeze_startup_heap()
        tune_collector()
        self.hub.pipeline.add_ticker(MiddleCollections().tick)
        return self.gc_pauses.frozen

    def start(self) -> None:
        self.gc_pauses.install()
        self.hub.start()
        if self.link is not None:
            self.link.start()
        if self.chain is not None:
            self.chain.start()
        if self.demo is not None:
            self.demo.start()

    @property
    def serving(self) -> Serving:
        """The HTTP server (:mod:`server.web.serving`); made on first use."""
        if self._serving is None:
            # a WebSocket is silent between Socket.IO's pings: never time it out before three of them
            idle_s = max(IDLE_TIMEOUT_S, 3.0 * self.config.http.ping_interval_s)
            self._serving = Serving(self.flask, self.socketio.calls, idle_timeout_s=idle_s,  # 503s: /api/health
                                    on_request_timeout=lambda: self.api_errors.update(["request_timeout"]))
        return self._serving

    def bind(self, host: str | None = None, port: int | None = None) -> int:
        """Bind the HTTP server (port 0 = a free one); returns the port."""
        return self.serving.bind(host or self.config.http.host, self.config.http.port if port is None else port)

    def serve(self) -> None:
        """Serve HTTP and Socket.IO on this thread until :meth:`shutdown` (blocks)."""
        if self._serving is None:
            self.bind()
        self.serving.serve()

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and serve in a background thread (tests); returns the port (connections made before the
        thread serves wait in the listen backlog)."""
        bound = self.bind(host, port)
        self._serve_thread = threading.Thread(target=self.serve, name="sledhub-http", daemon=True)
        self._serve_thread.start()
        return bound

    def drop_connections(self) -> None:
        """Close every page's Socket.IO connection at once, without waiting for its writer (on the
        serving thread: engine.io's sockets are gevent objects)."""
        eio = self.socketio.server.eio

        def drop() -> None:
            for sock in list(eio.sockets.values()):
                try:
                    sock.close(wait=False, abort=True)
                except Exception:  # already closing
                    log.debug("socket close failed", exc_info=True)
        if self._serving is not None:
            self._serving.run_on_loop(drop)
        else:
            drop()

    def shutdown(self) -> None:
        """Stop serving HTTP."""
        if self._serving is not None:
            self._serving.shutdown()
        if self._serve_thread is not None:
            self._serve_thread.join(5)
            self._serve_thread = None

    def stop(self) -> None:
        """Stop everything started by this app, in reverse order; safe to call twice. Open pages see
        their socket close at once (and show their offline banner) instead of waiting for a heartbeat."""
        try:
            self._stop()
        finally:
            self.gc_pauses.uninstall()

    def _stop(self) -> None:
        if self.demo is not None:
            self.demo.stop()
        if self.chain is not None:
            self.chain.stop()
        if self.link is not None:
            self.link.stop()
        self.hub.stop()
        self.drop_connections()
        eio = self.socketio.server.eio
        if self._serving is not None:
            self._serving.run_on_loop(eio.shutdown)
        self.shutdown()
        if self._serving is None:
            eio.shutdown()
        self.db.close()


def _secret_key(config: Config) -> str:
    path = config.http.secret_key_file
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8").strip()
    return secrets.token_hex(32)


def create_app(config: Config, *, broker: tuple[str, int] | None = None, clock_us: Callable[[], int] = monotonic_us,
               connect_mqtt: bool = True) -> HubApp:
    """Build a hub. ``broker`` overrides ``config.mqtt`` host/port (e.g. a managed broker); ``clock_us``
    is the hub clock (integer µs); without ``connect_mqtt`` the hub has no MQTT link (tests)."""
    flask, socketio = _flask_and_socketio(config)
    db = Database(config.store.path)
    broadcaster = Broadcaster(SocketIOEmitter(socketio), frame_interval_us=config.timing.frame_interval_ms * 1000)
    hub = Hub(db, broadcaster, clock_us=clock_us, lateness_us=config.timing.lateness_ms * 1000,
              ping_interval_us=int(config.timing.clock_ping_interval_s * 1e6),
              # runs resume after a restart only on the real hub clock (the machine's monotonic clock)
              host_boot=read_host_boot() if clock_us is monotonic_us else None)
    classes = ClassService(hub, db)
    chain = _chain_service(config, db, lambda: hub_app.link) if config.chain.gym_id else None
    hub.pipeline.wait_result = socketio.calls.wait_future  # a wait made on the serving thread yields to the pages
    hub_app = HubApp(config=config, flask=flask, socketio=socketio, hub=hub, db=db, auth=Auth(db), classes=classes,
                     display=DisplayFeatures(hub, db, classes.current, demo_state=lambda: _demo_state(hub_app),
                                             chain=chain.store if chain else None,
                                             recent_class=lambda: next(iter(classes.summaries(1)), None)),
                     setup=_setup_service(config, hub, db, socketio), chain=chain)
    if connect_mqtt:
        host, port = broker or (config.mqtt.host, config.mqtt.port)
        link = MqttLink(host, port, chain.route(hub.submit) if chain else hub.submit, clock_us,
                        client_id=config.mqtt.client_id,
                        username=config.mqtt.username, password=read_password(config.mqtt),
                        keepalive_s=config.mqtt.keepalive_s,
                        extra_subscriptions=chain.subscriptions if chain else (),
                        batch_sink=chain.route_batch(hub.submit_batch) if chain else hub.submit_batch)
        hub.attach_publisher(link.publish, link.publish_stamped)
        link.state_listeners.append(hub.broker_state)
        hub_app.link = link
    _mount_web(hub_app, Path(config.http.web_root))
    _hook_hub(hub_app)
    classes.restore()
    return hub_app


def _flask_and_socketio(config: Config) -> tuple[Flask, HubSocketIO]:
    web_root = Path(config.http.web_root)
    flask = Flask("sledhub", static_folder=str(web_root / "static"), static_url_path="/static")
    flask.config["SECRET_KEY"] = _secret_key(config)
    flask.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024
    configure_session_cookie(flask)
    # async_handlers=False: a page's events run on its own connection's greenlet, not a new one each
    socketio = HubSocketIO(flask, calls=LoopCalls(), async_mode=ASYNC_MODE, logger=False, engineio_logger=False,
                           async_handlers=False, serializer=hub_packet_class(),
                           ping_interval=config.http.ping_interval_s, ping_timeout=config.http.ping_interval_s)
    return flask, socketio


def _setup_service(config: Config, hub: Hub, db: Database, socketio: SocketIO) -> SetupService:
    def emit(event: str, data: Any, room: str | None) -> None:
        socketio.emit(event, data, to=room)

    def watched() -> bool:  # the pipeline thread asks; pages join and leave on the serving thread
        try:
            return any(True for _ in socketio.server.manager.get_participants("/", SETUP_ROOM))
        except KeyError:  # the room was closed between python-socketio's check and its read: nobody left
            return False

    # a node that has not answered 3 of the hub's clock pings is offline, before its Last Will arrives
    ping_s = config.timing.clock_ping_interval_s
    return SetupService(hub, db, emit, watched=watched, thresholds=Thresholds(silent_after_s=max(3.0, 3 * ping_s)))


def _chain_service(config: Config, db: Database, link: Callable[[], MqttLink | None]) -> ChainService:
    """The chain's part; it publishes through the hub's MQTT link (none: nothing is published)."""
    def publish(topic: str, payload: bytes) -> bool:
        current = link()
        return current is not None and current.publish(topic, payload, qos=1)

    def connected() -> bool:
        current = link()
        return current is not None and current.connected.is_set()

    return ChainService(config.chain, db, publish, connected)


def _demo_state(hub_app: HubApp) -> dict[str, Any] | None:
    return hub_app.demo.state() if hub_app.demo is not None else None


def _mount_web(hub_app: HubApp, web_root: Path) -> None:
    """Routes and socket events, each given the services it calls. The guard checks every ``/api/``
    request (also routes of blueprints that do not declare a role, e.g. ``/api/demo/start``)."""
    flask, socketio, hub, auth = hub_app.flask, hub_app.socketio, hub_app.hub, hub_app.auth

    def demo() -> DemoControl | None:
        return hub_app.demo

    install_error_handlers(flask, hub_app.api_errors)
    install_guard(flask, auth)
    chain = hub_app.chain
    for blueprint in (pages_blueprint(web_root),
                      api_blueprint(hub, hub_app.db, hub_app.broker_connected, hub_app.api_errors, demo,
                                    results_since=chain.results_since if chain else None,
                                    gc_pauses=hub_app.gc_pauses.snapshot),
                      chain_blueprint(chain),
                      heats_blueprint(hub), auth_blueprint(auth), classes_blueprint(hub_app.classes, auth),
                      display_blueprint(hub_app.display), setup_blueprint(hub_app.setup, auth)):
        flask.register_blueprint(blueprint)
    register_socket_handlers(socketio, hub, demo, auth)
    register_control_events(socketio, hub_app.classes, auth)
    register_display_events(socketio, hub_app.display)
    register_setup_events(socketio, hub_app.setup)


def _hook_hub(hub_app: HubApp) -> None:
    """Every listener and ticker the services hang on the hub, in the order they run (the class service
    adds its committed-result listener itself when built, before the display's)."""
    hub, classes, display, setup = hub_app.hub, hub_app.classes, hub_app.display, hub_app.setup
    hub.pipeline.add_ticker(lambda now_us: classes.tick())
    hub.listeners.append(display.tiles.on_output)
    hub.writer.listeners.append(display.tiles.on_result)
    # live frames: the engine's progress (splits, the rest position) at every tick, i.e. every frame slot
    # (at most one per advance; half a slot, so a tick run a little less late than the last still gets one)
    hub.engine.progress_interval_us = min(hub.engine.progress_interval_us, hub.broadcaster.frame_interval_us // 2)
    hub.listeners.append(setup.on_item)
    hub.pipeline.add_ticker(setup.tick)
    if hub_app.chain is not None:  # chain boards refresh on walls when a gym's result arrives or changes
        hub.pipeline.add_ticker(hub_app.chain.tick)
        hub.writer.listeners.append(hub_app.chain.publisher.result_committed)
        hub_app.chain.on_change(lambda records: hub.broadcaster.event("chain", {"changed": len(records)}))
