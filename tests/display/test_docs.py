"""docs/display.md runs: its Python example passes as a doctest, and every JSON example has exactly the
fields of the real answer (envelope, rows, nested objects)."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

from tests.display.support import add_member, build_app, display_config, inject_result

DOC = Path(__file__).resolve().parents[2] / "docs" / "display.md"
FENCE = re.compile(r"^```json ([^\n]+)\n(.*?)^```", re.S | re.M)


def examples() -> dict[str, dict]:
    return {tag.strip(): json.loads(body) for tag, body in FENCE.findall(DOC.read_text(encoding="utf-8"))}


def shape(value):
    """The field names of ``value``, recursively (first item of lists)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def test_the_python_example_runs():
    failures, tried = doctest.testfile(str(DOC), module_relative=False)
    assert tried > 0 and failures == 0


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    app = build_app(display_config(tmp_path_factory.mktemp("docs")))
    app.hub.start()
    try:
        rocket = add_member(app, "Anna Kowalski", "Rocket")
        inject_result(app, "sled1", "Rocket", member_id=rocket, time_s=5.0, class_id="c1")
        inject_result(app, "sled1", "Rocket", member_id=rocket, time_s=4.5, class_id="c2")
        inject_result(app, "lane1", "Rocket", member_id=rocket, time_s=8.0, class_id="c2")
        inject_result(app, "lane1", "Moose", time_s=8.4, class_id="c2")  # a class station scores from two athletes
        client = app.flask.test_client()
        out = {f"board={b}": client.get(f"/api/leaderboards?board={b}{'&station=sled1' if b == 'station' else ''}")
               .get_json() for b in ("station", "class", "pbs", "records", "improved")}
        out["board-choice"] = client.get("/api/display/board").get_json()
        yield out
    finally:
        app.stop()


def test_every_json_example_has_the_fields_of_the_real_answer(answers):
    documented = examples()
    assert set(documented) == set(answers)
    for tag, example in documented.items():
        real = answers[tag]
        if "rows" in real:
            assert real["rows"], f"{tag}: the test data should fill this board"
        assert shape(example) == shape(real) if tag != "board-choice" else set(example) == set(real), tag
