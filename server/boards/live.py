"""What each station's wall tile shows now, and the display's own pushes.

:class:`LiveTiles` listens on the hub's pipeline thread (``hub.listeners`` for engine outputs,
``hub.writer.listeners`` for committed results) and pushes, at once:

- ``display:armed`` — who stands at a station (wall name; ``"Member"`` for a member who opted out)
  and what the tile needs to draw progress: sled distance and split distances, or the lane's route;
- ``display:result`` — a committed result with the wall name instead of the stored one.

Walls never use the names in the hub's own ``armed``/``result`` events, so a member who opted out
never shows up on a tile. :meth:`LiveTiles.snapshot` (any thread) is what a wall gets on (re)connect.
Listener work here is a dictionary update and, at arm and finish time, one primary-key lookup.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from server import engine as eng
from server.engine.enums import AttemptState

if TYPE_CHECKING:
    from server.hub.service import Hub

Emit = Callable[[str, Any], None]
Identify = Callable[[str | None, str], tuple[str, bool]]
"""``(member_id, stored athlete name) -> (wall name, hidden)``."""

def course_info(cfg: Any) -> dict[str, Any]:
    """What a tile needs to draw progress, from a station's engine config."""
    if isinstance(cfg, eng.SledStationConfig):
        return {"kind": "sled", "target_m": cfg.distance_m, "split_distances_m": list(cfg.split_distances_m),
                "route": [], "start_mode": cfg.start_mode.value, "countdown_s": cfg.countdown_s}
    if isinstance(cfg, eng.LaneStationConfig):
        return {"kind": "lane", "target_m": None, "split_distances_m": [], "route": list(eng.lane_route(cfg)),
                "start_mode": cfg.start_mode.value, "countdown_s": cfg.countdown_s}
    return {"kind": None, "target_m": None, "split_distances_m": [], "route": [], "start_mode": None,
            "countdown_s": None}


class LiveTiles:
    """See the module docstring."""

    def __init__(self, hub: "Hub", emit: Emit, identify: Identify):
        self.hub = hub
        self._emit = emit
        self._identify = identify
        self._tiles: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # pipeline thread -----------------------------------------------------------------------------
    def on_output(self, item: Any) -> None:
        """``hub.listeners``: every protocol item and engine output."""
        if isinstance(item, eng.AttemptStateChanged):
            self._state_changed(item)
        elif isinstance(item, eng.FalseStartDetected):
            self._update(item.station_id, false_start=item.reason.value)

    def on_result(self, stored: Any) -> None:
        """``hub.writer.listeners``: a result was committed."""
        shown = self.mask(stored.to_dict())
        self._update(stored.station_id, result=shown, state=shown["status"], attempt_id=stored.id)
        self._emit("display:result", shown)

    def _state_changed(self, change: Any) -> None:
        sid, state = change.station_id, change.state
        if state is AttemptState.ARMED:
            self._armed(change)
        else:
            self._update(sid, state=state.value)

    def _armed(self, change: Any) -> None:
        sid = change.station_id
        a = self.hub.book.get(change.attempt_id)
        with self._lock:
            before = self._tiles.get(sid, {})
        if a is not None:
            athlete, hidden = self._identify(a.member_id, a.athlete)
        elif change.rearmed_from and before.get("attempt_id") == change.rearmed_from:
            athlete, hidden = before.get("athlete", ""), before.get("hidden", False)
        else:
            athlete, hidden = "", False
        tile = {"station_id": sid, "attempt_id": change.attempt_id, "heat_id": change.heat_id, "athlete": athlete,
                "hidden": hidden, "state": AttemptState.ARMED.value, "false_start": None, "result": None,
                "rearmed_from": change.rearmed_from,
                **course_info(self.hub.engine.stations.get(sid))}
        with self._lock:
            self._tiles[sid] = tile
        self._emit("display:armed", dict(tile))

    def _update(self, station_id: str, **fields: Any) -> None:
        with self._lock:
            tile = self._tiles.setdefault(station_id, {"station_id": station_id})
            tile.update(fields)

    # any thread --------------------------------------------------------------------------------------
    def mask(self, result: dict[str, Any]) -> dict[str, Any]:
        """A result as walls may show it: the wall name (or ``"Member"``) and a ``hidden`` flag."""
        athlete, hidden = self._identify(result.get("member_id"), result.get("athlete") or "")
        return {**result, "athlete": athlete, "hidden": hidden}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {sid: dict(tile) for sid, tile in self._tiles.items()}
