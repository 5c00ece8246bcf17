"""A bench node process: hosts a share of the bench nodes and obeys the bench over a queue.

Commands (tuples on ``cmd_q``):

- ``("run", station, k, go_cmd_us, signal_us)``: the athlete at ``station`` performs run ``k``
  (GO command and GO signal on the hub clock);
- ``("idle",)``: stop the class load (health and pongs go on);
- ``("counts",)``: answer ``("counts", index, {node: {type: n}})`` on ``report_q``;
- ``("blast", start_us, end_us, rate_per_s)``: the sleds send telemetry at this rate (this process's
  share) from ``start_us`` to ``end_us``, then the process answers ``("blasted", index, sent,
  first_ns, last_ns)``; from the first blast on, the nodes send only health and pongs besides;
- ``("quit",)``: say offline, disconnect, write the :class:`~bench.nodes.Records` to ``out_path``.

Reports: ``("ready", index, ok)`` once every node is connected, ``("ran", station, k)`` when a run's
last message is out, ``("done", index)`` at the end.
"""

from __future__ import annotations

import pickle
import queue
import random
import time
from typing import Any

from bench.nodes import BenchNode, LaneNode, Records, SledNode, mono_us
from bench.plan import Plan

CONNECT_TIMEOUT_S = 15.0


def build_nodes(plan: Plan, index: int, broker: tuple[str, int], prefix: str, records: Records,
                seed: int) -> list[BenchNode]:
    rng = random.Random(seed)
    nodes: list[BenchNode] = []
    for sid in plan.stations_of_process(index):
        node_rng = random.Random(rng.random())
        if sid.startswith("sled"):
            nodes.append(SledNode(plan.node_of(sid, prefix), sid, broker, records, node_rng,
                                  distance_m=plan.sled_distance_m))
        else:
            nodes.append(LaneNode(plan.node_of(sid, prefix), sid, broker, records, node_rng,
                                  length_m=plan.lane_length_m))
    return nodes


def node_process(plan: Plan, index: int, broker: tuple[str, int], prefix: str, cmd_q: Any, report_q: Any,
                 out_path: str, seed: int, load: bool = True) -> None:
    """Process entry point (``multiprocessing`` spawn target)."""
    records = Records()
    nodes = build_nodes(plan, index, broker, prefix, records, seed)
    for node in nodes:
        node.start()
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    ok = all(node.connected.wait(max(0.0, deadline - time.monotonic())) for node in nodes)
    report_q.put(("ready", index, ok))
    try:
        _serve(nodes, cmd_q, report_q, index, load)
    finally:
        for node in nodes:
            if isinstance(node, SledNode):
                node.close_blast()
            node.stop()
        with open(out_path, "wb") as f:
            pickle.dump(records, f)
        report_q.put(("done", index))


def _serve(nodes: list[BenchNode], cmd_q: Any, report_q: Any, index: int, load: bool) -> None:
    by_station = {n.station_id: n for n in nodes}
    while True:
        while True:
            try:
                cmd = cmd_q.get_nowait()
            except queue.Empty:
                break
            if cmd[0] == "quit":
                return
            if cmd[0] == "run":
                by_station[cmd[1]].run(cmd[2], cmd[3], cmd[4])
            elif cmd[0] == "idle":
                load = False
            elif cmd[0] == "counts":
                report_q.put(("counts", index, {n.node_id: n.counts_now() for n in nodes}))
            elif cmd[0] == "blast":
                sent, first_ns, last_ns = blast([n for n in nodes if isinstance(n, SledNode)], *cmd[1:])
                report_q.put(("blasted", index, sent, first_ns, last_ns))
                load = False
        now = mono_us()
        for node in nodes:
            if load:
                for station, k in node.tick(now):
                    report_q.put(("ran", station, k))
            else:
                node.health(now)
        next_due = min((n.next_due_us() for n in nodes), default=now + 5000) if load else now + 5000
        time.sleep(min(max(0, next_due - mono_us()), 5000) / 1e6)


def blast(sleds: list[SledNode], start_us: int, end_us: int, rate_per_s: float) -> tuple[int, int, int]:
    """Telemetry from every sled, round robin, paced at ``rate_per_s`` from ``start_us`` to ``end_us``
    (wheel and force batches alternating); returns ``(sent, first_ns, last_ns)``."""
    for node in sleds:
        node.blast_client()
    while mono_us() < start_us:
        time.sleep(min(0.005, (start_us - mono_us()) / 1e6))
    sent, first_ns, wheel, i = 0, time.monotonic_ns(), True, 0
    if not sleds or rate_per_s <= 0:
        return 0, first_ns, first_ns
    t0 = mono_us()
    while True:
        now = mono_us()
        if now >= end_us:
            break
        due = min(int((now - t0) * rate_per_s / 1e6) - sent, 200)
        if due <= 0:
            for node in sleds:
                node.blast_client().flush()
            time.sleep(0.0005)
            continue
        for _ in range(due):
            node = sleds[i % len(sleds)]
            i += 1
            if i % len(sleds) == 0:
                wheel = not wheel
            before = node.blasted
            node.blast_one(wheel)
            sent += node.blasted - before
    for node in sleds:
        node.blast_client().flush()
    return sent, first_ns, time.monotonic_ns()
