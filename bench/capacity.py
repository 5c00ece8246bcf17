"""``python -m bench.capacity`` (the last part of ``make bench``): the largest load that still meets every target.

The class load of ``bench.run`` (sleds, lanes and Socket.IO clients in the proportions of a class:
16 : 8 : 50) is scaled by each factor in turn, each on a fresh broker and hub, with a short measured
window. For every scale the per-load targets are checked at the user's edge — finish publish → client
(p50, p99), newest sample → live frame on the client (p50, p99), frames per second per station, lost
events, hub RSS — and the report names the largest scale that met all of them, and for each target the
largest scale that met it. Ingest and start-up do not depend on the class load; ``bench.run`` measures them.

Writes ``bench/out/capacity.json`` and prints a table; docs/scaling.md quotes it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import analysis, report as reporting
from bench.plan import Plan
from bench.run import OUT_DIR, Bench, _say, machine_info

SCALES = (0.25, 0.5, 1.0, 1.5, 2.0)
"""Factors of the class load (16 sleds, 8 lanes, 50 clients)."""

TARGETS = {key: reporting.TARGETS[key] for key in reporting.LOAD_TARGETS}
"""The targets of bench/README.md and issue 15 that depend on the load."""


def scaled(base: Plan, factor: float, load_s: float) -> Plan:
    """``base`` with ``factor`` × its sleds, lanes and clients (at least one of each), ``load_s`` measured."""
    clients = max(1, round(base.clients * factor))
    return replace(base, sleds=max(1, round(base.sleds * factor)), lanes=max(1, round(base.lanes * factor)),
                   clients=clients, clients_per_process=min(base.clients_per_process, clients),
                   warmup_s=min(base.warmup_s, 3.0), load_s=load_s)


def met(report: dict[str, Any]) -> dict[str, bool | None]:
    """Per load target: met, missed, or None (not measured at this scale)."""
    return {k: v["met"] for k, v in reporting.check_targets(report, reporting.LOAD_TARGETS).items()}


class ClassLoadStep(Bench):
    """One scale: broker, hub, clients and nodes as in ``bench.run``, the class load and the event count,
    no raw baseline and no saturation."""

    def run_class(self) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.pinning.pin(os.getpid(), "world")
        self._with_hub(self._class_load, self._lost_events)
        return self._class_report()

    def _class_report(self) -> dict[str, Any]:
        m, plan = self.m, self.plan
        assert self.driver is not None and self.sampler is not None
        t0, t1 = m["window"]
        clients, runs = m["client_records"], self.driver.runs
        joined = analysis.Joined(m["node_records"], runs)
        fin = analysis.finish_latencies(joined, clients, runs, (t0, t1))
        hub = self.sampler.window(t0, t1).get("hub", {})
        report = {
            "sleds": plan.sleds, "lanes": plan.lanes, "clients": plan.clients,
            "clients_connected": m["clients_connected"],
            "finish_latency_ms": fin["finish"] if fin["finish"]["n"] else fin["result"],
            "frame_latency_ms": analysis.frame_latencies(joined, clients, (int(t0 * 1e9), int(t1 * 1e9))),
            "frames_per_s_per_station": analysis.frame_rates(clients)["min"],
            "lost_events": m["events"]["lost"],
            "hub_cpu_pct": hub.get("cpu_pct"),
            "hub_rss_mb": hub.get("rss_peak_mb"),
            "runs_in_window": fin["runs_in_window"],
        }
        report["met"] = met(report)
        return report


def largest(steps: list[dict[str, Any]], key: str | None = None) -> dict[str, Any] | None:
    """The largest scale (steps ascending) meeting every target (``key`` None) or target ``key``, with
    every smaller scale meeting it too (a load that passes only above a failing one is noise)."""
    best = None
    for step in steps:
        oks = step["met"].values() if key is None else [step["met"].get(key)]
        if all(ok is True for ok in oks):
            best = step
        else:
            break
    return None if best is None else {"factor": best["factor"], "sleds": best["sleds"], "lanes": best["lanes"],
                                      "clients": best["clients"]}


def summarise(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"all_targets": largest(steps), "per_target": {k: largest(steps, k) for k in TARGETS}}


def _fmt_load(cap: dict[str, Any] | None) -> str:
    if cap is None:
        return "none of the scales tried"
    return f"×{cap['factor']:g}: {cap['sleds']} sleds, {cap['lanes']} lanes, {cap['clients']} clients"


def _fmt_lat(d: dict[str, Any] | None) -> str:
    if not d or d.get("p50") is None:
        return "—"
    return f"{d['p50']:.1f}/{d['p99']:.1f}"


def table(report: dict[str, Any]) -> str:
    rows = ["scale | sleds | lanes | clients | finish ms p50/p99 | frame ms p50/p99 | frames/s | lost | "
            "hub CPU % | RSS MB | all met",
            "------+-------+-------+---------+-------------------+------------------+----------+------+"
            "-----------+--------+--------"]
    for s in report["steps"]:
        rows.append(f"×{s['factor']:<4g} | {s['sleds']:>5} | {s['lanes']:>5} | {s['clients_connected']:>7} | "
                    f"{_fmt_lat(s['finish_latency_ms']):>17} | {_fmt_lat(s['frame_latency_ms']):>16} | "
                    f"{s['frames_per_s_per_station'] or 0:>8.1f} | {s['lost_events']:>4} | "
                    f"{s['hub_cpu_pct'] or 0:>9.1f} | {s['hub_rss_mb'] or 0:>6.1f} | "
                    f"{'yes' if all(v is True for v in s['met'].values()) else 'no'}")
    cap = report["capacity"]
    rows.append("")
    rows.append(f"largest load meeting every target: {_fmt_load(cap['all_targets'])}")
    for key, c in cap["per_target"].items():
        op, limit = TARGETS[key]
        rows.append(f"  {key} {op} {limit:g}: up to {_fmt_load(c)}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n")[0])
    p.add_argument("--scales", type=lambda s: tuple(float(x) for x in s.split(",")), default=SCALES,
                   help="factors of the class load, ascending (default 0.25,0.5,1,1.5,2)")
    p.add_argument("--load-s", type=float, default=12.0, help="measured window per scale (s)")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--stop-after-misses", type=int, default=2,
                   help="stop after this many scales in a row missed every latency target")
    p.add_argument("--hub-src", type=Path, help="run the hub from this checkout (A/B a change, as bench.run)")
    args = p.parse_args(argv)
    started = time.monotonic()
    steps: list[dict[str, Any]] = []
    misses = 0
    for factor in sorted(args.scales):
        plan = scaled(Plan(), factor, args.load_s)
        _say(f"capacity: ×{factor:g} ({plan.sleds} sleds, {plan.lanes} lanes, {plan.clients} clients)")
        with tempfile.TemporaryDirectory(prefix="sledhub-capacity-") as tmp:
            step = ClassLoadStep(plan, args.out / "capacity", Path(tmp), hub_src=args.hub_src).run_class()
        step["factor"] = factor
        steps.append(step)
        latency = [v for k, v in step["met"].items() if "latency" in k]
        misses = misses + 1 if latency and all(v is False for v in latency) else 0
        if misses >= args.stop_after_misses:
            _say("  every latency target missed at two scales in a row: larger loads are not tried")
            break
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
              "command": "python -m bench.capacity " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": machine_info(), "targets": {k: f"{op} {v}" for k, (op, v) in TARGETS.items()},
              "steps": steps, "capacity": summarise(steps), "wall_s": round(time.monotonic() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "capacity.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(report))
    print(f"\nreport: {path}  ({report['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
