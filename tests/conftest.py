"""Suite-wide fixtures: leak checks on every test, a real Mosquitto on a free loopback port, and the
markers that let ``make test-fast`` (``-m "not browser and not broker and not slow"``) start neither.

Markers (declared in pyproject.toml): ``broker`` is added to every test that uses the ``broker``
fixture (directly or through another fixture), ``browser`` to every test that uses ``chromium``; a
test that starts Mosquitto or Playwright/Chromium some other way must carry the marker itself, and
fails if it does not (an audit hook sees every ``subprocess.Popen``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest

from server.mqtt.broker import ManagedBroker

LEAK_GRACE_S = 5.0


@dataclass
class LaunchGuard:
    """Records programs started (``subprocess.Popen``) by a test that lacks the marker they need."""

    current: pytest.Item | None = None
    violations: dict[str, list[str]] = field(default_factory=dict)

    @staticmethod
    def marker_for(executable: Any, args: Any) -> str | None:
        """``broker`` for Mosquitto, ``browser`` for Playwright's driver or Chromium, else None."""
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args or [])[:3]
        parts = [os.fsdecode(p) for p in (executable, *argv) if isinstance(p, (str, bytes, os.PathLike))]
        names = {os.path.basename(p.split()[0]) for p in parts if p.strip()}
        if "mosquitto" in names:
            return "broker"
        if any("chrom" in name for name in names) or any("playwright" in p for p in parts):
            return "browser"
        return None

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "subprocess.Popen" or self.current is None:
            return
        try:
            needed = self.marker_for(args[0], args[1])
            if needed and self.current.get_closest_marker(needed) is None:
                self.violations.setdefault(self.current.nodeid, []).append(f"{needed} ({args[0]!r})")
        except Exception:  # an audit hook must never break the program it watches
            pass


_GUARD = LaunchGuard()


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_GUARD.audit)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "broker" in fixtures:
            item.add_marker(pytest.mark.broker)
        if "chromium" in fixtures:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _GUARD.current = item  # before any fixture of the test starts (session fixtures included)


@pytest.fixture(autouse=True)
def launches_match_markers(request: pytest.FixtureRequest):
    """Fail a test that started Mosquitto or a browser without its ``broker`` / ``browser`` marker."""
    yield
    missing = _GUARD.violations.pop(request.node.nodeid, [])
    if missing:
        pytest.fail(f"this test starts programs its markers do not declare: add the marker(s) {missing}")


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
