"""Micro-benchmark of the hub's protocol gate: ``Protocol.handle`` messages per second on one core.

Three streams, each of ``--messages`` distinct messages built beforehand (as paho hands them over:
topic string, payload bytes, receipt time) from a node whose descriptor is known, so the whole path
runs — UTF-8 + JSON parse, validation, the descriptor check, dedupe:

- ``tel/16``: telemetry batches of 16 load-cell samples ``[t_us, force_n, raw]`` (about 520 bytes);
- ``evt``: beam events (about 100 bytes);
- ``garbage``: payloads that are rejected (bad JSON), to show that a noisy node cannot stall the hub.

Timed in process CPU time (other load on the machine does not count) and wall time; best of
``--repeat``. Target: >= 20,000 msgs/s for both ``tel/16`` and ``evt``.

Run:  .venv/bin/python bench/protocol_bench.py [--messages 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_bridge.wire import TOPIC_ROOT, encode  # noqa: E402  (compact JSON, as a node sends it)
from server.protocol import Protocol  # noqa: E402

NODE = "sled1"
BOOT = "3f9c2a71d04e8b65"
TOPIC = f"{TOPIC_ROOT}/{NODE}/"
DESC = {"v": 1, "node": NODE, "boot_id": BOOT, "fw": "sledhub-bridge 0.1.0", "sensors": [
    {"id": "lc1", "kind": "load_cell", "unit": "N", "rate_hz": 80, "wiring": {"dout": 5, "sck": 6}},
    {"id": "gate1", "kind": "beam", "unit": None, "rate_hz": None, "wiring": {"pin": 22}}]}


def telemetry(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    out, t = [], 1_234_567_890
    for seq in range(count):
        samples = []
        for _ in range(16):
            t += 12_500
            force = round(rng.uniform(20, 600), 3)
            samples.append([t, force, 8_000 + int(force * 104.2)])
        out.append((TOPIC + "tel", encode({"v": 1, "boot_id": BOOT, "seq": seq, "sensor": "lc1", "kind": "force",
                                           "samples": samples})))
    return out


def events(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    t = 1_234_567_890
    out = []
    for seq in range(count):
        t += rng.randrange(50_000, 2_000_000)
        out.append((TOPIC + "evt", encode({"v": 1, "boot_id": BOOT, "seq": seq, "sensor": "gate1",
                                           "kind": "break" if seq % 2 == 0 else "restore", "t_us": t})))
    return out


def garbage(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    return [(TOPIC + "evt", b'{"v":1,"boot_id":"' + bytes(rng.randrange(97, 123) for _ in range(40)))
            for _ in range(count)]


def run(messages: list[tuple[str, bytes]], repeat: int) -> tuple[float, float]:
    """Best (CPU, wall) msgs/s over ``repeat`` runs, each on a fresh Protocol that knows the node."""
    best_cpu = best_wall = 0.0
    for _ in range(repeat):
        proto = Protocol()
        proto.handle(TOPIC + "status", encode({"v": 1, "node": NODE, "state": "online", "boot_id": BOOT}), 0)
        proto.handle(TOPIC + "desc", encode(DESC), 0)
        handle = proto.handle
        c0, w0 = time.process_time(), time.perf_counter()
        for i, (topic, payload) in enumerate(messages):
            handle(topic, payload, i)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        stats = proto.stats()
        expected = stats["accepted"] - 2 if b"seq" in messages[0][1] else stats["rejected"]
        assert expected == len(messages), stats
        best_cpu = max(best_cpu, len(messages) / cpu)
        best_wall = max(best_wall, len(messages) / wall)
    return best_cpu, best_wall


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)  # the garbage stream would log one line per 10 s of rx time
    rng = random.Random(7)
    streams = {"tel/16": telemetry(args.messages, rng), "evt": events(args.messages, rng),
               "garbage": garbage(args.messages, rng)}
    print(f"Protocol.handle, {args.messages} messages per stream, best of {args.repeat} (Python "
          f"{sys.version.split()[0]})")
    for name, messages in streams.items():
        size = sum(len(p) for _, p in messages) / len(messages)
        cpu, wall = run(messages, args.repeat)
        print(f"  {name:8s} {size:6.0f} B/msg  {cpu:10,.0f} msgs/s (CPU)  {wall:10,.0f} msgs/s (wall)")


if __name__ == "__main__":
    main()
