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
from server.boards.reader import BoardReader
from server.boards.selection import Selection, SelectionError, parse_selection
from server.boards.service import Leaderboards
from server.errors import InvalidInput
from server.hub.station_setup import engine_config
from server.store.db import Database

if TYPE_CHECKING:
    from server.hub.service import Hub

LATEST_RESULTS = 8
CLASS_FIELDS = ("id", "name", "state", "round_no", "rounds_total", "heat_no", "heats_in_round", "clock")
ClassView = Callable[[], "dict[str, Any] | None"]
"""The running class's view (:meth:`server.classes.service.ClassService.current`), None when none runs."""


class DisplayFeatures:
    """The display's parts on one hub: ``boards`` (leaderboards), ``tiles`` (live station tiles) and the
    board choice. ``current_class`` gives the running class's view; ``demo_state`` the demo class's
    state (None on a hub without a demo); ``wall_clock`` is Unix time in s; ``chain`` the chain's store
    (chain boards; None on a hub not in a chain)."""

    def __init__(self, hub: "Hub", db: Database, current_class: ClassView,
                 demo_state: Callable[[], dict[str, Any] | None] = lambda: None,
                 wall_clock: Callable[[], float] = time.time, chain: Any = None):
        self.hub = hub
        self.reader = BoardReader(db)
        self.boards = Leaderboards(self.reader, hub.stations, current_class=self._current_class_id, chain=chain)
        self.tiles = LiveTiles(hub, hub.broadcaster.event, self.reader.identify)
        self._class_view = current_class
        self._demo_state = demo_state
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
        hub = self.hub
        latest = [self.tiles.mask({k: v for k, v in r.to_dict().items() if k != "curve"})
                  for r in hub.results.recent(LATEST_RESULTS)]
        return {"stations": [_station(s) for s in hub.stations.all()], "tiles": self.tiles.snapshot(),
                "results": latest, "board": self.selection(), "class": self._current_class(),
                "demo": self._demo_state(), "server_time": self._wall()}

    def badges(self, data: Any) -> dict[str, Any]:
        """PB/record badges of ``{"result_id"}`` (InvalidInput without one)."""
        result_id = data.get("result_id") if isinstance(data, dict) else None
        if not isinstance(result_id, str) or not result_id:
            raise InvalidInput("result_id is required")
        return self.boards.badges(result_id)

    def _current_class(self) -> dict[str, Any] | None:
        view = self._class_view()
        return None if view is None else {k: view.get(k) for k in CLASS_FIELDS}

    def _current_class_id(self) -> str | None:
        view = self._class_view()
        return None if view is None else view["id"]


def _station(station: Any) -> dict[str, Any]:
    try:
        info = course_info(engine_config(station))
    except ValueError:
        info = course_info(None)
    return {"id": station.id, "name": station.name, **info}
