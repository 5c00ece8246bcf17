"""Joins what the nodes published with what the clients received, on one clock (CLOCK_MONOTONIC).

- Finish latency: a ``finish`` event names its source message ``{node, seq}``; latency = client
  receipt − the node's publish of that message. A ``result`` is joined through its attempt id: the
  driver's run log gives ``(station, run)``, the node's record gives the message that carried the
  finish (a lane's finish-beam ``break`` event; a sled's ``tel`` batch holding the first wheel sample at
  or beyond the distance).
- Frame latency: for the sled station with the newest values in a frame, the newest wheel sample in
  it is known exactly: the frame's ``distance_m`` is that sample's position minus the run's rest
  position, so ``count = rest count + distance_m × 200``; latency = client receipt − the publish of
  the run's first wheel batch holding that count. (Frames at the very start of a run, within one
  count of rest, are ambiguous and left out.) Where that is not possible, the fallback is the batch
  holding the newest sample at or before the frame's ``t_us`` — the hub time of the newest sample the
  frame shows (before issue 15 the frames showed the engine's watermark state, and ``t_us`` was the
  watermark) — which assumes every sample arrived in time (see ``late events`` in the report).
- Frame rate per station: frames a client received carrying the station, per second of the spans in
  which it kept coming (a gap > 0.5 s ends a span, i.e. a run).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from typing import Any, Iterable

from bench.driver import RunLog
from bench.nodes import Records
from bench.plan import SLED_COUNTS_PER_M
from bench.sioclient import ClientRecords


def percentiles_ms(values_ns: Iterable[int]) -> dict[str, Any]:
    """``{p50, p99, max, n}`` in ms (nearest rank); ``None`` values when there is nothing to rank."""
    v = sorted(values_ns)
    if not v:
        return {"p50": None, "p99": None, "max": None, "n": 0}

    def rank(q: float) -> float:
        return round(v[max(0, math.ceil(q * len(v)) - 1)] / 1e6, 2)

    return {"p50": rank(0.50), "p99": rank(0.99), "max": round(v[-1] / 1e6, 2), "n": len(v)}


class Joined:
    """Indexes over the node records and the driver's run log, built once."""

    def __init__(self, nodes: list[Records], runs: list[RunLog] = ()):
        self.pub_ns: dict[tuple[str, int], int] = {}
        self.finish_msg: dict[tuple[str, int], tuple] = {}
        self.rest_counts: dict[tuple[str, int], int] = {}
        batches: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        wheel: dict[str, list[tuple]] = defaultdict(list)
        for rec in nodes:
            for station, node, seq, t_first, t_last, pub_ns in rec.tel:
                self.pub_ns[(node, seq)] = pub_ns
                batches[station].append((t_first, t_last, pub_ns))
            for _station, node, seq, _kind, _sensor, _t, pub_ns in rec.evt:
                self.pub_ns[(node, seq)] = pub_ns
            for station, t_first, c_first, c_last, pub_ns in rec.wheel:
                wheel[station].append((t_first, c_first, c_last, pub_ns))
            self.finish_msg.update(rec.finishes)
            self.rest_counts.update(rec.rest_counts)
        self.batches = {sid: sorted(b) for sid, b in batches.items()}
        self.starts = {sid: [b[0] for b in bs] for sid, bs in self.batches.items()}
        self.runs = {r.attempt_id: r for r in runs}
        self._run_wheel = self._index_runs(runs, {sid: sorted(b) for sid, b in wheel.items()})

    @staticmethod
    def _index_runs(runs: Iterable[RunLog], wheel: dict[str, list[tuple]]) -> dict[str, tuple[list, list]]:
        """Per attempt: the station's wheel batches from its GO command to the next run's, as
        ``([last count], [(first count, pub_ns)])`` — counts never fall within a run."""
        out: dict[str, tuple[list, list]] = {}
        by_station: dict[str, list[RunLog]] = defaultdict(list)
        for r in runs:
            by_station[r.station_id].append(r)
        for sid, rs in by_station.items():
            batches = wheel.get(sid, [])
            starts = [b[0] for b in batches]
            rs.sort(key=lambda r: r.go_cmd_us)
            for run, nxt in zip(rs, [*rs[1:], None]):
                lo = bisect.bisect_left(starts, run.go_cmd_us)
                hi = bisect.bisect_left(starts, nxt.go_cmd_us) if nxt else len(batches)
                part = batches[lo:hi]
                out[run.attempt_id] = ([b[2] for b in part], [(b[1], b[3]) for b in part])
        return out

    def frame_pub_ns(self, station_id: str, t_us: int, attempt_id: str | None, distance_m: float | None
                     ) -> tuple[int | None, bool]:
        """Publish time of the newest wheel sample shown by a frame; ``(ns, exact)``."""
        run = self.runs.get(attempt_id or "")
        rest = self.rest_counts.get((run.station_id, run.k)) if run else None
        index = self._run_wheel.get(attempt_id or "")
        if rest is not None and index is not None and distance_m is not None:
            count = rest + round(distance_m * SLED_COUNTS_PER_M)
            if count > rest + 1:
                i = bisect.bisect_left(index[0], count)
                if i < len(index[0]) and index[1][i][0] <= count:
                    return index[1][i][1], True
        return self.batch_pub_ns(station_id, t_us), False

    def batch_pub_ns(self, station_id: str, t_us: int) -> int | None:
        """Publish time of the batch holding the station's newest sample at or before ``t_us``."""
        starts = self.starts.get(station_id)
        if not starts:
            return None
        i = bisect.bisect_right(starts, t_us)
        candidates = self.batches[station_id][max(0, i - 2):i]
        if not candidates:
            return None
        best = max(candidates, key=lambda b: min(b[1], t_us))
        return best[2]


