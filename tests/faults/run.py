"""``make faults``: inject every fault of docs/reliability.md into a real hub, broker and nodes, and
print the table — fault, cases, results lost, doubled, wrong, time to recover, and (half-open row) the
slowest answer to another client while the fault was on. Exit status 1 if any result was lost, doubled
or wrong, or another client waited longer than ``ANSWER_WITHIN_MS``.

    python -m tests.faults.run [--quick] [--only NAME ...]

Needs root (the database lives on a small tmpfs that is filled up and remounted read-only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.faults import scenarios as sc

FULL = {
    "broker": lambda rig: [sc.broker_restart(rig, 3)],
    "kill": lambda rig: [sc.hub_kill(rig, 3)],
    "stall": lambda rig: [sc.hub_stalls(rig, (1.0, 2.0, 3.0, 4.0, 5.0))],
    "powercut": lambda rig: [sc.node_power_cut(rig, 3)],
    "partition": lambda rig: [sc.node_partition(rig, 3)],
    "store": sc.store_faults,
    "clients": lambda rig: [sc.many_clients(rig, 200)],
    "halfopen": lambda rig: [sc.half_open_http(rig, 1000)],
    "flood": lambda rig: [sc.api_flood(rig, 5)],
}
QUICK = {
    "broker": lambda rig: [sc.broker_restart(rig, 1)],
    "kill": lambda rig: [sc.hub_kill(rig, 1)],
    "stall": lambda rig: [sc.hub_stalls(rig, (1.0,))],
    "powercut": lambda rig: [sc.node_power_cut(rig, 1)],
    "partition": lambda rig: [sc.node_partition(rig, 1, partition_s=2.0)],
    "store": sc.store_faults,
    "clients": lambda rig: [sc.many_clients(rig, 50)],
    "halfopen": lambda rig: [sc.half_open_http(rig, 200)],
    "flood": lambda rig: [sc.api_flood(rig, 1)],
}


def table(rows: list[sc.Row]) -> str:
    """The table; ``answer_ms`` (the slowest answer to another client during the fault) where measured."""
    head = f"{'fault':<50} {'cases':>5} {'lost':>5} {'doubled':>7} {'wrong':>5} {'recover_s':>9} {'answer_ms':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        answer = "" if r.answer_ms is None else f"{r.answer_ms:.1f}"
        lines.append(f"{r.fault:<50} {r.cases:>5} {r.lost:>5} {r.doubled:>7} {r.wrong:>5} {r.recover_s:>9.2f} "
                     f"{answer:>9}")
    return "\n".join(lines)


def run(workdir: Path, plan: dict, only: list[str] | None = None) -> list[sc.Row]:
    rows: list[sc.Row] = []
    with sc.Rig(workdir) as rig:
        for name, fault in plan.items():
            if only and name not in only:
                continue
            rows += fault(rig)
        rows.append(rig.clock_row())
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one case per fault (what make test runs)")
    p.add_argument("--only", nargs="*", choices=sorted(FULL), help="run only these faults")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sledhub-faults-") as tmp:
        rows = run(Path(tmp), QUICK if args.quick else FULL, args.only)
    print(table(rows))
    for r in rows:
        for note in r.notes:
            print(f"  {r.fault}: {note}")
    slow = any(r.answer_ms is not None and r.answer_ms > sc.ANSWER_WITHIN_MS for r in rows)
    return 1 if slow or any(r.lost or r.doubled or r.wrong for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
