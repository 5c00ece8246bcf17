"""The hub process's tuning (switch interval, malloc arenas and mmap threshold) applies in its own
interpreter only."""

import json
import subprocess
import sys

from server.process_tuning import MALLOC_ARENAS, MALLOC_MMAP_THRESHOLD, SWITCH_INTERVAL_S


def test_tune_process_sets_the_switch_interval_and_the_arenas():
    code = ("import json, sys; from server.process_tuning import tune_process; a = tune_process(); "
            "print(json.dumps({'applied': a, 'interval': sys.getswitchinterval()}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    got = json.loads(out.stdout)
    assert got["interval"] == SWITCH_INTERVAL_S
    if sys.platform.startswith("linux"):  # glibc on Debian / Raspberry Pi OS
        assert got["applied"]["malloc_arenas"] == MALLOC_ARENAS
        assert got["applied"]["malloc_mmap_threshold"] == MALLOC_MMAP_THRESHOLD


def test_the_tuned_hub_builds_without_loading_http_client_libraries(tmp_path):
    code = ("import json, sys; from server.process_tuning import tune_process; tune_process(); "
            "from server.app import create_app; from server.config import Config, StoreConfig; "
            "from dataclasses import replace; "
            f"app = create_app(replace(Config(), store=StoreConfig(path={str(tmp_path / 'h.db')!r})), connect_mqtt=False); "
            "app.stop(); print(json.dumps([m for m in ('requests', 'websocket', 'urllib3') "
            "if sys.modules.get(m) is not None]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_importing_the_hub_tunes_nothing():
    """No import-time side effects: a fresh interpreter that imports the hub and its command line keeps
    Python's switch interval and can still import the client libraries (only ``tune_process`` hides them)."""
    code = ("import sys; default = sys.getswitchinterval(); import server.app, server.cli, server.process_tuning; "
            "print(sys.getswitchinterval() == default, all(sys.modules.get(m, 0) is not None "
            "for m in server.process_tuning.UNUSED_CLIENT_MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["True", "True"]
