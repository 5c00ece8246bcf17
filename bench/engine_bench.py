"""Micro-benchmark of the timing engine: events per second on one core for a realistic class mix.

A simulated class of ``--heats`` heats, each with ``--sleds`` reverse sled pulls (15 m, encoder
edges every 5 mm ≈ 300–400 Hz while moving, load cell at 80 Hz, sleds dragged back between heats)
and ``--lanes`` backward-shuffle lanes (start, two splits, finish; limb re-breaks). Telemetry arrives in
batches of 10 samples per sensor with 20–150 ms transport delay; the engine advances every 20 ms of hub time
(the hub's pipeline did until 2026-12-07; it ticks every 40 ms now). Only ``ingest``/``advance`` are timed
(events are built beforehand, as the hub's router builds them), in process CPU time so that other load on the
machine does not count.

Run:  .venv/bin/python bench/engine_bench.py [--heats 20] [--sleds 8] [--lanes 8] [--repeat 3]
(pin to one core with ``taskset -c 0`` if you like; the engine is single-threaded anyway).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.engine import (AttemptFinished, EngineEvent, LaneStationConfig,  # noqa: E402
                           SledStationConfig, TimingEngine)

HEAT_PERIOD_US = 20_000_000
TICK_US = 20_000
BATCH = 10            # telemetry: at most 10 samples ...
BATCH_SPAN_US = 50_000  # ... or 50 ms per message


def sled_events(sid: str, t_go_us: int, rng: random.Random) -> list[EngineEvent]:
    """One pull (accelerate to v_max, cruise) plus the drag back; encoder and load cell."""
    step_m, accel, v_max = 0.005, rng.uniform(1.5, 2.5), rng.uniform(1.4, 2.0)
    t_pull = t_go_us + rng.randrange(150_000, 350_000)
    out: list[EngineEvent] = []
    t_acc = v_max / accel
    x_acc = 0.5 * accel * t_acc ** 2
    k = 1
    while k * step_m <= 15.5:
        x = k * step_m
        t_s = math.sqrt(2 * x / accel) if x <= x_acc else t_acc + (x - x_acc) / v_max
        out.append(EngineEvent(sid, "wheel", "position", t_pull + round(t_s * 1e6), x, k))
        k += 1
    t_end = out[-1].t_us
    for j in range(1, k):  # dragged back to the start over 4 s, 2 s after the pull
        out.append(EngineEvent(sid, "wheel", "position", t_end + 1_000_000 + j * 3_000_000 // k,
                               (k - 1 - j) * step_m, k - 1 - j))
    f_t = t_go_us - 1_000_000
    while f_t < t_end + 6_000_000:
        rel = (f_t - t_pull) / 1e6
        f = 20.0 if rel < 0 or f_t > t_end else 450 + 150 * math.sin(2 * math.pi * 1.4 * rel)
        out.append(EngineEvent(sid, "force", "force", f_t, f + rng.uniform(-3, 3), None))
        f_t += 12_500
    return out


def lane_events(sid: str, t_go_us: int, rng: random.Random) -> list[EngineEvent]:
    out = [EngineEvent(sid, "start", "break", t_go_us - 3_700_000)]  # steps into the beam before GO
    t = t_go_us + rng.randrange(150_000, 300_000)
    out.append(EngineEvent(sid, "start", "restore", t))
    for role in ("split1", "split2", "finish"):
        t += rng.randrange(1_500_000, 2_500_000)
        out += [EngineEvent(sid, role, "break", t), EngineEvent(sid, role, "restore", t + 150_000),
                EngineEvent(sid, role, "break", t + 220_000), EngineEvent(sid, role, "restore", t + 260_000)]
    return out


def _messages(evs: list[EngineEvent], telemetry: bool) -> list[list[EngineEvent]]:
    """Beam events travel one per message; telemetry in batches (≤ BATCH samples, ≤ BATCH_SPAN_US)."""
    if not telemetry:
        return [[ev] for ev in evs]
    out: list[list[EngineEvent]] = []
    for ev in evs:
        if out and len(out[-1]) < BATCH and ev.t_us - out[-1][0].t_us < BATCH_SPAN_US:
            out[-1].append(ev)
        else:
            out.append([ev])
    return out


def build(heats: int, sleds: int, lanes: int, seed: int = 7):
    """Configs, the arrival schedule ``[(arrival_us, kind, payload)]`` and the event count."""
    rng = random.Random(seed)
    configs = [SledStationConfig(f"sled{i}", 15.0, split_distances_m=(5.0, 10.0)) for i in range(sleds)]
    configs += [LaneStationConfig(f"lane{i}", split_roles=("split1", "split2")) for i in range(lanes)]
    arrivals: list[tuple[int, int, object]] = []
    n_events = 0
    for h in range(heats):
        t_arm = 1_000_000 + h * HEAT_PERIOD_US
        ids = [c.station_id for c in configs]
        arrivals.append((t_arm, 0, ("arm", ids, {s: f"h{h}-{s}" for s in ids}, t_arm)))
        arrivals.append((t_arm + 200_000, 0, ("go", f"heat{h + 1}", t_arm + 200_000)))
        t_go = t_arm + 200_000 + 3_000_000
        for c in configs:
            evs = (sled_events if isinstance(c, SledStationConfig) else lane_events)(c.station_id, t_go, rng)
            by_role: dict[str, list[EngineEvent]] = {}
            for ev in evs:
                by_role.setdefault(ev.role, []).append(ev)
            for role, role_evs in by_role.items():
                role_evs.sort(key=lambda e: e.t_us)
                arrived = 0  # one node's messages arrive in order (one MQTT connection)
                for chunk in _messages(role_evs, role in ("force", "wheel")):
                    arrived = max(arrived, chunk[-1].t_us + rng.randrange(20_000, 150_000))
                    arrivals.append((arrived, 1, chunk))
            n_events += len(evs)
    arrivals.sort(key=lambda a: (a[0], a[1]))
    return configs, arrivals, n_events


def run_once(configs, arrivals) -> tuple[float, int]:
    engine = TimingEngine(lateness_us=300_000)
    for c in configs:
        engine.configure_station(c)
    finished = 0
    next_tick = arrivals[0][0]
    ingest = engine.ingest
    t0, w0 = time.process_time(), time.perf_counter()
    for at, kind, payload in arrivals:
        while next_tick <= at:
            finished += sum(1 for o in engine.advance(next_tick) if type(o) is AttemptFinished)
            next_tick += TICK_US
        if kind == 1:
            for ev in payload:  # type: ignore[union-attr]
                ingest(ev)
        elif payload[0] == "arm":  # type: ignore[index]
            _, ids, attempts, t = payload  # type: ignore[misc]
            engine.arm(ids, attempts, t)
        else:
            _, target, t = payload  # type: ignore[misc]
            engine.go(target, t)
    finished += sum(1 for o in engine.advance(next_tick + 120_000_000) if type(o) is AttemptFinished)
    elapsed, wall = time.process_time() - t0, time.perf_counter() - w0
    if engine.stats["late"] or engine.stats["duplicates"]:
        print(f"warning: unexpected engine stats {engine.stats}", file=sys.stderr)
    return elapsed, wall, finished


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--heats", type=int, default=20)
    p.add_argument("--sleds", type=int, default=8)
    p.add_argument("--lanes", type=int, default=8)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    configs, arrivals, n_events = build(args.heats, args.sleds, args.lanes)
    best = best_wall = math.inf
    for _ in range(args.repeat):
        elapsed, wall, finished = run_once(configs, arrivals)
        best, best_wall = min(best, elapsed), min(best_wall, wall)
    expected = args.heats * (args.sleds + args.lanes)
    print(f"events: {n_events}  attempts finished: {finished}/{expected}  "
          f"advance calls: {(arrivals[-1][0] - arrivals[0][0]) // TICK_US}")
    print(f"best of {args.repeat}: {best:.3f} s CPU → {n_events / best:,.0f} events/s on one core "
          f"(wall clock {best_wall:.3f} s → {n_events / best_wall:,.0f} events/s)")
    return 0 if finished == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
