"""Rotation: who stands at which sled or lane in every heat of a class (pure).

Checked-in members are dealt into **pods** (by default one pod per circuit station; a circuit may set
another number) in check-in order (member 1 → pod 1, member 2 → pod 2, …). In round ``r`` (1-based)
pod ``p`` (0-based) stands at circuit station ``(p + (r - 1) * move) mod S``, where ``move`` is the
circuit's rotation (1: one station forward each round; -1: one back; 2: two forward). Members of the
pods at one station queue in pod order; a circuit station with ``c`` lanes (or sleds) runs ``c`` of
them at once, so ``n`` members there need ``ceil(n / c)`` heats. All stations run a heat together,
so a round has as many heats as its busiest station needs.

The **plan** is the whole class laid out: rounds → heats → entries ``(station_id, member_id)``. It is
computed when the class starts and stored with it; a tap on the tablet (:func:`assign`) changes who
runs in a heat of the current round; late check-ins and check-outs re-deal the rounds after the
current one (:func:`replan_from`), and a re-run adds a heat (:func:`insert_rerun`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

Entry = tuple[str, str]
"""``(station_id, member_id)``: one member at one sled or lane for one attempt."""


@dataclass(frozen=True)
class Heat:
    """Stations started together. ``rerun``: a heat added for re-runs after a correction."""

    entries: tuple[Entry, ...]
    rerun: bool = False

    def member_at(self, station_id: str) -> str | None:
        return next((m for s, m in self.entries if s == station_id), None)

    def station_of(self, member_id: str) -> str | None:
        return next((s for s, m in self.entries if m == member_id), None)

    def to_dict(self) -> dict:
        return {"entries": [list(e) for e in self.entries], "rerun": self.rerun}

    @staticmethod
    def from_dict(data: dict) -> "Heat":
        return Heat(tuple((s, m) for s, m in data["entries"]), bool(data.get("rerun", False)))


Round = tuple[Heat, ...]
Plan = tuple[Round, ...]
Pods = tuple[tuple[str, ...], ...]
Layout = Sequence[Sequence[str]]
"""The circuit's stations in order, each as its store station ids (sleds or lanes side by side)."""


def make_pods(member_ids: Sequence[str], pod_count: int) -> Pods:
    """Deal members into ``pod_count`` pods in order (round robin), so pod sizes differ by at most one."""
    pods: list[list[str]] = [[] for _ in range(pod_count)]
    for i, member in enumerate(member_ids):
        pods[i % pod_count].append(member)
    return tuple(tuple(p) for p in pods)


def add_to_pods(pods: Pods, member_id: str) -> Pods:
    """A late arrival joins the smallest pod (the first of equals)."""
    smallest = min(range(len(pods)), key=lambda i: (len(pods[i]), i))
    return tuple(p + (member_id,) if i == smallest else p for i, p in enumerate(pods))


def remove_from_pods(pods: Pods, member_id: str) -> Pods:
    return tuple(tuple(m for m in p if m != member_id) for p in pods)


def move_to_pod(pods: Pods, member_id: str, pod_index: int) -> Pods:
    """Move a member to pod ``pod_index`` (0-based), at its end."""
    stripped = remove_from_pods(pods, member_id)
    return tuple(p + (member_id,) if i == pod_index else p for i, p in enumerate(stripped))


def station_index(pod_index: int, round_no: int, station_count: int, move: int = 1) -> int:
    """The circuit station pod ``pod_index`` stands at in round ``round_no`` (1-based); ``move``:
    stations a pod moves each round (negative: backward)."""
    return (pod_index + (round_no - 1) * move) % station_count


def plan_round(pods: Pods, layout: Layout, round_no: int, move: int = 1) -> Round:
    """The heats of one round: heat ``h`` holds the ``h``-th lane-full of every station's queue (the
    members of the pods standing there, in pod order)."""
    queues: list[list[str]] = [[] for _ in layout]
    for p, pod in enumerate(pods):
        queues[station_index(p, round_no, len(layout), move)].extend(pod)
    per_station: list[list[list[Entry]]] = [
        [list(zip(lanes, queue[i:i + len(lanes)])) for i in range(0, len(queue), len(lanes))]
        for lanes, queue in zip(layout, queues)]
    heat_count = max((len(h) for h in per_station), default=0)
    order = _station_order(layout)
    return tuple(
        Heat(tuple(sorted((e for heats in per_station if h < len(heats) for e in heats[h]), key=lambda e: order[e[0]])))
        for h in range(heat_count)
    )


