"""The systemd units in systemd/: what the issue asks of them (always checked), and
``systemd-analyze verify`` on each (where systemd-analyze is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "systemd").glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "CapabilityBoundingSet": "",
}


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Parse a unit file into section -> key -> every value given (systemd allows repeated keys)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {raw!r} before any [Section]"
        assert "=" in line and not line.endswith("\\"), f"{path.name}: unexpected line {raw!r}"
        key, value = (part.strip() for part in line.split("=", 1))
        current.setdefault(key, []).append(value)
    return sections


def one(unit: dict, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}: expected one value, got {values}"
    return values[0]


def test_the_units_the_issue_asks_for_are_there():
    assert {p.name for p in UNITS} == {"sledhub.service", "sledhub-bridge.service"}


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_is_hardened_unprivileged_and_restarts(path):
    unit = read_unit(path)
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert one(unit, "Service", key) == value, key
    assert one(unit, "Service", "User") == "sledhub"
    assert "AmbientCapabilities" not in service or service["AmbientCapabilities"] == [""]
    assert one(unit, "Service", "Restart") in ("on-failure", "always")
    assert one(unit, "Service", "StateDirectory") == "sledhub"
    assert one(unit, "Service", "ConfigurationDirectory") == "sledhub"
    assert one(unit, "Service", "ExecStart").startswith("/opt/sledhub/venv/bin/")
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_hub_unit_runs_after_mosquitto_with_its_config():
    unit = read_unit(REPO / "systemd" / "sledhub.service")
    for key in ("After", "Wants"):
        assert "mosquitto.service" in " ".join(unit["Unit"][key]).split()
    assert one(unit, "Service", "ExecStart") == "/opt/sledhub/venv/bin/sledhub serve --config /etc/sledhub/sledhub.toml"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert one(unit, "Service", "PrivateDevices") == "yes"


def test_bridge_unit_gets_gpio_through_a_group_not_root():
    unit = read_unit(REPO / "systemd" / "sledhub-bridge.service")
    assert one(unit, "Service", "ExecStart") == "/opt/sledhub/venv/bin/sledhub-bridge --config /etc/sledhub/node.toml"
    assert one(unit, "Service", "SupplementaryGroups") == "gpio"
    assert "PrivateDevices" not in unit["Service"]  # it would hide /dev/gpiochip*
    assert one(unit, "Service", "DevicePolicy") == "closed"
    assert "char-gpiochip rw" in unit["Service"]["DeviceAllow"]
    # lgpio writes its notification pipes into the working directory: it must be writable.
    assert one(unit, "Service", "WorkingDirectory") == "/var/lib/sledhub"


def _system_unit_dir() -> Path | None:
    for candidate in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if (Path(candidate) / "sysinit.target").exists():
            return Path(candidate)
    return None


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify(path, tmp_path):
    """``systemd-analyze verify`` in a scratch root: this system's units, ours in /etc/systemd/system,
    and stand-ins for the programs the units start (verify checks they exist and are executable)."""
    root = tmp_path / "root"
    unit_dir = _system_unit_dir()
    assert unit_dir is not None, "no systemd unit directory (sysinit.target): scripts/ensure-system.sh installs systemd"
    shutil.copytree(unit_dir, root / "usr/lib/systemd/system", symlinks=True)
    (root / "lib").symlink_to("usr/lib")
    installed = root / "etc/systemd/system" / path.name
    installed.parent.mkdir(parents=True)
    shutil.copyfile(path, installed)
    for command in read_unit(path)["Service"]["ExecStart"]:
        program = root / command.lstrip("-@:+!").split()[0].lstrip("/")
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)

    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", str(installed)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
    )
    output = (done.stdout + done.stderr).strip()
    ours = [line for line in output.splitlines() if path.name in line]
    assert done.returncode == 0 and not ours, output
