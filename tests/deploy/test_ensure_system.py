"""Every program that sledhub's code, benches and tests run is one that `scripts/ensure-system.sh`
checks for and installs: a fresh machine must pass `make test` with nothing skipped (a
`mosquitto_pub` the suite ran but nobody installed failed on a fresh Debian machine once)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENSURE = REPO / "scripts" / "ensure-system.sh"
SCANNED = ["server", "firmware_bridge", "bench", "tests", "scripts"]
# on every Debian machine that can run `make` at all (Essential packages, the Python we run under)
BASE_SYSTEM = {"bash", "sh", "cat", "dirname", "kill", "python3", "git", "make", "env", "true", "false"}
# installed into .venv by pyproject.toml's extras, not by ensure-system (`make bench-profile`)
FROM_PYPROJECT = {"py-spy"}
RUNNERS = {"run", "Popen", "check_output", "check_call", "call"}


def _literal_program(node: ast.expr) -> str | None:
    """The program of ``["prog", ...]`` or ``"prog"`` (a path's last part), if it is a literal."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        node = node.elts[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return Path(node.value.split()[0]).name
    return None


def programs_run_by(source: str) -> set[str]:
    """Programs a Python file starts through subprocess or looks up with ``shutil.which``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if (owner == "subprocess" and name in RUNNERS) or (owner == "shutil" and name == "which"):
            program = _literal_program(node.args[0])
            if program:
                found.add(program)
    return found


def known_programs() -> set[str]:
    listed = subprocess.run(["bash", str(ENSURE), "--list"], capture_output=True, text=True, check=True, timeout=30)
    return set(listed.stdout.split())


def test_the_scan_finds_what_it_must():
    source = 'import subprocess, shutil\nsubprocess.run(["mosquitto_pub", "-t"])\nshutil.which("shellcheck")\n'
    assert programs_run_by(source) == {"mosquitto_pub", "shellcheck"}


def test_every_program_the_code_runs_is_installed_by_ensure_system():
    used: dict[str, set[str]] = {}
    for folder in SCANNED:
        for path in (REPO / folder).rglob("*.py"):
            for program in programs_run_by(path.read_text()):
                used.setdefault(program, set()).add(str(path.relative_to(REPO)))
    known = known_programs()
    assert {"mosquitto", "mosquitto_pub", "chromium", "shellcheck", "systemd-analyze"} <= known
    unknown = {p: sorted(files) for p, files in used.items() if p not in known | BASE_SYSTEM | FROM_PYPROJECT}
    assert not unknown, f"add these to scripts/ensure-system.sh (program:package): {unknown}"


def test_every_known_program_is_here_after_make():
    """`make test` ran ensure-system first: each program it knows must now be on this machine."""
    missing = [p for p in known_programs()
               if subprocess.run(["bash", "-c", f"command -v {p} || test -x /usr/sbin/{p}"],
                                 capture_output=True, timeout=30).returncode]
    assert not missing, f"ensure-system did not install: {missing}"
