"""What this machine charges for work done in short bursts: the same Python work, hot and spread out.

The hub does its work in bursts (a telemetry batch, a 40 ms tick) with the CPU idle between them. On
some machines (a shared VM whose idle vCPU loses its caches and clock to its neighbours) such work
costs several times its hot-loop CPU, so ``make bench``'s "hub CPU" and ``bench.pipeline_bench``'s
replay (the same messages back to back, on a virtual clock) differ by that factor. This measures it
without the hub: a fixed amount of dictionary work (a few MB working set, like the hub's) done in a
tight loop, then in units with a sleep after each, at the same total work::

    .venv/bin/python -m bench.duty_cycle     # pins itself to one CPU; run it on a quiet machine
"""

from __future__ import annotations

import argparse
import os
import random
import time


def _work(data: dict[int, list[float]], keys: list[int], rng: random.Random, n: int) -> float:
    s = 0.0
    for k in rng.sample(keys, n):
        s += sum(data[k])
    return s


def measure(total_lookups: int = 400_000, plan: tuple[tuple[int, float], ...] = ((100, 0.005), (400, 0.020),
                                                                              (1600, 0.080))) -> list[dict]:
    """CPU seconds for ``total_lookups`` done hot, then in units of ``n`` lookups each followed by a sleep
    of ``s`` seconds; rows ``{"unit", "sleep_ms", "cpu_s", "factor"}`` (factor: CPU over the hot CPU)."""
    rng = random.Random(1)
    data = {i: [rng.random() for _ in range(20)] for i in range(20_000)}
    keys = list(data)
    rows: list[dict] = []
    hot = None
    for n, sleep_s in ((1000, 0.0), *plan):
        c0 = time.process_time()
        for _ in range(total_lookups // n):
            _work(data, keys, rng, n)
            if sleep_s:
                time.sleep(sleep_s)
        cpu = time.process_time() - c0
        hot = hot or cpu
        rows.append({"unit": n, "sleep_ms": sleep_s * 1000, "cpu_s": round(cpu, 3), "factor": round(cpu / hot, 2)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.duty_cycle", description=__doc__.split("\n")[0])
    p.add_argument("--lookups", type=int, default=400_000, help="total work per row (dictionary lookups)")
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one CPU, as the bench pins the hub
    for row in measure(args.lookups):
        how = "hot loop" if not row["sleep_ms"] else f"units of {row['unit']}, {row['sleep_ms']:g} ms sleep after each"
        print(f"{how:40s} CPU {row['cpu_s']:6.3f} s  ×{row['factor']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
