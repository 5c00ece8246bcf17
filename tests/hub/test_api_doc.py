"""docs/api.md lists exactly the ``config`` keys a station of each kind takes (``POST /api/setup/stations``)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from server.engine import LaneStationConfig, SledStationConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_keys(kind: str) -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    bullet = re.search(rf"^- \*\*{kind}\*\*: (.*?)(?=^- |^\S)", text, re.S | re.M)
    assert bullet, f"no '- **{kind}**:' list of config keys in docs/api.md"
    return set(re.findall(r"`([a-z_0-9]+)`\s+\(", bullet.group(1)))


def test_the_config_keys_in_api_md_are_the_engine_options():
    for kind, cls in (("sled", SledStationConfig), ("lane", LaneStationConfig)):
        options = {f.name for f in dataclasses.fields(cls)} - {"station_id"}
        assert documented_keys(kind) == options, kind


def test_a_lane_has_no_distance():
    assert "distance_m" not in documented_keys("lane")
