"""A fixed-seed slice of the end-to-end accuracy suite (``make accuracy`` runs ≥ 300 runs of it).

Real Mosquitto, real ``sledhub serve`` as a subprocess, five nodes written from docs/protocol.md with clock
offsets up to ±5 s and drift up to ±100 ppm, 0–200 ms random delay with reordering and 10 % duplicates,
one lane split across two nodes; heats through ``/api/heats`` and ``/api/heats/go``. Every run must have
exactly one result with the right status, and every time, split and reaction within 1 ms (1.5 ms for
fields rounded to the ms), force and power within 1 %.
"""

from __future__ import annotations

import pytest

from tests.accuracy.check import failed, table
from tests.accuracy.runner import run_suite

pytestmark = pytest.mark.broker

SLICE_SEED = 7
SLICE_RUNS = 12                     # 3 heats of one rig (2 lanes, 2 sleds)
SLICE_PERTURBATIONS = ("none", "stall", "none")


def test_fixed_seed_slice_is_exact(tmp_path):
    lines: list[str] = []
    outcomes = run_suite(tmp_path, SLICE_SEED, SLICE_RUNS, rigs=1, perturbations=SLICE_PERTURBATIONS,
                         log=lines.append)
    assert len(outcomes) == SLICE_RUNS
    bad = failed(outcomes)
    details = "\n".join(f"heat {o.cycle} {o.station_id} ({o.perturbation}): expected {o.expected}, got {o.got} "
                        f"x{o.copies}; {'; '.join(o.problems)}" for o in bad)
    assert not bad, "\n" + table(outcomes) + "\n" + details + "\n" + "\n".join(lines)
