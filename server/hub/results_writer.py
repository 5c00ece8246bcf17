"""Turns a finished engine result into a stored result: commit first, then broadcast.

When the database cannot take the write (read-only, disk full: :class:`StoreUnavailable`) the result
is kept in memory, in order, and the pipeline's ticker retries it every ``retry_interval_us``; it is
broadcast once committed, so what screens show is always on disk. ``pending`` counts what waits
(``/api/health`` ``results_pending``); a hub killed while results wait loses those (and only those).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from server.hub.attempts import AttemptBook
from server.hub.broadcast import Broadcaster
from server.store.errors import StoreUnavailable
from server.store.results import ResultStore, StoredResult

log = logging.getLogger(__name__)


class ResultWriter:
    """Saves every finished attempt with its athlete and announces it as a ``result`` event."""

    def __init__(self, results: ResultStore, book: AttemptBook, broadcaster: Broadcaster,
                 wall_clock: Callable[[], float], retry_interval_us: int = 1_000_000):
        self.results = results
        self.book = book
        self.broadcaster = broadcaster
        self._wall = wall_clock
        self.listeners: list[Callable[[StoredResult], None]] = []
        self._waiting: list[StoredResult] = []
        self._retry_interval_us = retry_interval_us
        self._last_try_us = 0

    @property
    def pending(self) -> int:
        """Results finished but not yet committed (the database refused the write)."""
        return len(self._waiting)

    def retry(self, now_us: int) -> None:
        """Pipeline ticker: commit waiting results, oldest first, at most once per retry interval."""
        if not self._waiting or now_us - self._last_try_us < self._retry_interval_us:
            return
        self._last_try_us = now_us
        while self._waiting:
            try:
                self._commit(self._waiting[0])
            except StoreUnavailable:
                return
            self._waiting.pop(0)

    def finished(self, result: Any) -> StoredResult:
        """Store ``result`` (an engine ``AttemptResult``) and broadcast it once committed. A result of
        record is never written twice: when the attempt already has one (a run replayed after a hub
        restart, ``server/hub/run_journal.py``), that one stands and nothing is announced again."""
        known = self.results.get(result.attempt_id)
        if known is not None:
            self.book.finished(result.attempt_id)
            return known
        a = self.book.get(result.attempt_id)
        data = result.to_dict()
        detail = {k: data[k] for k in ("splits_s", "metrics", "curve", "warnings", "start_t_us", "finish_t_us",
                                            "reason_text")
                  if k in data}
        stored = StoredResult(
            id=result.attempt_id, station_id=result.station_id,
            heat_id=a.heat_id if a else None, class_id=a.class_id if a else None,
            member_id=a.member_id if a else None, athlete=a.athlete if a else "",
            status=_name(result.status), reason=result.reason or "", time_s=result.time_s,
            reaction_s=result.reaction_s, detail=detail, finished_at=self._wall(),
        )
        self.book.finished(result.attempt_id)
        if self._waiting:  # keep the order: this one waits behind those
            self._waiting.append(stored)
            return stored
        try:
            self._commit(stored)
        except StoreUnavailable as exc:
            log.error("result %s kept in memory until the database takes writes again: %s", stored.id, exc)
            self._waiting.append(stored)
        return stored

    def _commit(self, stored: StoredResult) -> None:
        self.results.save(stored)  # committed before anyone hears of it
        self.broadcaster.event("result", stored.to_dict())
        for listener in self.listeners:
            listener(stored)


def _name(status: Any) -> str:
    return getattr(status, "name", None) or str(status)
