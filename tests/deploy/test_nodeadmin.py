"""``sledhub node add``: names, the password file, the printed node config (no broker needed)."""

from __future__ import annotations

import stat
import tomllib

import pytest

from server.mqtt import nodeadmin
from server.mqtt.nodeadmin import NodeAdminError, NodeCredentials

@pytest.mark.parametrize("name", ["lane1", "sled-2", "A_b-9", "x" * 64])
def test_valid_node_names(name):
    assert nodeadmin.validate_node_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 65, "lane 1", "lane/1", "lane+", "lane#", "%u", "hub", "HUB", "monitor", "é"])
def test_invalid_or_reserved_node_names(name):
    with pytest.raises(NodeAdminError):
        nodeadmin.validate_node_name(name)


def test_generated_passwords_are_long_random_and_url_safe():
    passwords = {nodeadmin.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 32 and p.replace("-", "").replace("_", "").isalnum() for p in passwords)


def test_rendered_config_is_toml_with_node_and_mqtt_filled_in():
    creds = NodeCredentials("lane1", "lane1", 'tricky "pass\\word" é', "192.168.1.20", 1883)
    text = nodeadmin.render_node_config(creds)
    assert tomllib.loads(text) == {
        "node": {"id": "lane1"},
        "mqtt": {"host": "192.168.1.20", "port": 1883, "username": "lane1", "password": 'tricky "pass\\word" é'},
    }
    assert "# [[sensor]]" in text  # the example block stays commented out


def test_default_broker_host_is_an_address_or_mdns_name():
    host = nodeadmin.default_broker_host()
    assert host and not host.startswith("127.")


def test_add_node_creates_a_private_password_file_and_keeps_other_logins(tmp_path):
    passwd = tmp_path / "sledhub.passwd"
    first = nodeadmin.add_node("lane1", passwd, "hub.local")
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640
    assert first.password not in passwd.read_text()  # only the hash is stored
    nodeadmin.add_node("lane2", passwd, "hub.local")
    assert nodeadmin.passwd_file_users(passwd) == {"lane1", "lane2"}
    assert (first.username, first.broker_host, first.broker_port) == ("lane1", "hub.local", 1883)


def test_add_node_refuses_an_existing_node_unless_replacing(tmp_path):
    passwd = tmp_path / "sledhub.passwd"
    nodeadmin.add_node("lane1", passwd, "hub.local", password="first-password")
    before = passwd.read_text()
    with pytest.raises(NodeAdminError, match="--replace"):
        nodeadmin.add_node("lane1", passwd, "hub.local")
    assert passwd.read_text() == before
    nodeadmin.add_node("lane1", passwd, "hub.local", replace=True)
    assert passwd.read_text() != before
    assert nodeadmin.passwd_file_users(passwd) == {"lane1"}


def test_add_node_refuses_the_hub_and_a_bad_port_before_touching_the_file(tmp_path):
    passwd = tmp_path / "sledhub.passwd"
    with pytest.raises(NodeAdminError, match="reserved"):
        nodeadmin.add_node("hub", passwd, "hub.local")
    with pytest.raises(NodeAdminError, match="port"):
        nodeadmin.add_node("lane1", passwd, "hub.local", broker_port=70000)
    assert not passwd.exists()


def test_add_node_says_what_to_do_when_the_folder_is_missing(tmp_path):
    with pytest.raises(NodeAdminError, match="does not exist"):
        nodeadmin.add_node("lane1", tmp_path / "no-mosquitto" / "sledhub.passwd", "hub.local")


def test_main_node_add_prints_the_config_and_the_reload_hint(tmp_path, capsys):
    passwd = tmp_path / "sledhub.passwd"
    rc = nodeadmin.main_node_add(["lane3", "--passwd-file", str(passwd), "--broker-host", "hub.local", "--port", "1884"])
    out, err = capsys.readouterr()
    assert rc == 0
    config = tomllib.loads(out)
    assert config["node"] == {"id": "lane3"}
    assert {k: config["mqtt"][k] for k in ("host", "port", "username")} == {
        "host": "hub.local", "port": 1884, "username": "lane3"}
    assert "systemctl reload mosquitto" in err and len(err.strip().splitlines()) == 1
    assert nodeadmin.passwd_file_users(passwd) == {"lane3"}


def test_main_node_add_reports_errors_with_status_1(tmp_path, capsys):
    rc = nodeadmin.main_node_add(["bad name", "--passwd-file", str(tmp_path / "p"), "--broker-host", "h"])
    out, err = capsys.readouterr()
    assert (rc, out) == (1, "")
    assert err.startswith("sledhub node add: invalid node name")


def test_main_node_add_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        nodeadmin.main_node_add([])
    assert exc.value.code == 2


def test_rendered_config_is_accepted_by_the_bridge_with_and_without_the_example_sensor():
    from firmware_bridge.config import parse_config

    creds = NodeCredentials("lane1", "lane1", nodeadmin.generate_password(), "192.168.1.20", 1883)
    text = nodeadmin.render_node_config(creds)
    config = parse_config(tomllib.loads(text))
    assert (config.node_id, config.mqtt.username, config.mqtt.password) == ("lane1", "lane1", creds.password)
    assert (config.mqtt.host, config.mqtt.port) == ("192.168.1.20", 1883)

    start = text.index("# [[sensor]]")
    uncommented = text[:start] + "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    sensors = parse_config(tomllib.loads(uncommented)).sensors
    assert [(s.id, s.kind, s.pins) for s in sensors] == [("start", "beam", {"pin": 17})]
