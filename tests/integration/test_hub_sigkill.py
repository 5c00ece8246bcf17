"""Kill the real hub process with SIGKILL mid-class, start it again on the same database: every result
it had announced and the class's current round are still there, and the class can go on."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import psutil
import pytest

from server.mqtt.broker import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.broker


class Api:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def call(self, method: str, path: str, body=None):
        headers = {"Content-Type": "application/json", **({"X-CSRF-Token": self.csrf} if self.csrf else {})}
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data, headers=headers, method=method)
        with self.opener.open(req, timeout=10) as r:
            return json.loads(r.read())

    def ready(self) -> bool:
        try:
            health = self.call("GET", "/api/health")
        except (urllib.error.URLError, ConnectionError, OSError):
            return False
        return health["broker_connected"] and health["nodes_online"] == 4


def start_hub(db: str, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "server.cli", "demo", "--db", db, "--port", str(port),
                             "--host", "127.0.0.1", "--no-autostart"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the hub; its private broker (a child in its own session) is then stopped too."""
    kids = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for kid in kids:
        try:
            kid.kill()
            kid.wait(10)
        except psutil.NoSuchProcess:
            pass


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


def test_sigkill_mid_class_loses_no_result_and_keeps_the_round(tmp_path):
    db, port = str(tmp_path / "hub.db"), free_port()
    api = Api(f"http://127.0.0.1:{port}")
    hub = start_hub(db, port)
    try:
        wait_for(api.ready, 30, 0.1, "the hub and its 4 simulated nodes")
        api.csrf = api.call("POST", "/api/session", {"name": "demo", "pin": "1234"})["csrf_token"]
        circuit = api.call("GET", "/api/circuits")[0]
        class_id = api.call("POST", "/api/classes", {"circuit_id": circuit["id"]})["id"]
        members = [m["id"] for m in api.call("GET", "/api/members")]
        api.call("POST", f"/api/classes/{class_id}/checkin", {"member_ids": members})
        api.call("POST", f"/api/classes/{class_id}/start")
        api.call("POST", f"/api/classes/{class_id}/go")

        def class_results():
            return [r for r in api.call("GET", "/api/results?limit=1000") if r["class_id"] == class_id]
        before = wait_for(lambda: len(class_results()) >= 2 and class_results(), 60, 0.2, "two class results")
        view = api.call("GET", f"/api/classes/{class_id}")
        kill_hard(hub)
    finally:
        if hub.poll() is None:
            kill_hard(hub)

    hub = start_hub(db, port)
    try:
        api = Api(f"http://127.0.0.1:{port}")
        wait_for(api.ready, 30, 0.1, "the restarted hub")
        after = {r["id"]: r for r in api.call("GET", "/api/results?limit=1000")}
        for r in before:  # every result announced before the kill, unchanged
            assert after[r["id"]]["time_s"] == r["time_s"] and after[r["id"]]["status"] == r["status"]
        current = api.call("GET", "/api/classes/current")["class"]
        assert current["id"] == class_id and current["state"] == "PAUSED"
        assert (current["round_no"], current["heat_no"]) == (view["round_no"], view["heat_no"])
        api.csrf = api.call("POST", "/api/session", {"name": "demo", "pin": "1234"})["csrf_token"]
        resumed = api.call("POST", f"/api/classes/{class_id}/resume")
        assert resumed["state"] != "PAUSED"
    finally:
        stop(hub)
