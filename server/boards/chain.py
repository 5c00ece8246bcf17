"""Chain boards (pure): the best time per athlete on one drill across every gym of a chain, with the
club beside each name (``docs/display.md``, "Chain boards").

Rows are the chain's shared results (``server/chain/``): already without members who opted out (they
are never published) and reduced to ranked ones (status OK, a positive time) by the store. A drill is
``<station kind>:<course>`` (``"sled:10 m"``), comparable across gyms whose stations are named
differently. Periods: ``month`` (since the first of this month, the hub's time zone) and ``all``.
Lower times are better; ties go to whoever did it first. An athlete is one person within one gym.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Iterable, Protocol

from server.boards.boards import competition_ranks

PERIODS = ("month", "all")
DRILL_NAMES = {"sled": "Reverse sled pull", "lane": "Backward shuffle"}


def drill_label(drill: str) -> str:
    """``"Reverse sled pull · 10 m"`` for ``"sled:10 m"``."""
    kind, _, course = drill.partition(":")
    return f"{DRILL_NAMES.get(kind, kind)} · {course}" if course else DRILL_NAMES.get(kind, kind)


class SharedResult(Protocol):
    gym_id: str
    attempt_id: str
    club: str
    athlete: str
    person: str
    time_s: float | None
    finished_at: float


def month_start(now_s: float, tz: tzinfo | None = None) -> float:
    """Unix time of the first of ``now_s``'s month, 00:00, in ``tz`` (None = the hub's zone)."""
    return datetime.fromtimestamp(now_s, tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def chain_board(rows: Iterable[SharedResult], limit: int = 10) -> dict[str, Any]:
    """Best time per (gym, person), ranked; ``rows`` are the drill's ranked results in the period."""
    best: dict[tuple[str, str], SharedResult] = {}
    for r in rows:
        key = (r.gym_id, r.person)
        if r.time_s is None:
            continue
        held = best.get(key)
        if held is None or (r.time_s, r.finished_at, r.attempt_id) < (held.time_s, held.finished_at, held.attempt_id):
            best[key] = r
    ordered = sorted(best.values(), key=lambda r: (r.time_s, r.finished_at, r.gym_id, r.attempt_id))
    ranks = competition_ranks([r.time_s for r in ordered])
    return {"rows": [{"rank": rank, "athlete": r.athlete, "club": r.club, "gym_id": r.gym_id, "time_s": r.time_s,
                      "finished_at": r.finished_at, "result_id": f"{r.gym_id}:{r.attempt_id}"}
                     for rank, r in list(zip(ranks, ordered))[:limit]],
            "clubs": len({r.gym_id for r in ordered})}
