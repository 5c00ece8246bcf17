"""scripts/install-pi.sh, the kiosk launcher and the example config: lint, argument handling, and
that every file agrees with the others on paths. (The install itself changes the machine; it is
exercised by hand on a Pi, see docs/deploy.md.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from server.mqtt import nodeadmin
from tests.deploy.secured_broker import ACL, DROPIN, SHIPPED_ACL_FILE, SHIPPED_PASSWD_FILE, dropin_directives

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "install-pi.sh"
KIOSK = REPO / "deploy" / "kiosk" / "sledhub-kiosk"
AUTOSTART = REPO / "deploy" / "kiosk" / "labwc-autostart"
HUB_CONFIG = REPO / "deploy" / "sledhub.toml"
SCRIPTS = [INSTALL, KIOSK, REPO / "scripts" / "ensure-system.sh"]


@pytest.fixture
def harmless_path(tmp_path):
    """A PATH with only what argument parsing needs: should a bug let the installer go further, it
    finds no apt-get, useradd or install and stops instead of changing this machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def run_install(args: list[str], path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("bash"), str(INSTALL), *args], capture_output=True, text=True, timeout=30,
        env={"PATH": path, "HOME": os.environ.get("HOME", "/")},
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses_and_is_executable(script):
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script.read_text()
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)


def test_scripts_are_shellcheck_clean():
    done = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_install_help(harmless_path):
    done = run_install(["--help"], harmless_path)
    assert done.returncode == 0, done.stderr
    for flag in ("--hub", "--node", "--kiosk", "--node-config"):
        assert flag in done.stdout


@pytest.mark.parametrize("args, status, message", [
    ([], 2, "choose a role"),
    (["--hub", "--frobnicate"], 2, "unknown option"),
    (["--node-config"], 2, "Usage"),
    (["--kiosk", "--display-url", "ftp://x"], 1, "must start with http"),
    (["--node-config", "/nonexistent/lane1.toml"], 1, "cannot read node config"),
])
def test_install_refuses_bad_arguments_before_touching_anything(args, status, message, harmless_path):
    done = run_install(args, harmless_path)
    assert done.returncode == status, done.stderr
    assert message in done.stderr


def _install_constant(name: str) -> str:
    match = re.search(rf'^readonly {name}=("?)(.+?)\1$', INSTALL.read_text(), re.M)
    assert match, name
    return match.group(2)


def test_paths_agree_across_installer_dropin_units_and_nodeadmin():
    directives = dropin_directives(DROPIN.read_text())
    assert directives["password_file"] == [SHIPPED_PASSWD_FILE] == [_install_constant("MQTT_PASSWD_FILE")]
    assert directives["acl_file"] == [SHIPPED_ACL_FILE] == [_install_constant("MQTT_ACL_FILE")]
    assert str(nodeadmin.DEFAULT_PASSWD_FILE) == SHIPPED_PASSWD_FILE
    assert directives["listener"] == [str(nodeadmin.DEFAULT_BROKER_PORT)]
    assert directives["allow_anonymous"] == ["false"] and directives["persistence"] == ["true"]
    hub = tomllib.loads(HUB_CONFIG.read_text())
    conf_dir = _install_constant("CONF_DIR")
    assert hub["mqtt"]["password_file"] == _install_constant("HUB_PASSWORD_FILE").replace("$CONF_DIR", conf_dir)
    assert hub["http"]["secret_key_file"] == _install_constant("SECRET_KEY_FILE").replace("$CONF_DIR", conf_dir)
    assert hub["mqtt"]["port"] == nodeadmin.DEFAULT_BROKER_PORT
    assert hub["mqtt"]["username"] == "hub" and "user hub" in ACL.read_text().splitlines()
    for source in re.findall(r'"\$SRC_DIR/([^"]+)"', INSTALL.read_text()):
        if "$" not in source:
            assert (REPO / source).is_file(), source
    for unit in ("sledhub.service", "sledhub-bridge.service"):
        assert f"install_unit {unit}" in INSTALL.read_text()
        assert (REPO / "systemd" / unit).is_file()


def test_example_hub_config_loads_with_the_hub_config_loader(tmp_path):
    from server.config import config_from_dict

    data = tomllib.loads(HUB_CONFIG.read_text())
    assert data == {
        "http": {"host": "0.0.0.0", "port": 8080, "secret_key_file": "/etc/sledhub/secret-key"},
        "mqtt": {"host": "127.0.0.1", "port": 1883, "username": "hub", "password_file": "/etc/sledhub/mqtt-password"},
        "store": {"path": "/var/lib/sledhub/sledhub.db"},
    }
    password_file = tmp_path / "mqtt-password"  # the loader checks that the file exists
    password_file.write_text("secret\n")
    data["mqtt"]["password_file"] = str(password_file)
    config = config_from_dict(data, str(HUB_CONFIG))
    assert (config.mqtt.username, config.store.path) == ("hub", "/var/lib/sledhub/sledhub.db")


def test_labwc_autostart_starts_the_installed_kiosk_launcher():
    lines = [line for line in AUTOSTART.read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["/usr/local/bin/sledhub-kiosk http://localhost:8080/display &"]
    assert "/usr/local/bin/sledhub-kiosk" in INSTALL.read_text()
    assert "--kiosk" in KIOSK.read_text()


def test_the_hub_install_allows_the_receive_buffer_the_hubs_broker_socket_asks_for():
    """install-pi.sh --hub installs the sysctl drop-in whose rmem_max lets the hub's broker socket have its
    whole receive buffer (a frozen hub's backlog waits in its kernel: tests/accuracy/FINDINGS.md F19)."""
    from server.mqtt.buffered_socket import RECEIVE_BUFFER_BYTES
    dropin = REPO / "deploy" / "sysctl" / "60-sledhub.conf"
    values = {key.strip(): value.strip() for key, value in (line.split("=", 1) for line in
              dropin.read_text().splitlines() if line.strip() and not line.startswith("#"))}
    assert int(values["net.core.rmem_max"]) >= RECEIVE_BUFFER_BYTES
    assert '"$SRC_DIR/deploy/sysctl/60-sledhub.conf" "$SYSCTL_DROPIN"' in INSTALL.read_text()
    assert _install_constant("SYSCTL_DROPIN") == "/etc/sysctl.d/60-sledhub.conf"
