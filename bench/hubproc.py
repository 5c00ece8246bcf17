"""The hub under test, as a separate process, and the bench's HTTP client for it.

:func:`seed_database` writes the bench stations, their bindings and an instructor into a fresh SQLite
file *before* the hub starts; :class:`HubProcess` writes a config, spawns ``sledhub serve`` and
times its start-up; :class:`Sampler` reads the hub's CPU time and RSS with psutil; :class:`HubApi`
signs in once and talks to the REST API (sign-in is in one place: :meth:`HubApi.sign_in`).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from bench.nodes import LANE_GATES
from bench.plan import BENCH_USER, Pinning, Plan
from server.auth.roles import Role
from server.auth.users import UserStore
from server.mqtt.broker import free_port
from server.process_tuning import launch_env
from server.store.db import Database
from server.store.stations import Binding, Station, StationStore


def bench_stations(plan: Plan) -> list[Station]:
    sled_cfg = {"distance_m": plan.sled_distance_m, "start_mode": "GO_COUNTDOWN", "countdown_s": plan.countdown_s,
                "time_cap_s": 30.0, "false_start_policy": "WARN_KEEP", "sled_mass_kg": 60.0}
    lane_cfg = {"start_mode": "GO_COUNTDOWN", "countdown_s": plan.countdown_s, "split_roles": ["split1"],
                "time_cap_s": 30.0, "false_start_policy": "WARN_KEEP", "holdoff_s": 0.5}
    out = []
    for i, sid in enumerate(plan.sled_ids, start=1):
        node = plan.node_of(sid)
        out.append(Station(sid, "sled", f"Sled {i}", sled_cfg,
                           (Binding("force", node, "force"), Binding("wheel", node, "wheel"))))
    for i, sid in enumerate(plan.lane_ids, start=1):
        node = plan.node_of(sid)
        out.append(Station(sid, "lane", f"Lane {i}", lane_cfg, tuple(Binding(g, node, g) for g in LANE_GATES)))
    return out


def seed_database(path: Path, plan: Plan) -> None:
    """Stations ``sledN``/``laneN`` bound to nodes ``bench-…``, and the bench instructor."""
    db = Database(path)
    try:
        store = StationStore(db)
        for station in bench_stations(plan):
            store.upsert(station)
        UserStore(db).create(BENCH_USER[0], Role.INSTRUCTOR, BENCH_USER[1])
    finally:
        db.close()


def sledhub_command(hub_src: Path | None = None) -> list[str]:
    """``.venv/bin/sledhub``; with ``hub_src``, ``python -m server.cli`` from that checkout instead."""
    script = Path(sys.executable).with_name("sledhub")
    if hub_src is None and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "server.cli"]


class HubProcess:
    """``sledhub serve --broker HOST:PORT --port N --config F`` with its own database in ``workdir``."""

    def __init__(self, workdir: Path, plan: Plan, broker: tuple[str, int], hub_src: Path | None = None,
                 pinning: Pinning = Pinning()):
        self.workdir = workdir
        self.pinning = pinning
        self.hub_src = hub_src
        self.port = free_port()
        self.broker = broker
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None
        db_path = workdir / "hub.db"
        seed_database(db_path, plan)
        self.config_path = workdir / "sledhub.toml"
        self.config_path.write_text(
            f'[http]\nhost = "127.0.0.1"\nport = {self.port}\n\n'
            f'[mqtt]\nclient_id = "sledhub-bench-hub"\n\n'
            f'[store]\npath = "{db_path}"\n', encoding="utf-8")
        self._log = None

    def start(self, timeout_s: float = 30.0) -> float:
        """Spawn the hub; returns the seconds until ``/api/health`` said ``broker_connected``."""
        self._log = open(self.workdir / "hub.log", "wb")  # noqa: SIM115 - closed in stop()
        cmd = [*sledhub_command(self.hub_src), "serve", "--broker", f"{self.broker[0]}:{self.broker[1]}",
               "--port", str(self.port), "--config", str(self.config_path)]
        t0 = time.monotonic()
        env = launch_env()  # MALLOC_ARENA_MAX, as the systemd unit sets it
        if self.hub_src is not None:  # A/B runs: the hub from another checkout (e.g. with a fix)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.hub_src), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=self.hub_src or None)
        self.pinning.pin(self.proc.pid, "hub")
        api = HubApi(self.url)
        while time.monotonic() - t0 < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}: see {self.workdir}/hub.log")
            try:
                if api.get("/api/health", timeout_s=1.0).get("broker_connected"):
                    self.startup_s = time.monotonic() - t0
                    return self.startup_s
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        raise RuntimeError(f"the hub did not become healthy within {timeout_s} s: see {self.workdir}/hub.log")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None


def broker_pid(broker: Any) -> int:
    """The Mosquitto child of this process that runs ``broker``'s (a ``ManagedBroker``) config."""
    conf = str(broker.workdir)
    for child in psutil.Process().children():
        try:
            if any(conf in part for part in child.cmdline()):
                return child.pid
        except psutil.Error:
            continue
    raise RuntimeError("cannot find the bench's Mosquitto process")


