"""How the hub serves HTTP and Socket.IO, in production and in every test: gevent's WSGI server
(``gevent.pywsgi``) with Flask-SocketIO in ``async_mode="gevent"`` and WebSockets from gevent-websocket,
one of the production set-ups in Flask-SocketIO's deployment docs. Never Werkzeug's development server.

**Without monkey-patching.** Only the web side is cooperative: every HTTP request and every page's
connection is a greenlet on one OS thread, the *serving thread*. The rest of the hub keeps its real
threads: paho's network loop, the pipeline and its tickers, SQLite writes (a blocking C call that would
stop every greenlet while it commits) and the managed Mosquitto. The two meet in one place:
:class:`HubSocketIO` runs an ``emit`` (or a ``disconnect``) made on another thread (the pipeline's
broadcasts, a ticker's news, a REST handler's sign-out) on the serving thread's loop, in the order they
were made; one from a handler on the serving thread runs at once. Plain HTTP requests (pages, the
REST API) run in :data:`HTTP_WORKERS` threads (:class:`OffloadedWsgi`), so a handler that waits for the
pipeline or the database lock holds up no page. Why this design and not another is measured in
docs/deploy.md ("How the hub is served").

**Timeouts** (:class:`HubHandler`): a connection that sends nothing for :data:`IDLE_TIMEOUT_S` seconds,
or whose request line and headers are not complete :data:`REQUEST_HEAD_TIMEOUT_S` seconds after it
started sending them, is closed, and so is one that reads nothing of what the hub sends for
:data:`IDLE_TIMEOUT_S`. A half-open client costs one parked greenlet (a few KB) until then, never a
thread: other clients are answered meanwhile (tests/faults, the half-open row).

    serving = Serving(flask_app, calls)
    port = serving.bind("127.0.0.1", 0)
    serving.serve()            # blocks in this thread until shutdown() (from any thread)
"""

from __future__ import annotations

import functools
import io
import logging
import signal
import socket
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import flask
import gevent
import gevent.event
import socketio
from flask_socketio import SocketIO
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

log = logging.getLogger(__name__)

ASYNC_MODE = "gevent"
"""Flask-SocketIO's async mode for the hub (tests/deploy/test_serving.py fails on any other)."""
IDLE_TIMEOUT_S = 20.0
"""A connection's socket timeout (s): nothing received while the hub waits for a request, or nothing
taken while the hub sends, for this long closes it. Longer than a long-poll (Socket.IO's ping interval,
5 s by default) and than a WebSocket's silence between pings."""
REQUEST_HEAD_TIMEOUT_S = 10.0
"""The request line and headers must be complete within this long (s) of the first byte being
awaited; a client dripping its headers a byte at a time cannot keep its connection past it."""
BACKLOG = 1024
"""Connections the kernel queues before the hub accepts them (a classful of pages reconnecting at once)."""
STOP_TIMEOUT_S = 2.0
"""How long (s) a shutdown waits for requests in progress before closing them."""
HTTP_WORKERS = 4
"""Threads that run plain HTTP requests (pages, REST API): see :class:`OffloadedWsgi`."""
REQUEST_TIMEOUT_S = 30.0
"""A plain HTTP request's handler must answer within this (s), else the client gets a 503 (and the
handler, if it is still queued behind busy workers, never runs)."""
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body read (bytes): Flask's ``MAX_CONTENT_LENGTH`` in ``server/app.py``."""
SOCKETIO_PATH = "/socket.io"
"""Requests under this path are Socket.IO's (Flask-SocketIO's default ``path``): served on the loop."""


class _HeadTimeout(TimeoutError):
    """The request head did not arrive in time (a socket timeout: pywsgi closes the connection)."""


