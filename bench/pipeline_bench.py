"""Replay a class load through the hub's pipeline in one process, on a virtual clock: CPU per message.

``make bench`` measures the whole system, which on a shared 2-core machine is noisy. This replay
isolates the hub's ingest path — ``Hub._on_message`` (protocol → router → engine, with the provisional
finish check) and its tickers (engine advance, results to SQLite, frames to the broadcaster) — so a
change to it can be measured in CPU seconds, a few % apart, before and after:

    .venv/bin/python -m bench.pipeline_bench                  # 20 s of the default class load
    cd /path/to/other/checkout && /path/to/.venv/bin/python -m bench.pipeline_bench   # the same on a change
    .venv/bin/python -m bench.pipeline_bench --profile        # and the top of cProfile
    .venv/bin/python -m bench.pipeline_bench --real-time      # the same work fed at its real pace

The messages are made once by the bench nodes (:mod:`bench.nodes`, same generator as ``make bench``)
with every station running back-to-back runs; the hub (built by ``create_app``, so with every
listener and ticker of the real one, but no MQTT link and no HTTP server) gets them with their
receipt times, arm and GO commands at their times, and a tick every ``TICK_S`` (40 ms) of virtual time, as its
pipeline thread would. The broadcaster has ``--clients`` clients that acknowledge every frame at
once; nothing is encoded or sent (the Socket.IO side is measured by ``make bench``).
"""

from __future__ import annotations

import argparse
import cProfile
from collections import Counter
import io
import itertools
import pstats
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dataclasses import replace

from bench.hubproc import seed_database
from bench.nodes import BenchNode, LaneNode, Records, SledNode, mono_us
from bench.plan import Plan
from server.app import create_app
from server.config import Config, StoreConfig
from server.hub.service import TICK_S, monotonic_us

TICK_US = round(TICK_S * 1e6)


class _Info:
    def __init__(self, mid: int):
        self.mid = mid
        self.rc = 0


class _Capture:
    """Stands in for a node's paho client: keeps what the node publishes, with the virtual time."""

    def __init__(self, ops: list[tuple], clock: list[int]):
        self.ops, self.clock, self.mid = ops, clock, 0

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> _Info:
        self.ops.append((self.clock[0], "msg", topic, payload))
        self.mid += 1
        return _Info(self.mid)

    def subscribe(self, *args: Any) -> None:
        pass


class _Connected:
    is_failure = False


def record(plan: Plan, seconds: float, seed: int = 3, runs: bool = True) -> list[tuple]:
    """``[(t_us, "msg", topic, payload) | (t_us, "arm" | "go", station_id)]`` in time order; without
    ``runs`` the stations stay idle (telemetry only, as in the saturation run)."""
    ops: list[tuple] = []
    t0 = mono_us()
    clock = [t0]
    rng = random.Random(seed)
    nodes: list[BenchNode] = []
    for sid in plan.station_ids:
        cls, kw = (SledNode, {"distance_m": plan.sled_distance_m}) if sid.startswith("sled") else \
            (LaneNode, {"length_m": plan.lane_length_m})
        node = cls(plan.node_of(sid), sid, ("127.0.0.1", 1), Records(), random.Random(rng.random()), **kw)
        node.client = _Capture(ops, clock)
        node._on_connect(node.client, None, None, _Connected(), None)
        nodes.append(node)
    next_arm = {n.station_id: t0 + rng.randrange(500_000, 2_500_000) if runs else None for n in nodes}
    run_k = {n.station_id: 0 for n in nodes}  # the next run's number per station
    countdown_us = round(plan.countdown_s * 1e6)
    t = t0
    while t < t0 + seconds * 1e6:
        clock[0] = t
        for node in nodes:
            sid = node.station_id
            if next_arm.get(sid) is not None and t >= next_arm[sid]:
                ops += [(t, "arm", sid), (t + 1000, "go", sid)]
                node.run(run_k[sid], t + 1000, t + 1000 + countdown_us)
                next_arm[sid] = None
            for station, _k in node.tick(t):
                run_k[station] += 1
                next_arm[station] = t + round(plan.rest_s * 1e6)
        t += 5000
    ops.sort(key=lambda op: op[0])
    return ops


class _Emitter:
    def __init__(self) -> None:
        self.emits = 0
        self.events: Counter = Counter()

    def emit(self, event: str, data: Any, to: str | None = None, callback: Any = None) -> None:
        self.emits += 1
        if to is None:
            self.events[event] += 1
        if callback is not None:
            callback()