class HubApi:
    """JSON over HTTP with a session cookie; ``sign_in`` once, then writes carry the CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._csrf: str | None = None

    def sign_in(self, name: str = BENCH_USER[0], pin: str = BENCH_USER[1]) -> None:
        """The one place the bench authenticates (``POST /api/session``)."""
        state = self.request("POST", "/api/session", {"name": name, "pin": pin})
        self._csrf = state["csrf_token"]

    def request(self, method: str, path: str, body: Any = None, timeout_s: float = 10.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self._csrf and method not in ("GET", "HEAD"):
            req.add_header("X-CSRF-Token", self._csrf)
        try:
            with self._opener.open(req, timeout=timeout_s) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise HubApiError(exc.code, f"{method} {path}: {exc.code} {detail}") from None

    def get(self, path: str, timeout_s: float = 10.0) -> Any:
        return self.request("GET", path, timeout_s=timeout_s)

    def health(self, timeout_s: float = 10.0) -> dict[str, Any]:
        return self.get("/api/health", timeout_s)

    def arm(self, station_id: str, athlete: str) -> dict[str, Any]:
        """Arm one station in a heat of its own; returns its assignment (``attempt_id``, ``heat_id``)."""
        made = self.request("POST", "/api/heats", {"entries": [{"station_id": station_id, "athlete": athlete}]})
        return made[0]

    def go(self, station_ids: list[str]) -> int:
        """GO now; returns the hub time (µs) of the GO command."""
        return self.request("POST", "/api/heats/go", {"station_ids": station_ids})["go_t_us"]


class HubApiError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Sampler:
    """Samples CPU time and RSS of some processes every ``interval_s`` on a thread.

    ``window(t0, t1)`` gives, per name, the CPU use in that window (% of one core) and the peak RSS.
    """

    def __init__(self, pids: dict[str, int], interval_s: float = 0.25):
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._interval_s = interval_s
        self.samples: list[tuple[float, dict[str, tuple[float, int]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def add(self, name: str, pid: int) -> None:
        self._procs = {**self._procs, name: psutil.Process(pid)}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            snap = {}
            for name, proc in self._procs.items():
                try:
                    cpu = proc.cpu_times()
                    snap[name] = (cpu.user + cpu.system, proc.memory_info().rss)
                except psutil.Error:
                    pass
            self.samples.append((now, snap))
            self._stop.wait(self._interval_s)

    def window(self, t0: float, t1: float) -> dict[str, dict[str, float]]:
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        out: dict[str, dict[str, float]] = {}
        if len(inside) < 2:
            return out
        first, last = inside[0], inside[-1]
        for name in last[1]:
            if name not in first[1]:
                continue
            cpu = (last[1][name][0] - first[1][name][0]) / (last[0] - first[0]) * 100
            rss = max(s[1][name][1] for s in inside if name in s[1])
            out[name] = {"cpu_pct": round(cpu, 1), "rss_peak_mb": round(rss / 2**20, 1)}
        return out
