"""Circuit templates the builder offers (pure): warm-ups dosed as coaches dose backward work.

Grounding (docs/instructor.md, "Templates"): a backward warm-up is **2–4 minutes** of work in
**15–30 s intervals**, two to four of them for beginners ("a little goes a long way"); progress by
lengthening the intervals, then adding intervals. Each template is a circuit draft made from the gym's
own stations (every sled side by side as one reverse-pull station, every lane side by side as one
backward-shuffle station), so it passes :func:`~server.classes.circuits.parse_circuit` as it is; the
coach names it, edits it and saves it.

Distances fit the interval: a reverse pull of 10 m takes a beginner about 8–12 s, so a 15 s interval
gets 10 m sleds and a 20–30 s interval 12–15 m; a backward shuffle of 20 m takes 6–10 s.

>>> [t["key"] for t in templates([{"id": "s1", "kind": "sled"}, {"id": "l1", "kind": "lane"}])]
['first-timers', 'beginner', 'progression']
>>> t = templates([{"id": "s1", "kind": "sled"}])[0]["circuit"]
>>> t["rounds"] * t["work_s"], [s["station_ids"] for s in t["stations"]]
(60, [['s1']])
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

TEMPLATES: tuple[dict[str, Any], ...] = (
    {"key": "first-timers", "title": "First-timers: 4 × 15 s",
     "why": "1 minute of backward work in four 15 s efforts with long rests: a first taste.",
     "work_s": 15, "rest_s": 30, "rounds": 4, "sled_m": 10.0, "lane_m": 20.0},
    {"key": "beginner", "title": "Beginner warm-up: 4 × 20 s",
     "why": "80 s of work in four 20 s efforts, 20 s rest: the 2–4 min warm-up with changeovers.",
     "work_s": 20, "rest_s": 20, "rounds": 4, "sled_m": 12.0, "lane_m": 20.0},
    {"key": "progression", "title": "Progression: 4 × 30 s",
     "why": "2 minutes of work in four 30 s efforts: longer intervals once 20 s feels easy.",
     "work_s": 30, "rest_s": 30, "rounds": 4, "sled_m": 15.0, "lane_m": 30.0},
)
"""Template doses: ``work_s``/``rest_s`` (s), ``rounds`` (efforts per member), distances (m)."""


def templates(stations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every template as ``{"key", "title", "why", "circuit": <circuit draft>}`` for these stations
    (store stations as dicts with ``id`` and ``kind``). With no station at all there is no template
    (the builder then says to add stations on the setup page)."""
    stations = list(stations)
    sleds = [s["id"] for s in stations if s["kind"] == "sled"]
    lanes = [s["id"] for s in stations if s["kind"] == "lane"]
    out: list[dict[str, Any]] = []
    if not sleds and not lanes:
        return out
    for t in TEMPLATES:
        parts = []
        if sleds:
            parts.append({"name": "Reverse sled pull", "kind": "sled", "station_ids": sleds, "distance_m": t["sled_m"],
                          "start_mode": "GO_COUNTDOWN", "false_start_policy": "VOID_REARM", "time_cap_s": t["work_s"]})
        if lanes:
            parts.append({"name": "Backward shuffle", "kind": "lane", "station_ids": lanes, "distance_m": t["lane_m"],
                          "start_mode": "GO_COUNTDOWN", "false_start_policy": "VOID_REARM", "time_cap_s": t["work_s"]})
        circuit = {"name": t["title"], "stations": parts, "rounds": t["rounds"], "work_s": t["work_s"],
                   "rest_s": t["rest_s"], "countdown_s": 3, "auto_go": True, "notes": t["why"]}
        out.append({"key": t["key"], "title": t["title"], "why": t["why"], "circuit": circuit})
    return out
