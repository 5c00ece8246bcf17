"""What the walls show besides the boards' rows: the instructor's board choice and the state a
(re)connecting wall starts from. :class:`DisplayFeatures` ties the display's parts to one hub; the web
layer (:mod:`server.web.display_api`) serves it, the composition root (:func:`server.app.create_app`)
builds it and hooks its live tiles to the hub's listeners.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from server.boards.live import LiveTiles, course_info
from server.boards.next_up import ended_class, next_up
from server.boards.reader import BoardReader
from server.boards.selection import Selection, SelectionError, parse_selection
from server.boards.service import Leaderboards, day_bounds
from server.errors import InvalidInput
from server.hub.station_setup import engine_config
from server.store.db import Database

if TYPE_CHECKING:
    from server.hub.service import Hub

LATEST_RESULTS = 8
DEMO_CLASS_ID = "demo"
"""The class id of the demo class's results: they leave *Latest* while a real class runs."""
CLASS_FIELDS = ("id", "name", "state", "round_no", "rounds_total", "heat_no", "heats_in_round", "clock")
ClassView = Callable[[], "dict[str, Any] | None"]
"""The running class's view (:meth:`server.classes.service.ClassService.current`), None when none runs."""
RecentClass = Callable[[], "dict[str, Any] | None"]
"""The newest class's summary (:meth:`server.classes.views.ClassViews.summary`: ``state``, ``name``,
``finished_at``), None when there is none."""


class DisplayFeatures:
    """The display's parts on one hub: ``boards`` (leaderboards), ``tiles`` (live station tiles) and the
    board choice. ``current_class`` gives the running class's view; ``recent_class`` the newest class's
    summary (for *Class ended*); ``demo_state`` the demo class's state (None on a hub without a demo);
    ``wall_clock`` is Unix time in s; ``chain`` the chain's store (chain boards; None on a hub not in a
    chain)."""

    def __init__(self, hub: "Hub", db: Database, current_class: ClassView,
                 demo_state: Callable[[], dict[str, Any] | None] = lambda: None,
                 wall_clock: Callable[[], float] = time.time, chain: Any = None,
                 recent_class: RecentClass = lambda: None):
        self.hub = hub
        self.reader = BoardReader(db)
        self.boards = Leaderboards(self.reader, hub.stations, current_class=self._current_class_id, chain=chain)
        self.tiles = LiveTiles(hub, hub.broadcaster.event, self.reader.identify)
        self._class_view = current_class
        self._demo_state = demo_state
        self._recent_class = recent_class
        self._wall = wall_clock
        self._selection = Selection()
        self._changed_at = wall_clock()
        self._lock = threading.Lock()

    # board choice ---------------------------------------------------------------------------------------
    def selection(self) -> dict[str, Any]:
        with self._lock:
            sel, changed_at = self._selection, self._changed_at
        return {**sel.to_dict(self.boards.default_rotation()), "changed_at": changed_at}

    def select(self, data: Any) -> dict[str, Any]:
        """Validate and apply the instructor's choice (InvalidInput naming every problem); every page
        hears ``board``."""
        try:
            sel = parse_selection(data, [s.id for s in self.hub.stations.all()])
        except SelectionError as exc:
            raise InvalidInput(f"invalid board choice: {exc}", exc.errors) from None
        with self._lock:
            self._selection, self._changed_at = sel, self._wall()
        shown = self.selection()
        self.hub.broadcaster.event("board", shown)
        return shown

    # state for a (re)connecting wall --------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What a (re)connecting wall draws. While a real class runs, *Latest* leaves out the demo
        class's results; ``next_up`` is the heat that starts next (wall names); ``ended_class`` the
        class that ended today when none runs now (the header says so)."""
        hub = self.hub
        view = self._class_view()
        latest = [self.tiles.mask({k: v for k, v in r.to_dict().items() if k != "curve"})
                  for r in hub.results.recent(LATEST_RESULTS)
                  if view is None or r.class_id != DEMO_CLASS_ID]
        now = self._wall()
        ended = None if view is not None else ended_class(self._recent_class(), day_bounds(now)[0])
        return {"stations": [_station(s) for s in hub.stations.all()], "tiles": self.tiles.snapshot(),
                "results": latest, "board": self.selection(),
                "class": None if view is None else {k: view.get(k) for k in CLASS_FIELDS},
                "next_up": next_up(view, self.reader.identify), "ended_class": ended,
                "demo": self._demo_state(), "server_time": now}

    def badges(self, data: Any) -> dict[str, Any]:
        """PB/record badges of ``{"result_id"}`` (InvalidInput without one)."""
        result_id = data.get("result_id") if isinstance(data, dict) else None
        if not isinstance(result_id, str) or not result_id:
            raise InvalidInput("result_id is required")
        return self.boards.badges(result_id)

    def _current_class_id(self) -> str | None:
        view = self._class_view()
        return None if view is None else view["id"]


def _station(station: Any) -> dict[str, Any]:
    try:
        info = course_info(engine_config(station))
    except ValueError:
        info = course_info(None)
    return {"id": station.id, "name": station.name, **info}
