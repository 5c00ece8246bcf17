import pytest

from server.config import Config, ConfigError, config_from_dict, load_config


def test_defaults_when_no_file():
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.http.port == 8080 and cfg.timing.frame_interval_ms == 40


def test_file_overrides(tmp_path):
    f = tmp_path / "hub.toml"
    f.write_text('[http]\nport = 9090\n[mqtt]\nhost = "10.0.0.2"\nport = 1884\n[timing]\nclock_ping_interval_s = 1\n')
    cfg = load_config(f)
    assert (cfg.http.port, cfg.mqtt.host, cfg.mqtt.port) == (9090, "10.0.0.2", 1884)
    assert cfg.timing.clock_ping_interval_s == 1.0


@pytest.mark.parametrize("data, message", [
    ({"htp": {}}, "unknown section [htp]"),
    ({"http": {"prot": 1}}, "unknown option 'prot'"),
    ({"http": {"port": "8080"}}, "http].port: expected int"),
    ({"http": {"port": 70000}}, "http.port must be 1..65535"),
    ({"mqtt": {"keepalive_s": True}}, "expected int"),
    ({"timing": {"lateness_ms": -1}}, "lateness_ms"),
    ({"mqtt": {"password_file": "/nonexistent/pw"}}, "does not exist"),
])
def test_broken_config_names_the_problem(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        config_from_dict(data, "hub.toml")


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[http\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
