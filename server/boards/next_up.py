"""The wall's *Next up* panel and its *Class ended* header, from the class view (pure).

The class view (:meth:`server.classes.views.ClassViews.view`) carries the heat at the pointer
(``heat``) and the one after it (``next``). The pointer is the heat running in WORK and the heat about
to start in READY and TRANSITION (rest · change stations), so the heat that goes next is ``next``
while a heat works (or is paused mid-work) and ``heat`` otherwise. Names go through the wall's own
``identify`` (wall name, ``"Member"`` for a member who opted out), never the view's display names.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

Identify = Callable[[str | None, str], tuple[str, bool]]
"""``(member_id, stored athlete name) -> (wall name, hidden)``."""

ENDED_STATE = "DONE"


def next_heat(view: Mapping[str, Any]) -> tuple[int, int, list[dict[str, Any]]] | None:
    """``(round_no, heat_no, entries)`` of the heat that starts next, None at the end of the class."""
    state = view.get("state")
    working = state == "WORK" or (state == "PAUSED" and view.get("resume_to") == "WORK")
    if working:
        nxt = view.get("next")
        if not nxt:
            return None
        return nxt["round_no"], nxt["heat_no"], list(nxt.get("entries") or [])
    if state not in ("READY", "TRANSITION", "PAUSED"):
        return None
    entries = list(view.get("heat") or [])
    return (view.get("round_no") or 0, view.get("heat_no") or 0, entries) if entries else None


def next_up(view: Mapping[str, Any] | None, identify: Identify) -> dict[str, Any] | None:
    """``{"round_no", "heat_no", "entries": [{"station_id", "station_name", "athlete", "hidden"}]}`` for
    the wall (entries in the heat's station order), or None when no class runs or no heat follows."""
    if view is None:
        return None
    heat = next_heat(view)
    if heat is None:
        return None
    round_no, heat_no, entries = heat
    shown = []
    for e in entries:
        athlete, hidden = identify(e.get("member_id"), e.get("athlete") or "")
        shown.append({"station_id": e.get("station_id"), "station_name": e.get("station_name") or e.get("station_id"),
                      "athlete": athlete, "hidden": hidden})
    return {"round_no": round_no, "heat_no": heat_no, "entries": shown}


def ended_class(summary: Mapping[str, Any] | None, since_s: float) -> dict[str, Any] | None:
    """``{"id", "name", "finished_at"}`` of the newest class when it ended at or after ``since_s`` (Unix
    time, s; the wall passes the start of today), else None: the header then says the class ended
    instead of waiting for one."""
    if not summary or summary.get("state") != ENDED_STATE:
        return None
    finished = summary.get("finished_at")
    if not isinstance(finished, (int, float)) or finished < since_s:
        return None
    return {"id": summary.get("id"), "name": summary.get("name") or "", "finished_at": finished}