def finish_latencies(joined: Joined, clients: list[ClientRecords], runs: list[RunLog],
                     window: tuple[float, float]) -> dict[str, Any]:
    """Finish and result latencies; with the hub's ``rx_us``/``emit_us`` stamps in the finish event, the
    finish latency split into transport (publish → hub receipt), pipeline (→ emit) and fan-out (→ client)."""
    in_window = {r.attempt_id: r for r in runs if window[0] <= r.go_mono_s <= window[1]}
    finish_ns, result_ns = [], []
    parts: dict[str, list[int]] = defaultdict(list)
    unmatched = Counter()
    for c in clients:
        seen: set[str] = set()
        for attempt_id, _sid, node, seq, recv_ns, *stamps in c.finishes:
            if attempt_id not in in_window or attempt_id in seen:
                continue
            seen.add(attempt_id)
            pub = joined.pub_ns.get((node, seq))
            if pub is None:
                run = in_window[attempt_id]
                msg = joined.finish_msg.get((run.station_id, run.k))
                pub = msg[2] if msg else None
            if pub is None:
                unmatched["finish"] += 1
                continue
            finish_ns.append(recv_ns - pub)
            if len(stamps) == 2 and None not in stamps:
                rx_ns, emit_ns = stamps[0] * 1000, stamps[1] * 1000
                parts["transport"].append(rx_ns - pub)
                parts["pipeline"].append(emit_ns - rx_ns)
                parts["fan_out"].append(recv_ns - emit_ns)
        for attempt_id, _sid, _status, recv_ns in c.results:
            run = in_window.get(attempt_id)
            if run is None:
                continue
            msg = joined.finish_msg.get((run.station_id, run.k))
            if msg is None:
                unmatched["result"] += 1
            else:
                result_ns.append(recv_ns - msg[2])
    return {"finish": percentiles_ms(finish_ns), "result": percentiles_ms(result_ns),
            "finish_parts": {k: percentiles_ms(v) for k, v in parts.items()},
            "unmatched": dict(unmatched), "runs_in_window": len(in_window)}


