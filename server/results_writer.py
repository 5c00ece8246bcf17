"""Turns a finished engine result into a stored result: commit first, then broadcast."""

from __future__ import annotations

import logging
from typing import Any, Callable

from server.attempts import AttemptBook
from server.broadcast import Broadcaster
from server.store.results import ResultStore, StoredResult

log = logging.getLogger(__name__)


class ResultWriter:
    """Saves every finished attempt with its athlete and announces it as a ``result`` event."""

    def __init__(self, results: ResultStore, book: AttemptBook, broadcaster: Broadcaster,
                 wall_clock: Callable[[], float]):
        self.results = results
        self.book = book
        self.broadcaster = broadcaster
        self._wall = wall_clock
        self.listeners: list[Callable[[StoredResult], None]] = []

    def finished(self, result: Any) -> StoredResult:
        """Store ``result`` (an engine ``AttemptResult``) and broadcast it once committed. A result of
        record is never written twice: when the attempt already has one (a run replayed after a hub
        restart, ``server/run_journal.py``), that one stands and nothing is announced again."""
        known = self.results.get(result.attempt_id)
        if known is not None:
            self.book.finished(result.attempt_id)
            return known
        a = self.book.get(result.attempt_id)
        data = result.to_dict()
        detail = {k: data[k] for k in ("splits_s", "metrics", "curve", "warnings", "start_t_us", "finish_t_us")
                  if k in data}
        stored = StoredResult(
            id=result.attempt_id, station_id=result.station_id,
            heat_id=a.heat_id if a else None, class_id=a.class_id if a else None,
            member_id=a.member_id if a else None, athlete=a.athlete if a else "",
            status=_name(result.status), reason=result.reason or "", time_s=result.time_s,
            reaction_s=result.reaction_s, detail=detail, finished_at=self._wall(),
        )
        self.results.save(stored)  # committed before anyone hears of it
        self.book.finished(result.attempt_id)
        self.broadcaster.event("result", stored.to_dict())
        for listener in self.listeners:
            listener(stored)
        return stored


def _name(status: Any) -> str:
    return getattr(status, "name", None) or str(status)
