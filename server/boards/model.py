"""What boards are computed from: result rows, roster people, and the privacy rules (pure).

A board never shows a result that is disqualified or voided for a re-run, nor anything of a member
who opted out, nor a result nobody can be named for. Every board function starts from
:func:`eligible`, so these rules live in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

RANKED_STATUS = "OK"
HIDDEN_NAME = "Member"
"""What a wall tile shows instead of the name of a member who opted out of boards."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One stored result, reduced to what boards need. ``course`` is what makes two times at a station
    comparable: the sled distance (``"10 m"``) or the lane's gate route (``"start–split1–finish"``)."""

    id: str
    station_id: str
    class_id: str | None
    member_id: str | None
    athlete: str
    status: str
    time_s: float | None
    finished_at: float
    course: str = ""
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A roster member as boards see one."""

    member_id: str
    name: str
    nickname: str
    opt_out: bool


def wall_name(name: str, nickname: str) -> str:
    """The name a wall shows: the nickname; without one, the first name and the initial of the last
    (``"Anna Kowalski"`` → ``"Anna K."``), never a full name."""
    if nickname.strip():
        return nickname.strip()
    words = name.split()
    if not words:
        return HIDDEN_NAME
    return words[0] if len(words) == 1 else f"{words[0]} {words[-1][0]}."


def person_key(row: ResultRow) -> str | None:
    """Who a result belongs to: the member id when there is one, else the athlete's name
    (demo athletes have no member); None when neither is known."""
    if row.member_id:
        return f"m:{row.member_id}"
    name = row.athlete.strip()
    return f"a:{name.casefold()}" if name else None


def name_of(row: ResultRow, people: Mapping[str, Person]) -> str:
    """The wall name of a result's athlete (current nickname for members)."""
    if row.member_id:
        p = people.get(row.member_id)
        return wall_name(p.name, p.nickname) if p else HIDDEN_NAME
    return row.athlete.strip() or HIDDEN_NAME


def is_hidden(member_id: str | None, people: Mapping[str, Person]) -> bool:
    """True for a member who opted out of boards."""
    p = people.get(member_id) if member_id else None
    return bool(p and p.opt_out)


def eligible(rows: Iterable[ResultRow], people: Mapping[str, Person]) -> list[ResultRow]:
    """Results a board may rank: status OK with a positive time (so never DQ, RERUN, DNF, a voided
    false start or an abort), not of a member who opted out, and attributable to someone."""
    out = []
    for r in rows:
        if r.status != RANKED_STATUS or r.time_s is None or r.time_s <= 0:
            continue
        if is_hidden(r.member_id, people) or person_key(r) is None:
            continue
        out.append(r)
    return out


def course_of(distance_m: Any, route: Any) -> tuple[str, float | None]:
    """``(course, distance_m)`` from a result's ``metrics.distance_m`` and ``metrics.route`` (the route
    may come as a list or as its JSON text, as SQLite's ``json_extract`` returns it). A finished sled
    pull's distance is its target distance (the engine puts the finish point exactly there); it is
    rounded to 0.1 m so float noise never splits a course."""
    if isinstance(distance_m, (int, float)) and not isinstance(distance_m, bool) and distance_m > 0:
        return f"{round(float(distance_m), 1):g} m", round(float(distance_m), 1)
    if isinstance(route, str):
        try:
            route = json.loads(route)
        except ValueError:
            route = [route]
    if isinstance(route, list) and route:
        return "–".join(str(g) for g in route), None
    return "", None