class HubHandler(WebSocketHandler):
    """One connection: TCP_NODELAY (a small Socket.IO message, a finish, goes out at once instead of
    waiting under Nagle's algorithm for the page's delayed ACK of the previous one), the idle timeout on
    its socket and a deadline for each request's head. Counts what it closes in ``server.timed_out``."""

    server: "HubWSGIServer"

    def __init__(self, sock: Any, address: Any, server: "HubWSGIServer", rfile: Any = None) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket
            pass
        sock.settimeout(server.idle_timeout_s)
        super().__init__(sock, address, server, rfile)
        self._deadline: gevent.Timeout | None = None

    def read_requestline(self) -> str:
        self._deadline = gevent.Timeout.start_new(self.server.request_head_timeout_s,
                                                  _HeadTimeout("request head not received in time"))
        try:
            return super().read_requestline()
        except TimeoutError:
            self.server.timed_out += 1
            self._cancel_deadline()
            raise

    def read_request(self, raw_requestline: str) -> Any:
        try:
            return super().read_request(raw_requestline)
        except TimeoutError:
            self.server.timed_out += 1
            raise
        finally:
            self._cancel_deadline()

    def handle_one_request(self) -> Any:
        try:
            return super().handle_one_request()
        finally:  # a request line that ended the connection (empty, too long) never reached read_request
            self._cancel_deadline()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.close()
            self._deadline = None

    def run_application(self) -> None:
        try:
            super().run_application()
        finally:
            # a WebSocket that has ended leaves its frames' bytes behind: never read them as a request
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True

    def log_request(self) -> None:  # access logs are not kept (a Pi's SD card, a wall display polling)
        pass


class HubWSGIServer(WSGIServer):
    """gevent's WSGI server with the hub's handler and timeouts; ``timed_out`` counts connections
    closed for a timeout."""

    handler_class = HubHandler

    def __init__(self, listener: socket.socket, application: Callable, *, idle_timeout_s: float,
                 request_head_timeout_s: float) -> None:
        super().__init__(listener, application, log=None, error_log=logging.getLogger("sledhub.http"))
        self.logger = logging.getLogger("sledhub.http.websocket")  # gevent-websocket's, else it makes its own
        self.idle_timeout_s = idle_timeout_s
        self.request_head_timeout_s = request_head_timeout_s
        self.timed_out = 0


