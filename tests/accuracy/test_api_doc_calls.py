"""docs/api.md's free-run calls, as written, against a real ``sledhub serve``: the bodies of its ``curl``
examples for ``POST /api/heats`` and ``POST /api/heats/go``, the GO signal at ``go_t_us + countdown_s``,
and a stored result with every field the doc's result table names (and no ``detail``)."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from tests.accuracy.emit import emit_lane
from tests.accuracy.rig import COUNTDOWN_S
from tests.accuracy.runner import Suite
from tests.accuracy.truth import lane_run

pytestmark = pytest.mark.broker
DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def curl_bodies() -> dict[str, dict]:
    """API path → the JSON body of its ``curl -s $W -d '…' $HUB/<path>`` example in docs/api.md."""
    lines = re.findall(r"^curl -s \$W -d '(\{.*\})' \$HUB(/api/\S+)$", DOC.read_text(encoding="utf-8"), re.M)
    return {path: json.loads(body) for body, path in lines}


def result_fields() -> set[str]:
    """The field names of docs/api.md's result table (first column)."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| field | meaning |"):text.index("A corrected result")]
    return {name for cell in re.findall(r"^\| ([^|]+) \|", table, re.M) for name in re.findall(r"`(\w+)`", cell)}


def test_the_free_run_calls_of_api_md_time_a_lane(tmp_path):
    bodies = curl_bodies()
    arm, go = bodies["/api/heats"], bodies["/api/heats/go"]
    station = arm["entries"][0]["station_id"]
    suite = Suite(tmp_path, 11, 1, ("none",), log=lambda *_: None, max_drift_ppm=0.0, max_delay_s=0.05)
    try:
        suite.start(calibrate=False)
        plan = next(p for p in suite.plans if p.case == "lane")
        as_written = json.loads(json.dumps(arm).replace(json.dumps(station), json.dumps(plan.id)))
        made = suite.api.call("POST", "/api/heats", as_written)
        assert {"station_id", "attempt_id", "heat_id"} <= set(made[0])
        answer = suite.api.call("POST", "/api/heats/go", json.loads(json.dumps(go).replace(json.dumps(station),
                                                                                            json.dumps(plan.id))))
        assert set(answer) == {"go_t_us", "station_ids"}
        go_signal_us = answer["go_t_us"] + int(COUNTDOWN_S * 1e6)      # api.md: go_t_us + countdown_s
        run = lane_run(random.Random(11), dnf=False)
        emit_lane(suite.sched, plan, run, go_signal_us)
        deadline = time.monotonic() + COUNTDOWN_S + run.expected.time_us / 1e6 + 10
        rows: list[dict] = []
        while not rows and time.monotonic() < deadline:
            rows = [r for r in suite.api.get("/api/results") if r["id"] == made[0]["attempt_id"]]
            time.sleep(0.2)
        assert rows, "no result stored for the attempt"
        row = rows[0]
        assert row["status"] == "OK"
        assert row["start_t_us"] == go_signal_us
        assert abs(row["finish_t_us"] - go_signal_us - run.expected.time_us) < 2_000
        missing = result_fields() - set(row) - {"correction", "original_time_s"}
        assert not missing and "detail" not in row, (missing, sorted(row))
    finally:
        suite.close()
