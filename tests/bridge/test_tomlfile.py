"""One TOML reader for the node's and the hub's config: the same words for the same broken file."""

from __future__ import annotations

import pytest

from firmware_bridge import config as node_config
from firmware_bridge.tomlfile import TomlFileError, read_toml
from server import config as hub_config


@pytest.mark.parametrize(("content", "reason"), [
    (None, "cannot read: config file not found"),
    (b"[node\n", "not valid TOML: "),
    (b"\xff\xfe = 1\n", "not valid TOML: "),
])
def test_node_and_hub_report_a_broken_file_alike(tmp_path, content, reason):
    path = tmp_path / "x.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TomlFileError) as shared:
        read_toml(path)
    assert shared.value.reason.startswith(reason) and str(shared.value).startswith(f"{path}: {reason}")
    with pytest.raises(node_config.ConfigError) as node:
        node_config.load_config(path)
    with pytest.raises(hub_config.ConfigError) as hub:
        hub_config.load_config(path)
    assert node.value.problems == [str(shared.value)]
    assert str(hub.value) == str(shared.value)


def test_a_good_file_is_parsed(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('[http]\nport = 8081\n', encoding="utf-8")
    assert read_toml(path) == {"http": {"port": 8081}}
    assert hub_config.load_config(path).http.port == 8081
