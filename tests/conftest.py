"""Suite-wide fixtures: leak checks on every test, and a real Mosquitto on a free loopback port."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from server.broker import ManagedBroker

LEAK_GRACE_S = 5.0


def _threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


def _new_process(p: psutil.Process, before: set[int]) -> bool:
    """A live process started by this test (not a helper of a session-long child such as Chromium)."""
    try:
        if p.pid in before or not p.is_running() or p.status() == psutil.STATUS_ZOMBIE:
            return False
        return not any(parent.pid in before for parent in p.parents())
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(autouse=True)
def no_leaked_threads_or_processes():
    """Fail a test that leaves a thread or a child process running after it (grace: 5 s)."""
    threads_before = _threads()
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    while True:
        leaked = [t for t in _threads() - threads_before if not t.daemon or t.name != "pydevd"]
        kids = [p for p in me.children(recursive=True) if _new_process(p, children_before)]
        if not leaked and not kids:
            return
        if time.monotonic() > deadline:
            names = ", ".join(t.name for t in leaked) or "-"
            procs = ", ".join(f"{p.pid}:{p.name()}" for p in kids) or "-"
            pytest.fail(f"test leaked threads [{names}] / processes [{procs}]")
        time.sleep(0.02)


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto on a free loopback port; ``broker.restart()`` keeps port and persistence."""
    b = ManagedBroker(workdir=tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.close()