def frame_latencies(joined: Joined, clients: list[ClientRecords], window_ns: tuple[int, int]) -> dict[str, Any]:
    """Newest sample's publish → client receipt; with the hub's ``now_us`` stamp in the frame, split into
    ``to_frame`` (publish → the hub made the frame: transport, pipeline, the wait for the frame's slot)
    and ``fan_out`` (frame made → client)."""
    exact, fallback, skipped = [], [], 0
    parts: dict[str, list[int]] = defaultdict(list)
    for c in clients:
        for recv_ns, sid, t_us, attempt_id, distance_m, *stamp in c.frames:
            if not window_ns[0] <= recv_ns <= window_ns[1]:
                continue
            pub, is_exact = joined.frame_pub_ns(sid, t_us, attempt_id, distance_m)
            if pub is None:
                skipped += 1
                continue
            (exact if is_exact else fallback).append(recv_ns - pub)
            if stamp and stamp[0] is not None:
                made_ns = stamp[0] * 1000
                parts["to_frame"].append(made_ns - pub)
                parts["fan_out"].append(recv_ns - made_ns)
    return {**percentiles_ms(exact + fallback), "exact": len(exact), "by_watermark": len(fallback),
            "by_watermark_p50": percentiles_ms(fallback)["p50"], "unmatched": skipped,
            "parts": {k: percentiles_ms(v) for k, v in parts.items()}}


def frame_rates(clients: list[ClientRecords]) -> dict[str, Any]:
    """Frames per second per station while it runs: per station the median over clients."""
    per_station: dict[str, list[float]] = defaultdict(list)
    frames_total = 0
    for c in clients:
        frames_total += c.events.get("frames", 0)
        for sid, (count, span_ns, _last) in c.station_frames.items():
            if span_ns > 0:
                per_station[sid].append(count / (span_ns / 1e9))
    medians = {sid: round(sorted(v)[len(v) // 2], 1) for sid, v in per_station.items() if v}
    if not medians:
        return {"min": None, "median": None, "by_station": {}, "frames_received": frames_total}
    ordered = sorted(medians.values())
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "by_station": medians,
            "frames_received": frames_total}


def result_summary(clients: list[ClientRecords], runs: list[RunLog]) -> dict[str, Any]:
    """Runs the driver started, and the results (by status) the first client received for them."""
    attempts = {r.attempt_id for r in runs}
    statuses: Counter = Counter()
    if clients:
        seen = {a: s for a, _sid, s, _t in clients[0].results}
        statuses.update(seen[a] for a in attempts if a in seen)
    events: Counter = Counter()
    for c in clients:
        events.update(c.events)
    return {"runs": len(runs), "results_by_status": dict(statuses), "missing_results": len(attempts) -
            sum(statuses.values()), "events_received": dict(events),
            "client_errors": sum(len(c.errors) for c in clients)}


def clock_errors(nodes: list[Records], hub_offsets: dict[str, int | None]) -> dict[str, Any]:
    """How far the hub's measured offset of each bench node is from the truth (µs): max and median."""
    errors = []
    for rec in nodes:
        for node, offset in rec.offsets.items():
            measured = hub_offsets.get(node)
            if measured is not None:
                errors.append(abs(measured + offset))
    if not errors:
        return {"max": None, "median": None, "nodes": 0}
    errors.sort()
    return {"max": errors[-1], "median": errors[len(errors) // 2], "nodes": len(errors)}


def probe_latencies(joined: Joined, probe: list[tuple[str, int, int]]) -> dict[str, Any]:
    """Node publish → a bare MQTT subscriber's receipt, for every ``evt``: the transport without the hub."""
    return percentiles_ms(recv_ns - joined.pub_ns[(node, seq)] for node, seq, recv_ns in probe
                          if (node, seq) in joined.pub_ns)
