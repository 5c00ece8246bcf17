"""The hub is served by a production server (issue 15), the same way in ``sledhub serve``, ``sledhub
demo``, the systemd unit (which runs ``sledhub serve``) and every test fixture that starts a hub
(``HubApp.serve_in_thread``): gevent's WSGI server, never Werkzeug's development server. Werkzeug's
server names itself in every response (``Server: Werkzeug/…``); gevent's names nothing.

And slow or half-open clients cannot hold it: a request head that does not arrive in time, or a client
that says nothing, is closed, and other clients are answered meanwhile.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import socketio

from server.app import create_app
from server.config import Config
from server.gc_tuning import YOUNG_THRESHOLD
from server.mqtt.broker import free_port
from server.web.serving import ASYNC_MODE, LoopCalls, Serving
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _get(url: str, timeout_s: float = 5.0) -> tuple[int, str]:
    """(status, the ``Server`` header or "")."""
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        return r.status, r.headers.get("Server", "")


def _answers(url: str) -> tuple[int, str] | None:
    try:
        return _get(url, 2.0)
    except OSError:
        return None


def _hub_config(tmp_path: Path) -> Config:
    base = Config()
    return replace(base, store=replace(base.store, path=str(tmp_path / "hub.db")))


@pytest.fixture
def served_hub(tmp_path):
    """A hub as the test fixtures serve it (``serve_in_thread``), without MQTT; yields (app, base URL)."""
    app = create_app(_hub_config(tmp_path), connect_mqtt=False)
    port = app.serve_in_thread("127.0.0.1", 0)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        app.stop()


def test_the_test_fixtures_serve_the_hub_as_production_does(served_hub):
    app, base = served_hub
    status, server = _get(base + "/api/health")
    assert status == 200
    assert "werkzeug" not in server.lower(), f"served by Werkzeug's development server: {server!r}"
    assert app.socketio.server.eio.async_mode == ASYNC_MODE == "gevent"


def test_an_emit_from_any_thread_reaches_a_page(served_hub):
    """The pipeline and tickers emit from their own threads; the page gets each message, in order."""
    app, base = served_hub
    got: list[int] = []
    page = socketio.Client(reconnection=False)
    page.on("news", lambda data: got.append(data["n"]))
    page.connect(base, transports=["websocket"], wait_timeout=10)
    try:
        def pipeline() -> None:
            for n in range(50):
                app.socketio.emit("news", {"n": n})
        worker = threading.Thread(target=pipeline, name="fake-pipeline")
        worker.start()
        worker.join(10)
        wait_for(lambda: len(got) == 50, 10, what="every emit at the page")
        assert got == list(range(50))
    finally:
        page.disconnect()


def test_a_request_waiting_for_the_pipeline_holds_up_no_page(served_hub):
    """``/api/health`` waits for the pipeline (``run_sync``); while the pipeline is held, pages are
    still served and a page still gets what other threads emit (the first try of gevent ran every
    request on the loop, and one such wait stopped every page: docs/deploy.md)."""
    app, base = served_hub
    app.hub.start()
    got: list[int] = []
    page = socketio.Client(reconnection=False)
    page.on("news", lambda data: got.append(data["n"]))
    page.connect(base, transports=["websocket"], wait_timeout=10)
    gate = threading.Event()
    app.hub.pipeline.call(lambda: gate.wait(20))  # the pipeline is busy until the gate opens
    waiting = ThreadPoolExecutor(1, thread_name_prefix="test-health")
    health = waiting.submit(_get, base + "/api/health", 30.0)
    try:
        t = time.perf_counter()
        assert _get(base + "/display")[0] == 200
        threading.Thread(target=lambda: app.socketio.emit("news", {"n": 1}), name="fake-ticker").start()
        wait_for(lambda: got == [1], 5, what="the emit at the page while a request waits")
        assert time.perf_counter() - t < 5.0
        assert not health.done(), "the health request should still be waiting for the pipeline"
    finally:
        gate.set()
        assert health.result(30)[0] == 200
        waiting.shutdown()
        page.disconnect()


def test_a_request_waiting_for_the_database_lock_holds_up_no_page(served_hub):
    """A REST handler that waits for the database (a result being committed holds its lock) runs in a
    worker thread: pages are served and emits arrive meanwhile."""
    app, base = served_hub
    got: list[int] = []
    page = socketio.Client(reconnection=False)
    page.on("news", lambda data: got.append(data["n"]))
    page.connect(base, transports=["websocket"], wait_timeout=10)
    waiting = ThreadPoolExecutor(1, thread_name_prefix="test-results")
    app.db.lock.acquire()  # as the results writer does while it commits
    try:
        results = waiting.submit(_get, base + "/api/results", 30.0)
        assert _get(base + "/display")[0] == 200
        threading.Thread(target=lambda: app.socketio.emit("news", {"n": 1}), name="fake-ticker").start()
        wait_for(lambda: got == [1], 5, what="the emit at the page while a request waits")
        assert not results.done(), "the results request should still be waiting for the database"
    finally:
        app.db.lock.release()
    try:
        assert results.result(30)[0] == 200
    finally:
        waiting.shutdown()
        page.disconnect()


def test_a_page_connecting_while_the_database_is_locked_holds_up_no_other_page(served_hub):
    """A Socket.IO handler reads the database too (a page's ``hello``: recent results, stations): it
    runs in a worker, so while it waits for the lock the loop serves every other page (review: it ran
    on the loop, and one connecting page stopped them all until the commit ended)."""
    app, base = served_hub
    got: list[int] = []
    page = socketio.Client(reconnection=False)
    page.on("news", lambda data: got.append(data["n"]))
    page.connect(base, transports=["websocket"], wait_timeout=10)
    hellos: list[dict] = []
    late = socketio.Client(reconnection=False)
    late.on("hello", hellos.append)
    waiting = ThreadPoolExecutor(1, thread_name_prefix="test-late-page")
    app.db.lock.acquire()  # as the results writer does while it commits
    try:
        joining = waiting.submit(late.connect, base, transports=["websocket"], wait_timeout=30)
        wait_for(lambda: app.hub.broadcaster.client_count == 2, 5,
                 what="the second page's connect handler running (it joins before reading the database)")
        threading.Thread(target=lambda: app.socketio.emit("news", {"n": 1}), name="fake-ticker").start()
        wait_for(lambda: got == [1], 5, what="the emit at the first page while the second one's hello waits")
        assert hellos == [], "the second page's hello should still be waiting for the database"
    finally:
        app.db.lock.release()
    try:
        joining.result(30)
        wait_for(lambda: len(hellos) == 1, 10, what="the second page's hello once the lock is free")
        assert {"results", "stations", "attempts"} <= set(hellos[0])
    finally:
        waiting.shutdown()
        late.disconnect()
        page.disconnect()


def test_a_page_whose_connect_is_refused_as_busy_is_not_kept_as_a_client(served_hub):
    """A page's connect handler joins it to the frames, then waits for the pipeline (its hello); when
    that wait gives up (5 s) the connect is refused, and python-socketio sends no disconnect for a
    refused connect: the page stayed a client for ever, its frames sent to nobody (review finding)."""
    app, base = served_hub
    app.hub.start()
    gate = threading.Event()
    app.hub.pipeline.call(lambda: gate.wait(20))  # the pipeline is busy until the gate opens
    page = socketio.Client(reconnection=False)
    try:
        wait_for(lambda: app.hub.pipeline.backlog == 0, 5, what="the pipeline holding the gate")
        with pytest.raises(socketio.exceptions.ConnectionError):
            page.connect(base, transports=["websocket"], wait_timeout=20)
        assert app.hub.broadcaster.client_count == 0
    finally:
        gate.set()
        page.disconnect()
    answer = socketio.Client(reconnection=False)  # the hub takes pages again once the pipeline answers
    hellos: list[dict] = []
    answer.on("hello", hellos.append)
    answer.connect(base, transports=["websocket"], wait_timeout=10)
    try:
        wait_for(lambda: hellos and app.hub.broadcaster.client_count == 1, 10, what="a page joining afterwards")
    finally:
        answer.disconnect()


def test_a_connect_handler_that_joins_the_page_after_its_timeout_does_not_keep_it(served_hub):
    """The connect handler is stalled before it joins the page (the broadcaster's lock, the database):
    the page is answered busy at the timeout and forgotten; the handler then goes on and joins it. Once
    it has finished the page is forgotten again, so it is not counted (nor sent frames) for ever."""
    app, base = served_hub
    app.socketio.calls.request_timeout_s = 0.5
    gate, stalled, joined = threading.Event(), threading.Event(), threading.Event()
    join = app.hub.broadcaster.client_joined

    def slow_join(sid):
        stalled.set()
        gate.wait(10)
        join(sid)
        joined.set()
    app.hub.broadcaster.client_joined = slow_join
    page = socketio.Client(reconnection=False)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            page.connect(base, transports=["websocket"], wait_timeout=10)
        assert stalled.is_set() and not joined.is_set() and app.hub.broadcaster.client_count == 0
        gate.set()                                   # the handler joins the page, then finishes
        assert joined.wait(10)
        wait_for(lambda: app.hub.broadcaster.client_count == 0, 10, what="the late join undone")
        app.hub.broadcaster.client_joined = join
        answer = socketio.Client(reconnection=False)  # a page after it is counted as usual
        answer.connect(base, transports=["websocket"], wait_timeout=10)
        try:
            wait_for(lambda: app.hub.broadcaster.client_count == 1, 10, what="a page joining afterwards")
        finally:
            answer.disconnect()
    finally:
        gate.set()
        page.disconnect()


def test_a_page_whose_connect_handler_fails_is_refused_and_not_kept(served_hub, monkeypatch, caplog):
    """An error in the connect handler after it joined the page (the database refusing the hello's
    read, say) refuses the page cleanly (it retries) instead of leaving it half connected."""
    app, base = served_hub

    def broken(*args, **kwargs):
        raise RuntimeError("disk I/O error")
    monkeypatch.setattr(app.hub.results, "recent", broken)
    page = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        page.connect(base, transports=["websocket"], wait_timeout=10)
    page.disconnect()
    assert app.hub.broadcaster.client_count == 0
    assert "connect handler failed" in caplog.text


# ---- timeouts ---------------------------------------------------------------------------------------

def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def quick_timeouts():
    """A bare server (a WSGI app that answers ``ok``) with a 0.5 s head deadline and 1 s idle timeout."""
    serving = Serving(_hello, LoopCalls(), idle_timeout_s=1.0, request_head_timeout_s=0.5)
    port = serving.bind("127.0.0.1", 0)
    thread = threading.Thread(target=serving.serve, name="test-http", daemon=True)
    thread.start()
    try:
        yield serving, port
    finally:
        serving.shutdown()
        thread.join(5)
        assert not thread.is_alive()


def _closed_by_server(sock: socket.socket, within_s: float) -> float:
    """Seconds until the server closes ``sock`` (recv returns b"" or the connection resets)."""
    t0 = time.monotonic()
    sock.settimeout(within_s)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - t0


def test_a_half_open_request_is_closed_and_others_are_answered_meanwhile(quick_timeouts):
    serving, port = quick_timeouts
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(50)]
    try:
        for s in held:
            s.sendall(b"GET / HTTP/1.1\r\nHost: hub\r\n")  # the blank line never comes
        t = time.perf_counter()
        assert _answers(f"http://127.0.0.1:{port}/") == (200, "")
        assert time.perf_counter() - t < 1.0  # not after the held ones time out
        waited = _closed_by_server(held[0], 5.0)
        assert 0.2 < waited < 3.0
        wait_for(lambda: serving.timed_out >= 50, 5, what="every half-open request closed and counted")
    finally:
        for s in held:
            s.close()


def test_a_request_head_dripped_byte_by_byte_is_closed_at_its_deadline(quick_timeouts):
    """Each byte comes well within the idle timeout, but the head as a whole misses its deadline."""
    serving, port = quick_timeouts
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        t0 = time.monotonic()
        closed = False
        for byte in b"GET / HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"a" * 200:
            try:
                s.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([s], [], [], 0.05)
            if readable:
                closed = True
                break
        assert closed, "the server kept a dripping request open"
        assert time.monotonic() - t0 < 3.0
    assert serving.timed_out == 1


def test_a_connection_that_says_nothing_is_closed(quick_timeouts):
    serving, port = quick_timeouts
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert _closed_by_server(s, 5.0) < 3.0


def test_keep_alive_requests_still_work(quick_timeouts):
    serving, port = quick_timeouts
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for _ in range(3):
            s.sendall(b"GET / HTTP/1.1\r\nHost: hub\r\n\r\n")
            reply = b""
            while not reply.endswith(b"ok"):
                chunk = s.recv(4096)
                assert chunk, "closed between keep-alive requests"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200")
    assert serving.timed_out == 0


# ---- the commands ----------------------------------------------------------------------------------

def _run_command(args: list[str], cwd: Path) -> None:
    """Start ``sledhub <args> --port P``, check what serves it and that its start-up heap is out of the
    garbage collector's way (``server/gc_tuning.py``), SIGTERM it: it stops cleanly (status 0) and leaves
    no process behind (its managed broker included)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = cwd / f"{args[0]}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", *args, "--host", "127.0.0.1", "--port",
                                 str(port)], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        def up() -> tuple[int, str] | None:
            if proc.poll() is not None:
                raise AssertionError(log.read_text(errors="replace"))
            return _answers(f"http://127.0.0.1:{port}/api/health")
        status, server = wait_for(up, 60, 0.05, f"sledhub {args[0]} answering")
        assert status == 200
        assert "werkzeug" not in server.lower(), f"sledhub {args[0]} runs Werkzeug's development server"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=30) as r:
            gc_stats = json.load(r)["gc"]
        assert gc_stats["frozen"] > 10_000, gc_stats  # Flask, Socket.IO, gevent, paho and the hub
        assert gc_stats["threshold"][0] == YOUNG_THRESHOLD, gc_stats
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        printed = log.read_text(errors="replace")
        assert proc.returncode == 0, printed
        assert "Traceback" not in printed, printed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.broker
