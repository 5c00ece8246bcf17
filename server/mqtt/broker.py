"""A private Mosquitto 2 broker run as a child process (the "managed broker").

Used by ``sledhub demo`` (and ``sledhub serve`` without ``--broker``), by the test suite and by the
benchmark. It writes a generated config into its own work directory, listens on one loopback port
(a free one unless given) and is stopped with its owner: ``stop()`` terminates it and waits.

Nothing here runs at import time. The broker binary is looked up on ``PATH`` and in ``/usr/sbin``
(Debian package ``mosquitto``).

The broker never outlives its owner: on Linux it is started with the parent-death signal
(``prctl(PR_SET_PDEATHSIG, SIGTERM)``), so when the owning process dies in any way (``kill -9``, the
OOM killer) the kernel sends the broker SIGTERM. That signal fires when the *thread* that forked the
broker ends, so the fork happens on a keeper thread that lives exactly as long as the broker (it waits
for it), never on a caller's thread, which may be short-lived.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class BrokerError(RuntimeError):
    """The managed broker could not be found or started."""


def find_mosquitto() -> str:
    """Return the path of the ``mosquitto`` binary or raise :class:`BrokerError` saying what to install."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )
    if not found:
        raise BrokerError(
            "Mosquitto 2 is not installed: run 'sudo apt-get install mosquitto' "
            "(or pass --broker HOST:PORT to use an existing broker)"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_listening(host: str, port: int, timeout_s: float) -> bool:
    """Wait until something accepts TCP connections on ``host:port``; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when the forking thread dies (Linux), and
    exit at once if the parent is already gone; None where ``prctl`` does not exist."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent_pid = os.getpid()
    args = (ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(int(sig)), ctypes.c_ulong(0), ctypes.c_ulong(0),
            ctypes.c_ulong(0))

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no allocation to speak of
        if prctl(*args) != 0 or os.getppid() != parent_pid:
            os._exit(70)

    return preexec


def _spawn_on_keeper(cmd: list[str], name: str, **popen_kwargs) -> tuple[subprocess.Popen, threading.Thread]:
    """Start ``cmd`` from a new thread that then waits for it, so the parent-death signal (tied to
    the forking thread) fires only when this process dies; returns the process and its keeper."""
    started = threading.Event()
    outcome: list = []

    def keep() -> None:
        try:
            proc = subprocess.Popen(cmd, preexec_fn=die_with_parent(), **popen_kwargs)
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)
            started.set()
            return
        outcome.append(proc)
        started.set()
        proc.wait()

    keeper = threading.Thread(target=keep, name=name, daemon=True)
    keeper.start()
    started.wait()
    if isinstance(outcome[0], BaseException):
        keeper.join()
        raise outcome[0]
    return outcome[0], keeper


@dataclass
class ManagedBroker:
    """A Mosquitto child process on ``host:port`` with a generated config.

    ``extra_config`` lines are appended to the generated file (e.g. a password file for tests of the
    secured drop-in). ``persistence`` keeps retained messages and queued QoS 1 messages across a
    ``restart()`` in the work directory.
    """

    host: str = "127.0.0.1"
    port: int = 0
    extra_config: list[str] = field(default_factory=list)
    persistence: bool = True
    workdir: Path | None = None
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _keeper: threading.Thread | None = field(default=None, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, init=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _write_config(self) -> Path:
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sledhub-broker-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            "# generated by sledhub: a private broker for one hub, loopback only",
            "per_listener_settings false",
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "max_queued_messages 100000",
            # no limit: with queued QoS 0 telemetry, Mosquitto 2.0 stops delivering a persistent session's
            # queued QoS 1 events once the inflight limit is reached (tests/integration/test_persistent_session.py)
            "max_inflight_messages 0",
            # no Nagle delay: a pong queued behind an unacknowledged small packet otherwise waits for the
            # peer's delayed ACK (~40 ms), and every clock sample of that connection is ~20 ms off
            "set_tcp_nodelay true",
            # the hub's persistent session also gets the telemetry (QoS 0) sent while it was away
            "queue_qos0_messages true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            # run as whoever started us: as root, mosquitto would otherwise switch to user 'mosquitto',
            # which cannot write a private (0700) persistence directory
            f"user {getpass.getuser()}",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
        lines += self.extra_config
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def start(self, timeout_s: float = 10.0) -> "ManagedBroker":
        """Start the broker and wait until it accepts connections."""
        binary = find_mosquitto()
        if not self.port:
            self.port = free_port(self.host)
        conf = self._write_config()
        self._log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - closed in stop()
        self._proc, self._keeper = _spawn_on_keeper(
            [binary, "-c", str(conf)],
            f"sledhub-broker-{self.port}",
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_listening(self.host, self.port, timeout_s) or not self.running:
            self.stop()
            raise BrokerError(f"mosquitto did not start on {self.address}: see {self.workdir}/mosquitto.log")
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL) and wait for it; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout_s)
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.join(timeout_s)
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def restart(self, timeout_s: float = 10.0) -> None:
        """Stop and start again on the same port and work directory."""
        self.stop()
        self.start(timeout_s)

    def close(self) -> None:
        """Stop the broker and remove a temporary work directory."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "ManagedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