def replay(ops: list[tuple], plan: Plan, clients: int) -> dict[str, Any]:
    """Feed ``ops`` to a fresh hub built by ``create_app`` (every listener and ticker the real one has,
    no MQTT, no HTTP); returns CPU seconds and counts."""
    with tempfile.TemporaryDirectory(prefix="sledhub-pipebench-") as tmp:
        db_path = Path(tmp) / "hub.db"
        seed_database(db_path, plan)
        clock = [ops[0][0]]
        config = replace(Config(), store=StoreConfig(path=str(db_path)))
        app = create_app(config, clock_us=lambda: clock[0], connect_mqtt=False)
        hub = app.hub
        emitter = _Emitter()
        hub.broadcaster._emitter = emitter  # clients that acknowledge every frame at once, nothing sent
        for i in range(clients):
            hub.broadcaster.client_joined(f"client{i}")
        msgs = 0
        next_tick = clock[0] + TICK_US
        cpu0 = time.process_time()
        for op in ops:
            while op[0] >= next_tick:
                clock[0] = next_tick
                hub.pipeline._tick()
                next_tick += TICK_US
            clock[0] = op[0]
            if op[1] == "msg":
                hub._on_message(op[2], op[3], op[0])
                msgs += 1
            elif op[1] == "arm":
                hub.arm([(op[2], "bench", None, None)])
            else:
                hub.go([op[2]])
        cpu = time.process_time() - cpu0
        health = hub.health()
        app.stop()
    return {"cpu_s": round(cpu, 3), "messages": msgs, "us_per_message": round(cpu / msgs * 1e6, 1),
            "emits": emitter.emits, "finish": emitter.events["finish"], "result": emitter.events["result"],
            "accepted": health["messages_accepted"], "late_events": health["late_events"],
            "pipeline_errors": hub.pipeline.errors,
            "progress_interval_ms": hub.engine.progress_interval_us / 1000}


def replay_real_time(ops: list[tuple], plan: Plan, clients: int) -> dict[str, Any]:
    """``ops`` fed to a fresh hub's own pipeline thread at their real pace: a feeder thread sleeps until
    each step of the recording, hands its messages over as one batch (as paho's thread does) and arms
    and GOs through the hub's calls. Returns the process's CPU (less the feeder's) per second of wall
    time: the same work as :func:`replay`, done as it comes instead of back to back."""
    with tempfile.TemporaryDirectory(prefix="sledhub-pipebench-") as tmp:
        db_path = Path(tmp) / "hub.db"
        seed_database(db_path, plan)
        shift = [0]
        config = replace(Config(), store=StoreConfig(path=str(db_path)))
        app = create_app(config, clock_us=lambda: monotonic_us() - shift[0], connect_mqtt=False)
        hub = app.hub
        emitter = _Emitter()
        hub.broadcaster._emitter = emitter
        for i in range(clients):
            hub.broadcaster.client_joined(f"client{i}")
        shift[0] = monotonic_us() - ops[0][0] + 200_000  # the recording starts 0.2 s from now
        hub.start()
        feeder_cpu = [0.0]

        def feed() -> None:
            t0 = time.thread_time()
            for t, group in itertools.groupby(ops, key=lambda op: op[0]):
                step = list(group)
                delay = (t + shift[0] - monotonic_us()) / 1e6
                if delay > 0:
                    time.sleep(delay)
                msgs = [(op[2], op[3]) for op in step if op[1] == "msg"]
                if msgs:
                    hub.submit_batch(msgs, monotonic_us() - shift[0])
                for op in step:
                    if op[1] == "arm":
                        hub.arm([(op[2], "bench", None, None)])
                    elif op[1] == "go":
                        hub.go([op[2]])
            feeder_cpu[0] = time.thread_time() - t0

        cpu0, wall0 = time.process_time(), time.monotonic()
        feeder = threading.Thread(target=feed, name="bench-feeder")
        feeder.start()
        feeder.join()
        deadline = time.monotonic() + 10.0
        while hub.pipeline.backlog and time.monotonic() < deadline:  # what the feeder handed over last
            time.sleep(0.01)
        if hub.pipeline.backlog:
            raise RuntimeError(f"the pipeline did not keep up: {hub.pipeline.backlog} items still queued")
        cpu, wall = time.process_time() - cpu0 - feeder_cpu[0], time.monotonic() - wall0
        health = hub.health()
        app.stop()
    return {"cpu_pct": round(100 * cpu / wall, 1), "wall_s": round(wall, 1),
            "messages": sum(1 for op in ops if op[1] == "msg"), "accepted": health["messages_accepted"],
            "finish": emitter.events["finish"], "pipeline_errors": hub.pipeline.errors}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pipeline_bench", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="virtual seconds of class load")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="print the top of cProfile (one more replay)")
    p.add_argument("--idle", action="store_true", help="no runs: telemetry to idle stations (the saturation case)")
    p.add_argument("--real-time", action="store_true",
                   help="feed the hub's pipeline thread at the recording's pace (CPU %% of a core as it comes)")
    args = p.parse_args(argv)
    plan = Plan()
    ops = record(plan, args.seconds, runs=not args.idle)
    n_msgs = sum(1 for op in ops if op[1] == "msg")
    print(f"{n_msgs} messages, {len(ops) - n_msgs} commands over {args.seconds:g} virtual seconds")
    if args.real_time:
        runs = [replay_real_time(ops, plan, args.clients) for _ in range(args.repeat)]
        for out in runs:
            print(out)
        print(f"real time: {min(r['cpu_pct'] for r in runs)}–{max(r['cpu_pct'] for r in runs)} % of a core")
        return 0
    best = None
    for _ in range(args.repeat):
        out = replay(ops, plan, args.clients)
        print(out)
        best = out if best is None or out["cpu_s"] < best["cpu_s"] else best
    print(f"best: {best['cpu_s']} s CPU for {args.seconds:g} s of class load = "
          f"{100 * best['cpu_s'] / args.seconds:.1f} % of a core, {best['us_per_message']} µs per message")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(replay, ops, plan, args.clients)
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
