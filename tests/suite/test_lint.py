"""ruff and mypy, as configured in pyproject.toml, are clean: `make test` fails on any finding.

Both come from the test extra (pip, the .venv), so they run as ``python -m`` of this interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout_s)


def test_ruff_finds_nothing():
    out = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout_s=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_ruff_would_report_a_violation(tmp_path):
    """The check can fail: the same configuration flags an unused import and an over-long line."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n" + "x = '" + "y" * 130 + "'\n")
    out = _run("ruff", "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), "--output-format", "concise",
               str(bad), timeout_s=120)
    assert out.returncode == 1 and "F401" in out.stdout and "E501" in out.stdout


@pytest.mark.slow
def test_mypy_finds_nothing(tmp_path):
    """Strict on server.engine, server.protocol and firmware_bridge; the rest of server/ and bench/ normal."""
    out = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"), timeout_s=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


@pytest.mark.slow
def test_mypy_is_strict_on_the_engine(tmp_path):
    """The check can fail: an unannotated function in the engine's package is an error there."""
    package = tmp_path / "server" / "engine"
    package.mkdir(parents=True)
    (tmp_path / "server" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text("def untyped(x):\n    return x\n")
    out = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
                          "--cache-dir", str(tmp_path / "cache"), "-p", "server.engine"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 1 and "no-untyped-def" in out.stdout, out.stdout + out.stderr
