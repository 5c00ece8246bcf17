"""A sensor node installs and runs the bridge without the hub's web stack (issue 17).

``pip install sledhub`` (what ``scripts/install-pi.sh --node`` does) must pull paho-mqtt and gpiozero
and nothing of Flask / Socket.IO; those come with ``pip install sledhub[hub]``. Checked two ways: the
declared dependencies (pyproject and the installed distribution's metadata, followed transitively
through the installed packages' own metadata) and what importing every node module loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
NODE_DEPS = {"paho-mqtt", "gpiozero"}
HUB_ONLY = {"flask", "flask-socketio", "simple-websocket", "werkzeug", "python-socketio", "python-engineio", "gevent"}
HUB_MODULES = ("flask", "flask_socketio", "socketio", "engineio", "werkzeug", "simple_websocket", "gevent", "server")


def _name(requirement: str) -> str:
    """``"Flask-SocketIO>=5.3; extra == 'hub'"`` -> ``"flask-socketio"`` (PEP 503 normalised)."""
    return canonicalize_name(Requirement(requirement).name)


def _unconditional(requirements: list[str] | None) -> set[str]:
    """Names of the requirements that apply here without an extra (their markers evaluated)."""
    reqs = [Requirement(r) for r in requirements or []]
    return {canonicalize_name(r.name) for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})}


def _closure(names: set[str]) -> set[str]:
    """Every distribution an install of ``names`` pulls, read from the installed packages' metadata."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _unconditional(metadata.requires(name))
    return seen


def test_the_base_install_is_the_node_and_the_hub_is_an_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert {_name(r) for r in project["dependencies"]} == NODE_DEPS
    assert {"flask", "flask-socketio"} <= {_name(r) for r in project["optional-dependencies"]["hub"]}


def test_installing_the_node_pulls_no_flask():
    """The installed metadata (what pip reads) agrees with pyproject, and the transitive closure of the
    node's dependencies holds nothing of the hub's web stack."""
    base = _unconditional(metadata.requires("sledhub"))
    assert base == NODE_DEPS
    pulled = _closure(base)
    assert NODE_DEPS <= pulled
    assert not pulled & HUB_ONLY, f"a node install would pull {sorted(pulled & HUB_ONLY)}"
    # the check can fail: the hub extra's closure does pull Flask
    assert "flask" in _closure({"flask-socketio", "flask"})


def test_importing_every_node_module_loads_nothing_of_the_hub():
    code = ("import json, pkgutil, sys, importlib, firmware_bridge\n"
            "for m in pkgutil.walk_packages(firmware_bridge.__path__, 'firmware_bridge.'):\n"
            "    importlib.import_module(m.name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HUB_MODULES!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_bridge_command_line_starts_without_the_hub():
    """``sledhub-bridge --version`` in an interpreter where importing Flask fails, as on a node."""
    code = ("import sys\n"
            "class NoHub:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {HUB_MODULES!r}:\n"
            "            raise ImportError(f'{name} is not installed on a node')\n"
            "sys.meta_path.insert(0, NoHub())\n"
            "from firmware_bridge.cli import main\n"
            "sys.exit(main(['--version']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("sledhub-bridge ")


def test_the_hub_command_on_a_node_says_what_to_install(tmp_path):
    """``sledhub serve`` where Flask is not installed: exit status 2 and the install to run, no traceback."""
    code = ("import sys\n"
            "class NoFlask:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('flask', 'flask_socketio'):\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, NoFlask())\n"
            "from server.cli import main\n"
            "sys.exit(main(['serve', '--port', '0']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "pip install 'sledhub[hub]'" in out.stderr and "Traceback" not in out.stderr
