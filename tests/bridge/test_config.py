"""Node config: the examples load, defaults apply, and every kind of mistake is named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware_bridge.config import ConfigError, load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_bridge" / "examples"


def doc(*sensors, **node):
    return {"node": {"id": "n1", **node}, "mqtt": {"host": "hub"}, "sensor": list(sensors)}


BEAM = {"id": "start", "kind": "beam", "pin": 17}
CELL = {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, "scale_counts_per_n": 100.0, "offset_counts": 0}
WHEEL = {"id": "wheel", "kind": "encoder", "a": 20, "b": 21, "counts_per_m": 400.0}


def problems(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="node.toml")
    return "\n".join(info.value.problems)


@pytest.mark.parametrize("name", ["sled-node.toml", "lane-node.toml"])
def test_examples_are_valid(name):
    config = load_config(EXAMPLES / name)
    assert config.sensors and config.node_id in ("sled1", "lane1")


def test_defaults_are_filled_in(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text('[node]\nid = "n1"\n[outbox]\npath = "state/outbox.sqlite"\n[[sensor]]\nid = "s"\nkind = "beam"\npin = 4\n')
    config = load_config(path)
    assert config.mqtt.host == "localhost" and config.mqtt.port == 1883 and config.mqtt.keepalive_s == 15
    assert config.outbox.path == str(tmp_path / "state" / "outbox.sqlite")  # relative to the config file
    assert config.outbox.max_events == 10000 and config.batch_max_samples == 64
    assert config.sensors[0]["holdoff_s"] == 0.5 and config.sensors[0]["broken_level"] == "low"
    assert config.sensors[0].rate_hz is None


def test_load_cell_defaults_to_10_per_second():
    assert parse_config(doc(CELL)).sensors[0].rate_hz == 10


def test_pin_used_twice_names_both_sensors():
    text = problems(doc(BEAM, {**WHEEL, "a": 17}))
    assert "node.toml: [[sensor]] #2 'wheel': key 'a': GPIO17 is used twice (also [[sensor]] #1 'start' 'pin')" in text


def test_pin_used_twice_inside_a_dual_beam():
    assert "GPIO23 is used twice" in problems(doc({"id": "f", "kind": "dual_beam", "pins": [23, 23]}))


def test_unknown_kind():
    assert "[[sensor]] #1 'x': unknown kind 'laser'" in problems(doc({"id": "x", "kind": "laser", "pin": 4}))


def test_load_cell_without_calibration():
    cell = {k: v for k, v in CELL.items() if k not in ("scale_counts_per_n", "offset_counts")}
    text = problems(doc(cell))
    assert "'force': missing calibration value 'scale_counts_per_n'" in text
    assert "missing calibration value 'offset_counts'" in text
    assert "uncalibrated = true" in text


def test_load_cell_explicitly_uncalibrated_is_fine():
    cell = {"id": "force", "kind": "load_cell", "dout": 5, "sck": 6, "uncalibrated": True}
    assert parse_config(doc(cell)).sensors[0]["uncalibrated"] is True


def test_uncalibrated_conflicts_with_a_scale():
    assert "choose one" in problems(doc({**CELL, "uncalibrated": True}))


def test_encoder_without_counts_per_m():
    wheel = {k: v for k, v in WHEEL.items() if k != "counts_per_m"}
    assert "[[sensor]] #1 'wheel': missing key 'counts_per_m'" in problems(doc(wheel))


@pytest.mark.parametrize("bad_id", ["sled 1", "", "x" * 65, "näh"])
def test_id_pattern(bad_id):
    assert "[node]: key 'id'" in problems(doc(id=bad_id))
    assert "key 'id'" in problems(doc({**BEAM, "id": bad_id}))


def test_duplicate_sensor_id():
    assert "duplicate sensor id 'start'" in problems(doc(BEAM, {**BEAM, "pin": 4}))


def test_unknown_key_and_wrong_type():
    text = problems(doc({**BEAM, "holdof_s": 1, "pin": "17"}))
    assert "unknown key 'holdof_s'" in text
    assert "key 'pin' must be int, not '17'" in text


def test_value_ranges():
    text = problems(doc({**CELL, "rate_hz": 40, "gain": 16}, {**BEAM, "pin": 30}))
    assert "'rate_hz' must be 10 or 80" in text
    assert "'gain' must be 128, 64 or 32" in text
    assert "GPIO30 is not a BCM GPIO" in text


def test_missing_node_table_and_bad_toml(tmp_path):
    assert "missing table [node]" in problems({"sensor": []})
    path = tmp_path / "broken.toml"
    path.write_text("[node\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="missing.toml: cannot read"):
        load_config(tmp_path / "missing.toml")


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        parse_config(doc({"id": "x", "kind": "laser"}, {**WHEEL, "counts_per_m": -1}, id="bad id"))
    assert len(info.value.problems) == 3


def test_the_broker_username_must_be_the_node_id():
    """The hub's broker makes the username the client id and allows publishing only under it."""
    text = problems({"node": {"id": "n1"}, "mqtt": {"host": "hub", "username": "n2"}, "sensor": [BEAM]})
    assert "[mqtt]: key 'username' 'n2' must equal [node] id 'n1'" in text
    parse_config({"node": {"id": "n1"}, "mqtt": {"host": "hub", "username": "n1"}, "sensor": [BEAM]}, source="x")
