"""A short soak of the demo (``make soak`` runs the long one): the demo process — hub and simulated
nodes in one process — keeps its memory flat while its class runs (issue 15: gpiozero's mock pins
used to grow it by ~1 MB/s)."""

from __future__ import annotations

import pytest

from bench.soak import run_soak

pytestmark = [pytest.mark.broker, pytest.mark.slow]

WARMUP_S = 20.0
MEASURED_S = 60.0
#: the leak grew the demo by ~60 MB a minute; after warm-up a healthy demo grows by 1–2 MB in this minute
MAX_GROWTH_MB = 8.0


def test_the_demo_keeps_its_memory_flat_for_a_minute(tmp_path):
    lines: list[str] = []
    report = run_soak(MEASURED_S, interval_s=2.0, warmup_s=WARMUP_S, workdir=tmp_path, log=lines.append)
    s = report["summary"]
    table = "\n".join(lines)
    assert report["exit_code"] == 0, f"the demo did not stop cleanly:\n{table}"
    assert s["measured_s"] >= MEASURED_S - 1
    assert s["messages_per_s"] > 10, f"the demo's nodes were not publishing:\n{table}"
    assert s["rss_growth_mb"] < MAX_GROWTH_MB, f"RSS grew {s['rss_growth_mb']} MB in {s['measured_s']} s:\n{table}"
    assert s["open_fds_max"] - s["open_fds_min"] <= 8, f"open files keep growing:\n{table}"
