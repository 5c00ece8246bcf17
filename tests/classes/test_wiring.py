"""The composition root and the shape of the package graph: services are built once, typed, and
handed over; no package imports one that imports it back; the pure parts load no Flask."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from server.auth.guard import Auth
from server.boards.display import DisplayFeatures
from server.classes.service import ClassService
from server.setup.service import SetupService
from tests.classes.conftest import base_config

SERVER = Path(__file__).resolve().parents[2] / "server"


def test_create_app_builds_each_service_once_and_hands_the_same_one_to_everyone(tmp_path):
    from server.app import create_app
    app = create_app(base_config(tmp_path), connect_mqtt=False)
    try:
        assert isinstance(app.auth, Auth) and isinstance(app.classes, ClassService)
        assert isinstance(app.display, DisplayFeatures) and isinstance(app.setup, SetupService)
        assert app.display.tiles.on_output in app.hub.listeners and app.setup.on_item in app.hub.listeners
        assert app.classes.on_result in app.hub.writer.listeners
        assert not {"sledhub_classes", "sledhub_display", "sledhub_setup"} & set(app.flask.extensions)
        # the display reads the running class from the very class service the routes use
        client = app.flask.test_client()
        assert client.get("/api/classes/current").get_json() == {"class": None}
        assert app.display.state()["class"] is None
    finally:
        app.stop()


def package_of(module: str) -> str:
    """``server.classes.service`` → ``server.classes``; a module at the root is its own unit."""
    return ".".join(module.split(".")[:2])


def import_graph(root: Path = SERVER) -> dict[str, dict[str, set[str]]]:
    """``{package: {imported package: {"module -> module", ...}}}`` over every import in ``server/``
    (also those inside functions and under ``TYPE_CHECKING``: a type is a dependency too)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "server"]
            else:
                continue
            for target in targets:
                if target.startswith("server.") and package_of(target) != package_of(module):
                    graph[package_of(module)][package_of(target)].add(f"{module} -> {target}")
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path):
    pkg = tmp_path / "server"
    for name, body in {"a/__init__.py": "", "a/x.py": "from server.b.y import f\n", "b/__init__.py": "",
                       "b/y.py": "def f():\n    from server.a.x import g\n", "c.py": "import server.a.x\n"}.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(body)
    assert cycles(import_graph(pkg)) == [["server.a", "server.b"]]


def test_no_package_of_server_imports_one_that_imports_it_back():
    graph = import_graph()
    found = cycles(graph)
    detail = [f"{a} -> {b}: {sorted(graph[a][b])}" for c in found for a in c for b in c if b in graph[a]]
    assert found == [], "import cycles between packages:\n" + "\n".join(detail)


PURE_PACKAGES = ("server.engine", "server.protocol", "server.classes")
"""Imported with every module in them."""
PURE_MODULES = ("server.errors", "server.hub.clock_sync", "server.setup.wizards", "server.setup.stations",
                "server.boards.display")


def test_the_pure_parts_load_no_flask_in_a_fresh_interpreter():
    code = ("import importlib, pkgutil, sys\n"
            f"for name in {PURE_PACKAGES!r}:\n"
            "    for info in pkgutil.walk_packages(importlib.import_module(name).__path__, name + '.'):\n"
            "        importlib.import_module(info.name)\n"
            f"for name in {PURE_MODULES!r}:\n    importlib.import_module(name)\n"
            "loaded = [m for m in sys.modules if m.startswith(('server.classes.', 'server.engine.'))]\n"
            "print(len(loaded), sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=SERVER.parent, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 15  # the walk really imported the packages' modules
    assert out[1].strip() == "[]"