class LoopCalls:
    """Runs a function on the serving thread's gevent loop from any thread, in the order asked; on the
    serving thread itself (or before anything is served) at once. Once serving has ended, a call from
    another thread is dropped (counted in ``dropped``): there is no page left to emit to, and gevent's
    objects must not be used from a thread that is not their loop's (the pipeline goes on emitting
    results while the hub stops)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Any = None
        self._thread: int | None = None
        self._pending: deque[Callable[[], Any]] = deque()
        self._scheduled = False
        self._workers: ThreadPoolExecutor | None = None
        self.request_timeout_s = REQUEST_TIMEOUT_S
        """How long :meth:`off_loop` waits for its worker by default (s)."""
        # once serving has ended: the thread that served (an object: a dead thread's ident may be
        # reused); calls from any other thread are then dropped
        self._ended_on: threading.Thread | None = None
        self.dropped = 0

    def attach(self) -> None:
        """The calling thread is now the serving thread (its gevent hub's loop runs the calls)."""
        with self._lock:
            self._loop, self._thread = gevent.get_hub().loop, threading.get_ident()
            self._ended_on = None

    def detach(self) -> None:
        """Nothing is served any more: calls still waiting run here (on the serving thread); later ones
        from other threads are dropped."""
        with self._lock:
            serving_thread = self._thread
            self._loop, self._thread = None, None
            self._ended_on = threading.current_thread()
            batch = list(self._pending)
            self._pending.clear()
            self._scheduled = False
        if threading.get_ident() != serving_thread:
            self.dropped += len(batch)
            return
        for fn in batch:  # on the serving thread, as its loop would have
            _logged(fn)

    def on_serving_thread(self) -> bool:
        """Whether a call made here runs at once: on the serving thread, or anywhere before serving
        began (after it ended: only on the thread that served)."""
        if self._thread is None:
            return self._ended_on is None or threading.current_thread() is self._ended_on
        return threading.get_ident() == self._thread

    def call(self, fn: Callable[[], Any]) -> None:
        """``fn()`` on the loop (fire and forget); an exception is logged, never raised here. Calls
        made while earlier ones wait are run in the same wake-up of the loop (a flush of frames to 50
        pages is one wake-up, not 50)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is not None and threading.get_ident() != thread:
                self._pending.append(fn)
                if not self._scheduled:
                    self._scheduled = True
                    loop.run_callback_threadsafe(self._drain)
                return
            if self._ended_on is not None and threading.current_thread() is not self._ended_on:
                self.dropped += 1
                return
        fn()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._scheduled = False
                    return
                batch = list(self._pending)
                self._pending.clear()
            for fn in batch:
                _logged(fn)

    def call_and_wait(self, fn: Callable[[], Any], timeout_s: float = 10.0) -> None:
        """``fn()`` in a greenlet on the loop (it may block cooperatively); returns once it has run."""
        with self._lock:
            loop, thread = self._loop, self._thread
        if loop is None or threading.get_ident() == thread:
            fn()
            return
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()
        loop.run_callback_threadsafe(gevent.spawn, run)
        if not done.wait(timeout_s):
            log.warning("the serving thread did not run %r within %.1f s", fn, timeout_s)


    def use_workers(self, pool: ThreadPoolExecutor | None) -> None:
        """The threads :meth:`off_loop` runs in (the HTTP workers while serving; None: none)."""
        self._workers = pool

    def off_loop(self, fn: Callable[[], Any], timeout_s: float | None = None,
                 on_late: Callable[[], Any] | None = None) -> Any:
        """``fn()``'s result. On the serving thread, while serving, ``fn`` runs in a worker and the wait is
        cooperative: a blocking call in it (the database's lock while the pipeline commits a result,
        the pipeline's answer) holds up no other page. Anywhere else it runs at once. Raises what ``fn``
        raised, or ``TimeoutError`` after ``timeout_s`` (default :attr:`request_timeout_s`); ``fn`` then
        never runs if it was still queued, and if it was running, ``on_late`` runs on the loop once it
        has finished (to undo what it did for a caller already answered)."""
        pool = self._workers
        if pool is None or self._thread is None or threading.get_ident() != self._thread:
            return fn()
        try:
            fut = pool.submit(fn)
        except RuntimeError:  # the pool is shutting down: the hub is stopping
            return fn()
        try:
            return self.wait_future(fut, self.request_timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            # still queued behind stuck workers: it never runs; running: it finishes unseen, then on_late
            if not fut.cancel() and on_late is not None:
                fut.add_done_callback(lambda _fut: self.call(on_late))
            raise

    def wait_future(self, fut: Future, timeout_s: float | None = None) -> Any:
        """``fut.result(timeout_s)``; on the serving thread the wait is cooperative (the loop serves
        everyone else meanwhile) instead of stopping every greenlet."""
        with self._lock:
            loop, thread = self._loop, self._thread
        if loop is None or threading.get_ident() != thread:
            return fut.result(timeout_s)
        done = gevent.event.Event()
        fut.add_done_callback(lambda _fut: loop.run_callback_threadsafe(done.set))
        done.wait(timeout_s)
        return fut.result(0)


def _logged(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:  # one failed emit must not stop the loop's other callbacks
        log.exception("call on the serving thread failed")


ON_LOOP = ("emit", "send", "disconnect", "enter_room", "leave_room", "close_room")
"""python-socketio server methods that touch engine.io's sockets or rooms: from a thread other than the
serving thread they run on its loop, in the order called (an ``emit`` then a ``disconnect`` arrive in
that order)."""


class HubSocketIO(SocketIO):
    """Flask-SocketIO whose server may be used from any of the hub's threads (the pipeline, a ticker,
    a REST handler's worker): the :data:`ON_LOOP` methods called from another thread run on the serving
    thread's loop (gevent's queues and events are not thread-safe). Its event handlers run off the
    loop (:meth:`LoopCalls.off_loop`, with the event's request context): a page's ``hello`` reads the
    database, a class control event writes it, and neither may stop every other page while it waits."""

    def __init__(self, *args: Any, calls: LoopCalls, **kwargs: Any) -> None:
        self.calls = calls
        self._disconnect_handlers: dict[str, Callable[..., Any]] = {}
        super().__init__(*args, **kwargs)

    def init_app(self, app: Any, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        for name in ON_LOOP:
            setattr(self.server, name, self._on_loop(getattr(self.server, name)))

    def on(self, message: str, namespace: str | None = None) -> Callable[[Callable], Callable]:
        register = super().on(message, namespace)

        def decorator(handler: Callable) -> Callable:
            if message == "disconnect":
                self._disconnect_handlers[namespace or "/"] = handler
            register(self._off_loop(message, handler, namespace or "/"))
            return handler
        return decorator

    def _off_loop(self, message: str, handler: Callable[..., Any], namespace: str = "/") -> Callable[..., Any]:
        """``handler`` run in a worker. One that has not run within ``calls.request_timeout_s`` (the workers
        or the database stuck) never runs if it is still queued, and is answered at once: a connect is
        refused (the page retries), an event gets ``{"ok": false, "reason": "request_timeout"}``, so a
        tablet's retried ``class:go`` cannot also run late.

        A connect refused after its handler had begun (busy, the handler's own wait for the pipeline
        given up, an error in it, or the handler refusing) gets no disconnect from python-socketio, so
        the page would stay a member for ever (frames sent to nobody, counted among the clients): the
        namespace's disconnect handler is run for it (here, on the loop: it only forgets the page), and
        again once a handler still running at the timeout has finished (it may join the page after)."""
        calls = self.calls

        @functools.wraps(handler)
        def run(*args: Any) -> Any:
            in_context = flask.copy_current_request_context(handler)  # request.sid, the session: in the worker too
            late = None
            if message == "connect":
                late = flask.copy_current_request_context(
                    lambda: self._forget_page(namespace, "connect refused: busy (its handler ended late)"))
            try:
                result = calls.off_loop(lambda: in_context(*args), on_late=late)
            except TimeoutError:
                log.warning("Socket.IO %s not answered in time (%g s, or the pipeline's own wait): answered busy",
                            message, calls.request_timeout_s)
                if message == "connect":
                    self._forget_page(namespace, "connect refused: busy")
                    raise ConnectionRefusedError("the hub is busy: try again in a few seconds") from None
                return {"ok": False, "error": "the hub is busy: try again in a few seconds",
                        "reason": "request_timeout"}
            except Exception as exc:
                if message != "connect":
                    raise
                self._forget_page(namespace, "connect refused")
                if isinstance(exc, (ConnectionRefusedError, socketio.exceptions.ConnectionRefusedError)):
                    raise
                log.exception("Socket.IO connect handler failed: the page is refused (it retries)")
                raise ConnectionRefusedError("the hub could not take the page: try again in a few seconds") from None
            if message == "connect" and result is False:
                self._forget_page(namespace, "connect refused")
            return result
        return run

    def _forget_page(self, namespace: str, reason: str) -> None:
        left = self._disconnect_handlers.get(namespace)
        if left is not None:
            left(reason)

    def _on_loop(self, method: Callable[..., Any]) -> Callable[..., None]:
        calls = self.calls

        def on_loop(*args: Any, **kwargs: Any) -> None:
            if calls.on_serving_thread():
                method(*args, **kwargs)
            else:
                calls.call(lambda: method(*args, **kwargs))
        return on_loop


class OffloadedWsgi:
    """The WSGI app as served: Socket.IO's requests (``/socket.io/``: long-polls, WebSockets) run on
    the loop, as gevent mode requires; every other request (pages, the REST API) runs whole in one of
    :data:`HTTP_WORKERS` threads, so a handler that waits (the pipeline's answer, the database's lock
    while a result is committed) keeps nobody else waiting. Its body is read on the loop first (the
    socket is the loop's); the response is collected in the thread and written on the loop."""

    def __init__(self, app: Callable, calls: LoopCalls, workers: int,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, on_timeout: Callable[[], None] = lambda: None) -> None:
        self._app, self._calls, self._workers = app, calls, workers
        self._request_timeout_s = request_timeout_s
        self._on_timeout = on_timeout
        self._pool: ThreadPoolExecutor | None = None
        self.timed_out = 0
        """Requests answered 503 because their handler took longer than ``request_timeout_s`` (each also
        reported to ``on_timeout``)."""

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sledhub-http")
        self._calls.use_workers(self._pool)  # Socket.IO handlers run in the same workers

    def stop(self) -> None:
        self._calls.use_workers(None)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        pool = self._pool
        if pool is None or environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            return self._app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        # a body over the limit is not read: Flask answers 413 from the header
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read() if length <= MAX_BODY_BYTES else b"")
        started: list[tuple[Any, ...]] = []
        written: list[bytes] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [(status, headers, exc_info)]
            return written.append

        def run() -> list[bytes]:
            result = self._app(environ, capture)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        fut = pool.submit(run)
        try:
            chunks = self._calls.wait_future(fut, self._request_timeout_s)
        except TimeoutError:  # (an OSError: gevent would take it for a broken socket and drop the client)
            fut.cancel()      # still queued behind stuck workers: it never runs; running: it finishes unseen
            self.timed_out += 1
            _logged(self._on_timeout)
            log.warning("%s %s took longer than %.0f s: answered 503", environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), self._request_timeout_s)
            body = (b'{"error": "the hub is busy: try again in a few seconds", "status": 503, '
                    b'"reason": "request_timeout"}')
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body))), ("Retry-After", "5")])
            return [body]
        start_response(*started[0])
        return written + chunks


