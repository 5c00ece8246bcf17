"""The hub process's tuning applies in its own interpreter only; the malloc arenas are set where the
hub is launched (systemd unit, make demo, the bench), and the hub's own install has no HTTP clients."""

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from server.process_tuning import (ARENA_ENV, LAUNCH_ENV, MALLOC_ARENAS, MALLOC_MMAP_THRESHOLD, MMAP_ENV,
                                   OPEN_FILES, SWITCH_INTERVAL_S, launch_env)
from tests.deploy.test_units import read_unit

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tune_process_sets_the_switch_interval_and_reports_the_arenas():
    code = ("import json, resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, "
            "resource.getrlimit(resource.RLIMIT_NOFILE)[1])); from server.process_tuning import tune_process; "
            "a = tune_process(); print(json.dumps({'applied': a, 'interval': sys.getswitchinterval(), "
            "'nofile': resource.getrlimit(resource.RLIMIT_NOFILE)}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                         env=launch_env())
    got = json.loads(out.stdout)
    assert got["interval"] == SWITCH_INTERVAL_S
    soft, hard = got["nofile"]
    assert soft == got["applied"]["open_files"] == min(OPEN_FILES, hard) > 1024  # 1,000 half-open clients fit
    assert got["applied"]["malloc_arena_max"] == str(MALLOC_ARENAS)
    assert got["applied"]["malloc_mmap_threshold"] == str(MALLOC_MMAP_THRESHOLD)


def test_launch_env_sets_the_arenas_and_keeps_an_explicit_choice():
    assert launch_env({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin", ARENA_ENV: str(MALLOC_ARENAS),
                                                 MMAP_ENV: str(MALLOC_MMAP_THRESHOLD)}
    assert launch_env({ARENA_ENV: "4"})[ARENA_ENV] == "4"


def test_the_hub_unit_and_make_demo_launch_with_the_malloc_settings():
    service = read_unit(REPO / "systemd" / "sledhub.service")["Service"]
    words = " ".join(f"{k}={v}" for k, v in LAUNCH_ENV.items())
    assert all(w in service["Environment"] for w in words.split())
    assert f"{words} $(VENV)/bin/sledhub demo" in (REPO / "Makefile").read_text()


def _closure(requirement: str) -> set[str]:
    """Every distribution ``pip install <requirement>`` pulls, from the installed packages' metadata
    (markers evaluated, extras followed)."""
    seen: set[tuple[str, str]] = set()
    req = Requirement(requirement)
    todo = [(canonicalize_name(req.name), e) for e in ("", *req.extras)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for raw in metadata.requires(name) or []:
            dep = Requirement(raw)
            if dep.marker is None or dep.marker.evaluate({"extra": extra}):
                todo += [(canonicalize_name(dep.name), e) for e in ("", *dep.extras)]
    return {name for name, _ in seen}


def test_the_hubs_install_brings_no_http_client_library():
    """What ``pip install sledhub[hub]`` pulls has neither requests nor websocket-client, which
    python-socketio would import (5.6 MB) if they were there; the test extras do bring them."""
    hub = _closure("sledhub[hub]")
    assert {"flask", "flask-socketio", "python-socketio"} <= hub
    assert not {"requests", "websocket-client"} & hub
    assert {"requests", "websocket-client"} <= _closure("python-socketio[client]")  # the check can fail


@pytest.mark.slow
def test_importing_the_hub_tunes_nothing():
    """No import-time side effects: a fresh interpreter that imports the hub and its command line keeps
    Python's switch interval."""
    code = ("import sys; default = sys.getswitchinterval(); import server.app, server.cli, server.process_tuning; "
            "print(sys.getswitchinterval() == default)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["True"]
