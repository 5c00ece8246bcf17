"""Smoke test of ``make bench`` at a tiny scale: every phase runs against a real Mosquitto and a real
hub process, and the report has every key with plausible values (no targets are checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker

REQUIRED = ("raw_ceiling_msgs_per_s", "ingest_msgs_per_s", "ingest_ratio", "finish_latency_ms", "frame_latency_ms",
            "frames_per_s_per_station", "clients", "lost_events", "hub_cpu_pct", "hub_rss_mb", "startup_s", "targets")


REPO = Path(__file__).resolve().parents[2]


def test_tiny_bench_writes_a_complete_report(tmp_path):
    # its own process, as `make bench` runs it: the bench's process pools leave nothing behind in pytest's
    done = subprocess.run([sys.executable, "-m", "bench.run", "--tiny", "--out", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]

    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert all(key in report for key in REQUIRED)
    for key in ("finish_latency_ms", "frame_latency_ms"):
        assert {"p50", "p99", "max"} <= set(report[key])
    assert report["clients"] == 3
    assert report["raw_ceiling_msgs_per_s"] > 0 and report["ingest_msgs_per_s"] > 0
    assert 0 < report["startup_s"] < 30 and report["hub_rss_mb"] > 0
    assert report["finish_latency_ms"]["n"] > 0 and report["frame_latency_ms"]["n"] > 0
    assert report["frames_per_s_per_station"] > 0
    assert report["lost_events"] == 0
    runs = report["details"]["runs"]
    assert runs["runs"] > 0 and runs["missing_results"] == 0 and runs["client_errors"] == 0
    assert "ingest ratio" in done.stdout
