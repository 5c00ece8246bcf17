"""The real parts a fault is injected into: the hub as a process (``sledhub serve``), protocol-level
lane nodes (paho clients speaking protocol v1, as a node would), a TCP proxy between a node and the
broker that can be cut (a network partition without root tricks), and an HTTP client signed in as an
instructor. The broker is :class:`server.mqtt.broker.ManagedBroker`.

Times: node clocks in integer µs (``t_us``), waits in seconds.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from server.auth.roles import Role
from server.auth.users import UserStore
from server.mqtt.broker import free_port
from server.store.db import Database
from server.store.stations import Binding, Station, StationStore
from tests.support.waiting import wait_for

USER = ("faults", "2580")
ROOT = "sledhub/v1/node"
BEAM = {"kind": "beam", "unit": None, "rate_hz": None, "wiring": {"pin": 23, "broken_level": "low"},
        "calibration": {"holdoff_s": 0.5}}


def seed(db_path: Path, lanes: list[tuple[str, str]]) -> None:
    """Lane stations (FLY_THROUGH: the time runs from the start beam to the finish beam, both on one
    node's clock, so every expected time is exact) bound to ``(station_id, node_id)``; the user."""
    db = Database(db_path)
    try:
        store = StationStore(db)
        cfg = {"start_mode": "FLY_THROUGH", "split_roles": [], "time_cap_s": 20.0, "holdoff_s": 0.2}
        for sid, node in lanes:
            store.upsert(Station(sid, "lane", sid, cfg, (Binding("start", node, "start"),
                                                        Binding("finish", node, "finish"))))
        UserStore(db).create(USER[0], Role.INSTRUCTOR, USER[1])
    finally:
        db.close()


class Api:
    """The hub's REST API, signed in as the instructor (signs in again after a hub restart)."""

    def __init__(self, base: str):
        self.base = base
        self._jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._jar))
        self.csrf: str | None = None

    def call(self, method: str, path: str, body: Any = None, timeout_s: float = 10.0) -> Any:
        headers = {"Content-Type": "application/json", **({"X-CSRF-Token": self.csrf} if self.csrf else {})}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data, headers=headers, method=method)
        with self._opener.open(req, timeout=timeout_s) as r:
            return json.loads(r.read())

    def health(self) -> dict[str, Any] | None:
        try:
            return self.call("GET", "/api/health", timeout_s=3.0)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def sign_in(self) -> None:
        self._jar.clear()
        self.csrf = self.call("POST", "/api/session", {"name": USER[0], "pin": USER[1]})["csrf_token"]

    def arm(self, station: str, athlete: str) -> str:
        made = self.call("POST", "/api/heats", {"entries": [{"station_id": station, "athlete": athlete}]})
        return made[0]["attempt_id"]

    def results(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/results?limit=1000")


class HubProc:
    """``sledhub serve`` on a free port with its database at ``db_path``."""

    def __init__(self, workdir: Path, db_path: Path, broker: tuple[str, int]):
        self.workdir, self.db_path, self.broker = workdir, db_path, broker
        self.port = free_port()
        self.api = Api(f"http://127.0.0.1:{self.port}")
        self.proc: subprocess.Popen | None = None
        self.config = workdir / "hub.toml"
        self.config.write_text(f'[store]\npath = "{db_path}"\n[mqtt]\nkeepalive_s = 5\n[timing]\n'
                               'clock_ping_interval_s = 1.0\n', encoding="utf-8")

    def spawn(self) -> subprocess.Popen:
        self.log = open(self.workdir / "hub.log", "ab")  # noqa: SIM115 - closed in wait/kill
        self._log_start = self.log.tell()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(self.config), "--host", "127.0.0.1",
             "--port", str(self.port), "--broker", f"{self.broker[0]}:{self.broker[1]}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self.proc

    def start(self, nodes_online: int = 0, timeout_s: float = 60.0) -> float:
        """Start and wait until it is connected and sees ``nodes_online`` nodes; returns the seconds."""
        t0 = time.monotonic()
        self.spawn()
        self.wait_ready(nodes_online, timeout_s)
        self.api.sign_in()
        return time.monotonic() - t0

    def wait_ready(self, nodes_online: int = 0, timeout_s: float = 60.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the hub exited with {self.proc.returncode}: {self.stderr()}")
            h = self.api.health()
            return bool(h and h["broker_connected"] and h["nodes_online"] >= nodes_online)
        wait_for(ready, timeout_s, 0.05, "the hub connected with its nodes online")

    def exit_code(self, timeout_s: float = 60.0) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout_s)
        self._close_log()
        return rc

    def stderr(self) -> str:
        """What the hub printed since it was last spawned (stdout and stderr go to ``hub.log``: a pipe
        nobody reads would fill up and freeze the hub)."""
        with open(self.workdir / "hub.log", "rb") as f:
            f.seek(getattr(self, "_log_start", 0))
            return f.read().decode(errors="replace")

    def stall(self, seconds: float) -> None:
        """Freeze the hub (SIGSTOP) for ``seconds`` of simulated trouble, then let it go on (SIGCONT)."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)  # the stall itself: the fault being injected, not a wait for a condition
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self._close_log()

    def _close_log(self) -> None:
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None


class LaneNode:
    """A lane node with beams ``start`` and ``finish``: status (retained, Last Will), descriptor, clock
    pongs, acks; ``beam_break`` publishes an ``evt`` (QoS 1). ``power_cut`` drops the connection with
    no goodbye (the broker then publishes the Last Will); ``power_on`` boots it again (new boot id)."""

    def __init__(self, node_id: str, broker: tuple[str, int], keepalive_s: int = 2):
        self.id, self.broker, self.keepalive_s = node_id, broker, keepalive_s
        self.client: mqtt.Client | None = None
        self.clock_offset_us = 7_000_000_000  # the node's clock is not the hub's
        self._lock = threading.Lock()

    def now_us(self) -> int:
        return time.monotonic_ns() // 1000 + self.clock_offset_us

    def power_on(self) -> None:
        self.boot_id, self.seq = uuid.uuid4().hex[:16], 0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sledhub-{self.id}", protocol=mqtt.MQTTv311,
                        clean_session=True)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(0.1, 1)
        c.will_set(f"{ROOT}/{self.id}/status", self._json({"node": self.id, "state": "offline",
                                                           "boot_id": self.boot_id}), 1, True)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        self.client = c
        c.connect_async(*self.broker, keepalive=self.keepalive_s)
        c.loop_start()

    def _json(self, body: dict[str, Any]) -> bytes:
        return json.dumps({"v": 1, **body}, separators=(",", ":")).encode()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        client.subscribe([(f"{ROOT}/{self.id}/cmd", 1), (f"{ROOT}/{self.id}/clock/ping", 0)])
        self._announce(client)

    def _announce(self, client) -> None:
        client.publish(f"{ROOT}/{self.id}/status", self._json({"node": self.id, "state": "online",
                                                               "boot_id": self.boot_id}), 1, True)
        sensors = [{"id": sid, **BEAM} for sid in ("start", "finish")]
        client.publish(f"{ROOT}/{self.id}/desc", self._json({"node": self.id, "boot_id": self.boot_id,
                                                             "fw": "faults 1", "sensors": sensors}), 1, True)

    def _on_message(self, client, userdata, msg) -> None:
        body = json.loads(msg.payload)
        if msg.topic.endswith("/clock/ping"):
            client.publish(f"{ROOT}/{self.id}/clock/pong",
                           self._json({"boot_id": self.boot_id, "n": body["n"], "t_us": self.now_us()}), 0)
        elif msg.topic.endswith("/cmd"):
            client.publish(f"{ROOT}/{self.id}/ack", self._json({"id": body["id"], "ok": True, "result": {}}), 1)
            if body.get("cmd") == "rebirth":
                self._announce(client)

    def beam_break(self, sensor: str, t_us: int, body_s: float = 0.02) -> None:
        """The athlete passes the beam: ``break`` at ``t_us``, ``restore`` ``body_s`` later."""
        for kind, t in (("break", t_us), ("restore", t_us + int(body_s * 1e6))):
            with self._lock:
                seq, self.seq = self.seq, self.seq + 1
            self.client.publish(f"{ROOT}/{self.id}/evt", self._json({"boot_id": self.boot_id, "seq": seq,
                                                                     "sensor": sensor, "kind": kind, "t_us": t}), 1)

    def power_cut(self) -> None:
        """The node loses power: no DISCONNECT, its socket just goes away (the broker sends the Will)."""
        c, self.client = self.client, None
        c.loop_stop()
        sock = c.socket()
        if sock is not None:
            sock.close()

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None


class Proxy:
    """A TCP proxy ``127.0.0.1:port`` → ``target``; ``cut()`` drops every connection and refuses new
    ones until ``heal()`` (a network partition of whatever connects through it)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._cut = True

    def heal(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._stop = True
        self._thread.join(10)
        self._listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        for a, b in self._pairs:
            a.close()
            b.close()
        self._pairs = []

    def _run(self) -> None:
        while not self._stop:
            if self._cut and self._pairs:
                self._drop_all()
            socks = [self._listener] + [s for pair in self._pairs for s in pair]
            readable, _, _ = select.select(socks, [], [], 0.05)
            for s in readable:
                if s is self._listener:
                    self._accept()
                else:
                    self._forward(s)

    def _accept(self) -> None:
        conn, _ = self._listener.accept()
        if self._cut:
            conn.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            conn.close()
            return
        self._pairs.append((conn, upstream))

    def _forward(self, s: socket.socket) -> None:
        pair = next((p for p in self._pairs if s in p), None)
        if pair is None:
            return
        other = pair[1] if s is pair[0] else pair[0]
        try:
            data = s.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._pairs.remove(pair)
        pair[0].close()
        pair[1].close()
