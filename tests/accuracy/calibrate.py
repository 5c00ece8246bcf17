"""Calibrate every sled's sensors through ``/api/setup`` as docs/wiring.md ("After wiring") says, with the
nodes starting uncalibrated, so every later force and position depends on what the hub computed.

- **Wheel**: nudge the sled 1 count forward and back (a reading before *Start*), ``start``, pull 10.000 m
  (one edge per 5 mm, 0–200 ms delays and duplicates as always), ``finish`` with ``distance_m`` 10. The
  hub must send ``calibrate`` ``counts_per_m`` 200 and ``invert`` true exactly for the wheel wired the
  other way round. Then the sled is pulled back to its start (0 m), as the doc says.
- **Load cell**: ``measure`` with nothing on the harness (0 N at 80 Hz), ``measure`` with a 20 kg weight
  hanging (196.133 N), ``skip`` the second weight. The hub must send the cell's true ``offset_counts`` and
  ``scale_counts_per_n`` (within the rounding of the raw counts).

Both wizards must end ``DONE``; :func:`calibrate_sleds` returns what each node now runs with.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from tests.accuracy.emit import batches, due_us
from tests.accuracy.harness import Api
from tests.accuracy.node import Scheduler, encoder_reading, hub_clock_us, load_cell_reading
from tests.accuracy.rig import StationPlan

G_M_S2 = 9.80665
WEIGHT_KG = 20.0
PULL_M, STEP_M, PULL_S = 10.0, 0.005, 4.0


def _wizard(api: Api, node_id: str, sensor_id: str) -> str:
    return api.call("POST", "/api/setup/wizards", {"node_id": node_id, "sensor_id": sensor_id})["id"]


def _act(api: Api, wid: str, action: str, **params: Any) -> dict[str, Any]:
    return api.call("POST", f"/api/setup/wizards/{wid}/actions", {"action": action, **params})


def _wait(pred: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


def _send(sched: Scheduler, plan: StationPlan, role: str, kind: str, rows: list[tuple[float, float]],
          reading) -> float:
    """Send ``(true µs, value)`` rows of ``role``'s sensor as the node would, each batch when it is due
    (``reading(sensor, value)`` gives the sample's value and raw count); returns when the last is due (s)."""
    node, sensor = plan.roles[role]
    for batch in batches(rows):
        due = due_us(batch)

        def send(batch=batch, due=due):
            node.samples(sensor, kind, [(t, *reading(node.sensors[sensor], v)) for t, v in batch], due)
        sched.at(due / 1e6, send)
    return due_us(batches(rows)[-1]) / 1e6


def _positions(sched: Scheduler, plan: StationPlan, rows: list[tuple[float, float]]) -> float:
    """Encoder samples ``(true µs, position m)``."""
    return _send(sched, plan, "wheel", "position", rows, encoder_reading)


def _force(sched: Scheduler, plan: StationPlan, force_n: float, seconds: float) -> float:
    """A steady ``force_n`` on the load cell for ``seconds`` at 80 Hz, from 20 ms from now."""
    t0 = hub_clock_us() + 20_000
    return _send(sched, plan, "force", "force", [(t0 + k * 12_500, force_n) for k in range(int(seconds * 80))],
                 load_cell_reading)


def _sleep_until(t_s: float) -> None:
    time.sleep(max(0.0, t_s - time.monotonic()))


def _done(api: Api, wid: str) -> dict[str, Any]:
    view = _wait(lambda: (v := api.get(f"/api/setup/wizards/{wid}"))["ended"] and v, 15, f"wizard {wid} to end")
    if view["state"] != "DONE":
        raise RuntimeError(f"wizard {wid} ended {view['state']}: {view.get('problem')}")
    return view


def calibrate_wheel(api: Api, sched: Scheduler, plan: StationPlan) -> dict[str, Any]:
    node, enc = plan.roles["wheel"]
    t0 = hub_clock_us() + 20_000
    _sleep_until(_positions(sched, plan, [(t0, STEP_M), (t0 + 200_000, 0.0)]) + 0.5)   # the nudge
    wid = _wizard(api, node.node_id, enc)
    _act(api, wid, "start")
    t1 = hub_clock_us() + 100_000
    n = int(round(PULL_M / STEP_M))
    rows = [(t1 + PULL_S * 1e6 * (k / n) ** 0.8, k * STEP_M) for k in range(1, n + 1)]
    _sleep_until(_positions(sched, plan, rows) + 0.5)
    _act(api, wid, "finish", distance_m=PULL_M)
    result = _done(api, wid)["result"]
    # "Then pull the sled back to its start line" (docs/wiring.md): the wheel reports it, newly calibrated
    t2 = hub_clock_us() + 100_000
    back = [(t2 + PULL_S * 1e6 * k / n, PULL_M - k * STEP_M) for k in range(1, n + 1)]
    _sleep_until(_positions(sched, plan, back) + 0.5)
    return result


def calibrate_load_cell(api: Api, sched: Scheduler, plan: StationPlan) -> dict[str, Any]:
    node, lc = plan.roles["force"]
    wid = _wizard(api, node.node_id, lc)
    for force_n, params in ((0.0, {}), (WEIGHT_KG * G_M_S2, {"mass_kg": WEIGHT_KG})):
        _sleep_until(_force(sched, plan, force_n, 0.5) + 0.3)       # a live reading first
        _act(api, wid, "measure", **params)
        _sleep_until(_force(sched, plan, force_n, 0.6) + 0.4)       # 48 readings (16 needed)
        _wait(lambda: api.get(f"/api/setup/wizards/{wid}")["state"] not in ("ZEROING", "WEIGHING"), 10,
              "the load cell measurement")
    _act(api, wid, "skip")
    return _done(api, wid)["result"]


def calibrate_sleds(api: Api, sched: Scheduler, plans: list[StationPlan]) -> dict[str, dict[str, Any]]:
    """Calibrate the wheel and the load cell of every sled, one after the other; ``{station: results}``."""
    out = {}
    for plan in plans:
        if plan.kind == "sled":
            out[plan.id] = {"wheel": calibrate_wheel(api, sched, plan), "force": calibrate_load_cell(api, sched, plan)}
    return out
