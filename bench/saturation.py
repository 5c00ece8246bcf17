"""Offered-load ramp: how many telemetry messages per second a consumer takes in at most.

The bench sleds publish telemetry at a paced rate for ``step_s``; the consumer (the raw subscriber, or
the hub as seen through ``/api/health``) is then polled until its count stops moving. A step's rate
is ``delivered / (done - start)``, where ``done`` is when the count reached its final value, so a
consumer that falls behind and works off a backlog is charged for the time it took. The rate goes up
by ``factor`` per step until the consumer takes > 20 % longer than the step or gets < 90 % of what
was sent (saturated) in two steps running (one stall of a shared machine does not end the ramp), or
the publishers cannot reach the offered rate. Overdriving a 2-core machine only starves the consumer,
so the ceiling is the best step, not the last.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import psutil

from bench.fleet import NodeFleet
from bench.nodes import mono_us

CountFn = Callable[[], tuple[int, int]]
"""``() -> (count so far, monotonic ns at which that count was true)``."""

POLL_S = 0.05
STILL_POLLS = 3


@dataclass
class Step:
    offered_per_s: int
    sent: int
    delivered: int
    seconds: float
    msgs_per_s: int
    consumer_cpu_pct: float | None = None
    """CPU of the consumer process over the step (% of one core): near 100 = it was CPU-bound."""


def settle(count: CountFn, timeout_s: float) -> tuple[int, int]:
    """Poll until the count has not moved for ``STILL_POLLS`` polls; ``(count, ns it got there)``."""
    deadline = time.monotonic() + timeout_s
    (last, since_ns), still = count(), 0
    while still < STILL_POLLS and time.monotonic() < deadline:
        time.sleep(POLL_S)
        n, t_ns = count()
        if n != last:
            last, since_ns, still = n, t_ns, 0
        else:
            still += 1
    return last, since_ns


def one_step(fleet: NodeFleet, count: CountFn, rate: float, step_s: float, drain_s: float,
             cpu_s: Callable[[], float] | None = None) -> Step:
    c0, _ = settle(count, drain_s)
    cpu0 = cpu_s() if cpu_s else 0.0
    start_us = mono_us() + 100_000
    per_process = rate / fleet.plan.node_processes
    fleet.broadcast(("blast", start_us, start_us + round(step_s * 1e6), per_process))
    replies = fleet.wait_all("blasted", step_s + 30)
    c1, done_ns = settle(count, drain_s)
    seconds = max(step_s, (done_ns - start_us * 1000) / 1e9)
    delivered = c1 - c0
    cpu = round((cpu_s() - cpu0) / seconds * 100, 1) if cpu_s else None  # includes the settle polls: approximate
    return Step(round(rate), sum(r[2] for r in replies), delivered, round(seconds, 3), round(delivered / seconds), cpu)


def ramp(fleet: NodeFleet, count: CountFn, step_s: float, start_rate: float, max_steps: int,
         factor: float, drain_s: float = 20.0, cpu_s: Callable[[], float] | None = None) -> dict[str, Any]:
    """Climb until saturated; returns the steps, the best rate and why the ramp stopped. ``cpu_s``
    gives the consumer process's CPU seconds so far (for its CPU use per step)."""
    steps: list[Step] = []
    rate, why, behind = start_rate, "max_steps", 0
    for _ in range(max_steps):
        step = one_step(fleet, count, rate, step_s, drain_s, cpu_s)
        steps.append(step)
        if step.sent < 0.9 * rate * step_s:
            why = "publishers"
            break
        behind = behind + 1 if step.delivered < 0.9 * step.sent or step.seconds > 1.2 * step_s else 0
        if behind == 2:
            why = "saturated"
            break
        rate *= factor
    return {"msgs_per_s": max(s.msgs_per_s for s in steps), "stopped_by": why,
            "steps": [asdict(s) for s in steps]}


def process_cpu_s(pid: int) -> Callable[[], float]:
    """CPU seconds (user + system) used so far by process ``pid``."""
    proc = psutil.Process(pid)

    def cpu() -> float:
        t = proc.cpu_times()
        return t.user + t.system
    return cpu
