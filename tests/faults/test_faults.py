"""The short slice of the fault suite that ``make test`` runs (``make faults`` runs every fault with
more cases and prints the table; docs/reliability.md). One rig — real broker, ``sledhub serve``, two
lane nodes — for all of them; each fault must lose, double and falsify nothing and recover, and all
the while each node's clock offset, polled, must lie within the error bound the hub gives for it."""

from __future__ import annotations

import pytest

from tests.faults import scenarios as sc
from tests.faults.run import table

pytestmark = [pytest.mark.broker]

SLICE = {
    "hub stall": lambda rig: [sc.hub_stalls(rig, (1.0,))],
    "broker restart": lambda rig: [sc.broker_restart(rig, 1)],
    "node partition": lambda rig: [sc.node_partition(rig, 1, partition_s=2.0)],
    "node power cut": lambda rig: [sc.node_power_cut(rig, 1)],
    "hub kill -9": lambda rig: [sc.hub_kill(rig, 1)],
    "store": sc.store_faults,
    "clients": lambda rig: [sc.many_clients(rig, 50)],
    "half-open": lambda rig: [sc.half_open_http(rig, 200)],
}


def test_faults_lose_double_and_falsify_nothing(tmp_path):
    rows: list[sc.Row] = []
    with sc.Rig(tmp_path) as rig:  # one rig for the slice: the hub and broker start once
        for fault in SLICE.values():
            rows += fault(rig)
        rows.append(rig.clock_row())
    shown = table(rows) + "".join(f"\n  {r.fault}: {note}" for r in rows for note in r.notes)
    for row in rows:
        assert row.cases > 0, shown
        assert (row.lost, row.doubled, row.wrong) == (0, 0, 0), shown
        assert row.recover_s < 30, shown
        assert row.answer_ms is None or row.answer_ms <= sc.ANSWER_WITHIN_MS, shown
