"""Turn a ground-truth run into what the station's nodes send, at the moment each thing happens.

Times: ``go_us`` is the GO signal on the true clock (CLOCK_MONOTONIC µs, the hub's clock). Each edge
is handed to its node when it has happened (the scheduler fires at its true time); the node stamps it
with its own clock and its perturbation layer delays it. Telemetry is batched as docs/protocol.md
§5.4 says: a batch goes when it has 16 samples or its first sample is 50 ms old.
"""

from __future__ import annotations

from tests.accuracy.node import Scheduler, encoder_reading, load_cell_reading
from tests.accuracy.rig import StationPlan
from tests.accuracy.truth import LaneRun, SledRun

BATCH_N, BATCH_AGE_US = 16, 50_000


def _at(sched: Scheduler, true_us: float, fn) -> None:
    sched.at(true_us / 1e6, fn)


def emit_lane(sched: Scheduler, plan: StationPlan, run: LaneRun, go_us: int) -> None:
    for edge in run.edges:
        node, sensor = plan.roles[edge.role]
        t = go_us + edge.t_us
        _at(sched, t, lambda node=node, sensor=sensor, kind=edge.kind, t=t: node.event(sensor, kind, t))


def batches(rows: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Split time-ordered ``(t_us, x)`` rows into batches of ≤ 16 whose first sample is < 50 ms older
    than the last."""
    out: list[list[tuple[float, float]]] = []
    for row in rows:
        if out and len(out[-1]) < BATCH_N and row[0] - out[-1][0][0] < BATCH_AGE_US:
            out[-1].append(row)
        else:
            out.append([row])
    return out


def due_us(batch: list[tuple[float, float]]) -> float:
    """When a node sends the batch: at its 16th sample, or when its first sample is 50 ms old."""
    return batch[-1][0] if len(batch) == BATCH_N else batch[0][0] + BATCH_AGE_US


def emit_sled(sched: Scheduler, plan: StationPlan, run: SledRun, go_us: int, base_m: float,
              from_us: float) -> None:
    """Force at 80 Hz from ``from_us`` (µs after GO, negative = during the countdown) to the run's end and
    the encoder edges, on top of the wheel's position ``base_m`` left by earlier pulls."""
    lc_node, lc = plan.roles["force"]
    enc_node, enc = plan.roles["wheel"]
    step = run.forces[1][0] - run.forces[0][0]
    before = [(from_us + k * step, 0.0) for k in range(int(-from_us / step))] if from_us < 0 else []
    for batch in batches(before + run.forces):
        due = go_us + due_us(batch)

        def send_force(batch=batch, due=due):
            rows = [(go_us + t, *load_cell_reading(lc_node.sensors[lc], f)) for t, f in batch]
            lc_node.samples(lc, "force", rows, due)
        _at(sched, due, send_force)
    for batch in batches(run.edges):
        due = go_us + due_us(batch)

        def send_position(batch=batch, due=due):
            rows = [(go_us + t, *encoder_reading(enc_node.sensors[enc], base_m + x)) for t, x in batch]
            enc_node.samples(enc, "position", rows, due)
        _at(sched, due, send_position)