@pytest.mark.slow
def test_serve_runs_the_production_server(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "hub.db"}"\n', encoding="utf-8")
    _run_command(["serve", "--config", str(config), "--managed-broker"], tmp_path)


@pytest.mark.broker
@pytest.mark.slow
def test_demo_runs_the_production_server(tmp_path):
    _run_command(["demo", "--db", str(tmp_path / "demo.db")], tmp_path)


def test_a_request_over_its_deadline_is_answered_503_and_a_queued_one_never_runs():
    """A handler stuck past the request deadline: its client gets a 503 with Retry-After (gevent took the
    timeout for a broken socket and dropped the connection), a request queued behind the stuck worker
    is answered 503 too and never runs later, and the server answers again once the worker is free."""
    import json
    import urllib.error
    gate, entered, ran = threading.Event(), threading.Event(), []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/stuck":
            entered.set()
            gate.wait(10)
        ran.append(path)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    reported = []
    serving = Serving(app, LoopCalls(), workers=1, request_timeout_s=0.5,
                      on_request_timeout=lambda: reported.append("request_timeout"))
    port = serving.bind("127.0.0.1", 0)
    thread = threading.Thread(target=serving.serve, name="test-http", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        with ThreadPoolExecutor(2) as clients:
            stuck = clients.submit(_get, base + "/stuck", 5.0)
            assert entered.wait(2), "the stuck request should hold the only worker"
            queued = clients.submit(_get, base + "/queued", 5.0)
            for fut in (stuck, queued):
                with pytest.raises(urllib.error.HTTPError) as refused:
                    fut.result(5)
                assert refused.value.code == 503 and refused.value.headers["Retry-After"] == "5"
                assert json.loads(refused.value.read())["reason"] == "request_timeout"
        gate.set()
        wait_for(lambda: ran == ["/stuck"], 5, what="the stuck handler to finish")
        assert _get(base + "/again")[0] == 200
        assert ran == ["/stuck", "/again"]  # the queued request was cancelled, not run late
        assert reported == ["request_timeout"] * 2  # counted where /api/health shows it (api_errors)
    finally:
        gate.set()
        serving.shutdown()
        thread.join(5)


def test_once_serving_has_ended_calls_from_other_threads_are_dropped():
    """The pipeline goes on emitting (results, frames) while the hub stops: once the serving thread's
    loop is gone those emits are dropped and counted, never run on the pipeline's thread with gevent
    objects that belong to another (review)."""
    calls = LoopCalls()
    ran: list[str] = []
    calls.call(lambda: ran.append("before"))          # nothing served yet: at once (unit tests, start-up)
    serving = threading.Thread(target=lambda: (calls.attach(), calls.detach()), name="fake-serving")
    serving.start()
    serving.join(10)
    assert not calls.on_serving_thread()
    pipeline = threading.Thread(target=lambda: calls.call(lambda: ran.append("after")), name="fake-pipeline")
    pipeline.start()
    pipeline.join(10)
    assert ran == ["before"] and calls.dropped == 1
    serving = threading.Thread(target=lambda: (calls.attach(), calls.call(lambda: ran.append("again"))),
                               name="fake-serving-again")   # serving again: its own calls run
    serving.start()
    serving.join(10)
    assert ran == ["before", "again"]


def test_a_socket_handler_kept_waiting_too_long_times_out_and_never_runs_late():
    """A Socket.IO handler queued behind stuck workers (the database held): after its deadline the
    page is answered busy (``HubSocketIO``) and the handler, still queued, never runs: a tablet's
    retried ``class:go`` cannot also happen late."""
    calls = LoopCalls()
    pool = ThreadPoolExecutor(1, thread_name_prefix="test-stuck")
    gate = threading.Event()
    pool.submit(gate.wait, 10)                      # the only worker is stuck
    calls.use_workers(pool)
    ran: list[int] = []
    outcome: list[str] = []

    def serving() -> None:
        calls.attach()
        try:
            calls.off_loop(lambda: ran.append(1), timeout_s=0.3)
            outcome.append("ran")
        except TimeoutError:
            outcome.append("timed out")
        finally:
            calls.detach()
    thread = threading.Thread(target=serving, name="fake-serving")
    thread.start()
    thread.join(10)
    gate.set()
    pool.shutdown(wait=True)
    assert outcome == ["timed out"] and ran == []