class Serving:
    """The hub's HTTP server: bind, serve on the calling thread, shut down from any thread."""

    def __init__(self, app: Callable, calls: LoopCalls, *, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 request_head_timeout_s: float = REQUEST_HEAD_TIMEOUT_S, workers: int = HTTP_WORKERS,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, on_request_timeout: Callable[[], None] = lambda: None
                 ) -> None:
        self._app, self.calls, self._workers = app, calls, workers
        calls.request_timeout_s = request_timeout_s  # HTTP requests and Socket.IO handlers alike
        self._on_request_timeout = on_request_timeout
        self._timeouts = (idle_timeout_s, request_head_timeout_s)
        self._server: HubWSGIServer | None = None
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._serving = threading.Event()

    @property
    def timed_out(self) -> int:
        """Connections closed because a request's head or the client was too slow (see :class:`HubHandler`)."""
        return self._server.timed_out if self._server is not None else 0

    def bind(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (port 0 = a free one); returns the port. Raises ``OSError``."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self._listener.setblocking(False)  # gevent accepts when the loop says a connection waits
        return int(self._listener.getsockname()[1])

    def serve(self) -> None:
        """Serve on this thread until :meth:`shutdown` (or, on the main thread, Ctrl-C or SIGTERM). The server is
        made here: gevent's server belongs to the loop of the thread that makes it."""
        assert self._listener is not None, "bind() first"
        app = OffloadedWsgi(self._app, self.calls, self._workers, self.calls.request_timeout_s,
                            self._on_request_timeout)
        self._server = HubWSGIServer(self._listener, app, idle_timeout_s=self._timeouts[0],
                                     request_head_timeout_s=self._timeouts[1])
        self.calls.attach()
        app.start()
        self._serving.set()
        previous = self._stop_on_signals(self._server)
        try:
            if not self._stopped.is_set():
                self._server.serve_forever(stop_timeout=STOP_TIMEOUT_S)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.calls.detach()
            self._serving.clear()
            app.stop()

    def _stop_on_signals(self, server: HubWSGIServer) -> dict[int, Any]:
        """On the main thread (``sledhub serve``/``demo``), Ctrl-C and SIGTERM end :meth:`serve`
        normally: the stop runs in a greenlet, and the caller then stops the rest of the hub."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        loop = gevent.get_hub().loop

        def on_signal(signum: int, frame: Any) -> None:
            log.info("%s: stopping", signal.Signals(signum).name)
            loop.run_callback_threadsafe(gevent.spawn, server.stop, STOP_TIMEOUT_S)
        return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}

    def run_on_loop(self, fn: Callable[[], Any], timeout_s: float = 10.0) -> None:
        """``fn()`` on the serving thread (at once when not serving); returns when it has run."""
        self.calls.call_and_wait(fn, timeout_s)

    def shutdown(self) -> None:
        """Stop serving and close the listening socket (from any thread; safe to call twice)."""
        self._stopped.set()
        server = self._server
        if server is not None and self._serving.is_set():
            self.calls.call_and_wait(lambda: server.stop(timeout=STOP_TIMEOUT_S), STOP_TIMEOUT_S + 5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
