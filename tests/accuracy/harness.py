"""The real parts: a private Mosquitto on a free loopback port and ``sledhub serve`` as a subprocess with its
own TOML config and SQLite file in a work directory, driven only through the HTTP API of ``docs/api.md``.

The admin is created as the docs say (``sledhub user add NAME --role admin --config F --pin-stdin``);
:class:`Api` signs in (``POST /api/session``) and sends the CSRF token on every write. The hub can be
frozen (SIGSTOP/SIGCONT), restarted (SIGTERM, then started again on the same database) and the broker
restarted (same port and persistence).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from server.mqtt.broker import ManagedBroker, free_port

ADMIN = ("acc-admin", "246813")


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Api:
    """JSON over HTTP with the session cookie and the CSRF token (docs/api.md, "Roles, sign-in and CSRF")."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._csrf: str | None = None

    def sign_in(self, name: str = ADMIN[0], pin: str = ADMIN[1]) -> None:
        self._csrf = self.call("POST", "/api/session", {"name": name, "pin": pin})["csrf_token"]

    def call(self, method: str, path: str, body: Any = None, timeout_s: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self._csrf and method != "GET":
            req.add_header("X-CSRF-Token", self._csrf)
        try:
            with self._opener.open(req, timeout=timeout_s) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, f"{method} {path}: {exc.code} {exc.read()[:400].decode(errors='replace')}") from None

    def get(self, path: str) -> Any:
        return self.call("GET", path)


def sledhub_exe() -> list[str]:
    script = Path(sys.executable).with_name("sledhub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


class Hub:
    """``sledhub serve --config F --broker HOST:PORT`` in ``workdir`` (``hub.db``, ``sledhub.toml``, ``hub.log``)."""

    def __init__(self, workdir: Path, broker: ManagedBroker):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.broker = broker
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "sledhub.toml"
        self.config_path.write_text(
            f'[http]\nhost = "127.0.0.1"\nport = {self.port}\n\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n\n'
            f'[store]\npath = "{workdir / "hub.db"}"\n', encoding="utf-8")
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.starts = 0

    def add_admin(self) -> None:
        """``sledhub user add acc-admin --role admin --config F --pin-stdin`` (docs/api.md)."""
        subprocess.run([*sledhub_exe(), "user", "add", ADMIN[0], "--role", "admin", "--config", str(self.config_path),
                        "--pin-stdin"], input=ADMIN[1] + "\n", text=True, check=True, capture_output=True, timeout=60)

    def start(self, timeout_s: float = 60.0) -> Api:
        """Start the hub and wait until ``/api/health`` says it is connected to the broker; a signed-in Api."""
        self._log = open(self.workdir / "hub.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*sledhub_exe(), "serve", "--config", str(self.config_path)],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.starts += 1
        api = Api(self.url)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sledhub serve exited with {self.proc.returncode}: see {self.workdir}/hub.log")
            try:
                if api.get("/api/health").get("broker_connected"):
                    api.sign_in()
                    return api
            except (OSError, ApiError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sledhub serve not healthy within {timeout_s} s: see {self.workdir}/hub.log")

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