def _station_order(layout: Layout) -> dict[str, int]:
    return {sid: i for i, sid in enumerate(s for lanes in layout for s in lanes)}


def build_plan(pods: Pods, layout: Layout, rounds: int, move: int = 1) -> Plan:
    """Every round of the class (``move``: the circuit's rotation, see :func:`station_index`)."""
    return tuple(plan_round(pods, layout, r, move) for r in range(1, rounds + 1))


def replan_from(plan: Plan, pods: Pods, layout: Layout, first_round: int, move: int = 1) -> Plan:
    """Keep rounds before ``first_round`` as they are and deal the later ones from ``pods`` again."""
    fresh = build_plan(pods, layout, len(plan), move)
    return plan[:first_round - 1] + fresh[first_round - 1:]


def drop_member(plan: Plan, member_id: str, round_no: int, from_heat: int) -> Plan:
    """Take a member out of heats ``from_heat..`` of round ``round_no`` (a check-out mid-round)."""
    heats = list(plan[round_no - 1])
    for h in range(from_heat - 1, len(heats)):
        heats[h] = replace(heats[h], entries=tuple(e for e in heats[h].entries if e[1] != member_id))
    return _with_round(plan, round_no, tuple(heats))


def assign(plan: Plan, round_no: int, heat_no: int, station_id: str, member_id: str | None,
           layout: Layout) -> Plan:
    """The instructor's tap: put ``member_id`` at ``station_id`` in heat ``heat_no`` of round ``round_no``.

    If the member already runs later in this round (or elsewhere in this heat), the two swap places.
    Otherwise a displaced member moves to the first later heat of the round where the station is free
    (a new heat at the end of the round if none). ``member_id=None`` empties the slot.
    """
    heats = [dict(h.entries) for h in plan[round_no - 1]]
    flags = [h.rerun for h in plan[round_no - 1]]
    here = heats[heat_no - 1]
    displaced = here.get(station_id)
    if member_id is not None and displaced == member_id:
        return plan
    found = _find(heats, member_id, heat_no) if member_id is not None else None
    if member_id is None:
        here.pop(station_id, None)
    else:
        if found is not None:
            h, s = found
            del heats[h][s]
            if displaced is not None:
                heats[h][s] = displaced
            displaced = None
        here[station_id] = member_id
    if displaced is not None and member_id is not None:
        _place_later(heats, flags, heat_no, station_id, displaced)
    order = _station_order(layout)
    new_round = tuple(Heat(tuple(sorted(h.items(), key=lambda e: order.get(e[0], len(order)))), flags[i])
                      for i, h in enumerate(heats))
    return _with_round(plan, round_no, new_round)


def _find(heats: list[dict[str, str]], member_id: str, heat_no: int) -> tuple[int, str] | None:
    for h in range(heat_no - 1, len(heats)):
        for s, m in heats[h].items():
            if m == member_id:
                return h, s
    return None


def _place_later(heats: list[dict[str, str]], flags: list[bool], heat_no: int, station_id: str,
                 member_id: str) -> None:
    for h in range(heat_no, len(heats)):
        if station_id not in heats[h]:
            heats[h][station_id] = member_id
            return
    heats.append({station_id: member_id})
    flags.append(False)


def insert_rerun(plan: Plan, round_no: int, heat_no: int, station_id: str, member_id: str) -> Plan:
    """Add a re-run of ``member_id`` at ``station_id`` right after heat ``heat_no`` of round ``round_no``.

    Re-runs share one added heat while their stations are free in it.
    """
    heats = list(plan[round_no - 1])
    nxt = heats[heat_no] if heat_no < len(heats) else None
    if nxt is not None and nxt.rerun and nxt.member_at(station_id) is None:
        heats[heat_no] = Heat(nxt.entries + ((station_id, member_id),), rerun=True)
    else:
        heats.insert(heat_no, Heat(((station_id, member_id),), rerun=True))
    return _with_round(plan, round_no, tuple(heats))


def _with_round(plan: Plan, round_no: int, heats: Round) -> Plan:
    return plan[:round_no - 1] + (heats,) + plan[round_no:]


def plan_to_json(plan: Plan) -> list:
    return [[h.to_dict() for h in rnd] for rnd in plan]


def plan_from_json(data: list) -> Plan:
    return tuple(tuple(Heat.from_dict(h) for h in rnd) for rnd in data)
