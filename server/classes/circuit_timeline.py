"""The class timeline a circuit makes for a number of members (pure): the builder's preview.

It deals ``members`` placeholder members into pods and lays out the rounds with the real rotation
(:mod:`server.classes.rotation`), so the preview is the plan a class would get, then puts the class
clock on it (:mod:`server.classes.session`): every heat is a WORK interval of ``countdown_s + work_s``
seconds followed by a rest of ``rest_s`` seconds, except the last heat of the class (the class is done
then). A WORK interval ends early once every station has its result, so the times are the longest the
class can take (plus the pauses the instructor makes, and the GO taps when ``auto_go`` is off).

>>> from server.classes.circuits import Circuit, CircuitStation
>>> c = Circuit("Warm-up", (CircuitStation("Pull", "sled", ("sled1", "sled2"), 15.0),
...                         CircuitStation("Shuffle", "lane", ("lane1",), 20.0)), rounds=2, work_s=20, rest_s=20)
>>> t = timeline(c, members=6)
>>> [len(r["heats"]) for r in t["rounds"]], t["total_s"]
([3, 3], 238.0)
"""

from __future__ import annotations

from typing import Any

from server.classes.circuits import Circuit
from server.classes.rotation import build_plan, make_pods, station_index

DEFAULT_PREVIEW_MEMBERS = 12
"""The class size the builder previews when it is not told one (a typical warm-up group)."""
MAX_PREVIEW_MEMBERS = 60


def timeline(circuit: Circuit, members: int = DEFAULT_PREVIEW_MEMBERS) -> dict[str, Any]:
    """The class laid out for ``members`` members: rounds → heats with their start, work and rest (s).

    Returns ``{"members", "pods": [pod sizes], "heat_count", "work_total_s", "total_s",
    "rounds": [{"round_no", "pod_stations", "heats": [{"heat_no", "start_s", "work_s", "rest_s", "runners"}]}]}``;
    ``pod_stations[p]`` is the circuit station (0-based) pod ``p`` stands at that round; ``work_s`` of
    a heat includes the countdown; ``runners`` is how many members run in it.
    """
    layout = [list(cs.station_ids) for cs in circuit.stations]
    pods = make_pods([f"m{i}" for i in range(members)], circuit.pod_count)
    plan = build_plan(pods, layout, circuit.rounds, circuit.rotation_move)
    heat_work_s = circuit.countdown_s + circuit.work_s
    flat = [(r, h, heat) for r, rnd in enumerate(plan, 1) for h, heat in enumerate(rnd, 1)]
    rounds: list[dict[str, Any]] = [
        {"round_no": r, "heats": [], "pod_stations": [station_index(p, r, len(layout), circuit.rotation_move)
                                                      for p in range(len(pods))]}
        for r in range(1, len(plan) + 1)]
    clock_s = 0.0
    for i, (r, h, heat) in enumerate(flat):
        rest_s = circuit.rest_s if i < len(flat) - 1 else 0.0
        rounds[r - 1]["heats"].append({"heat_no": h, "start_s": clock_s, "work_s": heat_work_s, "rest_s": rest_s,
                                       "runners": len(heat.entries)})
        clock_s += heat_work_s + rest_s
    return {"members": members, "pods": [len(p) for p in pods], "heat_count": len(flat),
            "work_total_s": heat_work_s * len(flat), "total_s": clock_s, "rounds": rounds}
