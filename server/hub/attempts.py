"""Who is running which attempt: the hub's book of armed and running attempts.

The timing engine knows stations and attempt ids only; this book maps an attempt id to the athlete
(nickname shown on the wall), the member, the class and the heat, so a finished result can be stored
and shown with a name.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass

KEEP_ASSIGNMENTS = 2000
"""Assignments remembered after their result (re-armed attempts and late corrections still find them)."""


@dataclass(frozen=True)
class Assignment:
    """One athlete at one station for one attempt."""

    attempt_id: str
    station_id: str
    heat_id: str
    athlete: str = ""
    member_id: str | None = None
    class_id: str | None = None


class AttemptBook:
    """Creates attempt and heat ids and remembers assignments until their result is stored."""

    def __init__(self, prefix: str):
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._by_attempt: OrderedDict[str, Assignment] = OrderedDict()
        self._current: dict[str, Assignment] = {}

    def new_heat(self, entries: list[tuple[str, str, str | None, str | None]]) -> list[Assignment]:
        """Create a heat from ``(station_id, athlete, member_id, class_id)`` entries."""
        heat_id = f"{self._prefix}-h{next(self._counter)}"
        made = []
        for station_id, athlete, member_id, class_id in entries:
            attempt_id = f"{self._prefix}-a{next(self._counter)}"
            a = Assignment(attempt_id, station_id, heat_id, athlete, member_id, class_id)
            self._by_attempt[attempt_id] = a
            self._current[station_id] = a
            while len(self._by_attempt) > KEEP_ASSIGNMENTS:
                self._by_attempt.popitem(last=False)
            made.append(a)
        return made

    def restore(self, made: list[Assignment]) -> None:
        """Take back the assignments of a heat armed before a restart (``server/hub/run_journal.py``)."""
        for a in made:
            self._by_attempt[a.attempt_id] = a
            self._current[a.station_id] = a

    def get(self, attempt_id: str) -> Assignment | None:
        """The assignment of ``attempt_id``; a re-armed attempt ``"<id>~<try>"`` (after a voided false
        start) belongs to the same athlete as ``<id>``."""
        return self._by_attempt.get(attempt_id) or self._by_attempt.get(attempt_id.split("~", 1)[0])

    def current_all(self) -> list[Assignment]:
        """Every station's latest assignment that has no stored result yet."""
        return list(self._current.values())

    def current(self, station_id: str) -> Assignment | None:
        """The latest assignment armed at ``station_id``."""
        return self._current.get(station_id)

    def rearmed(self, station_id: str, voided_id: str) -> None:
        """A voided false start (``voided_id``, its result stored) armed its station again: the station's
        attempt is in progress again, for the same athlete."""
        a = self.get(voided_id)
        if a is not None and a.station_id == station_id:
            self._current[station_id] = a

    def refused(self, attempt_id: str, in_progress_id: str | None) -> None:
        """The engine refused to arm ``attempt_id`` (its station was busy): the station's current attempt
        is the one still in progress there (``in_progress_id``, when the book knows it), else none."""
        a = self._by_attempt.get(attempt_id)
        if a is None or self._current.get(a.station_id) is not a:
            return
        prev = self.get(in_progress_id) if in_progress_id else None
        if prev is not None and prev.station_id == a.station_id:
            self._current[a.station_id] = prev
        else:
            del self._current[a.station_id]

    def finished(self, attempt_id: str) -> None:
        """The attempt has a stored result: its station no longer shows it as current. The assignment
        stays known (a voided false start's re-armed ``<id>~<try>`` still belongs to the athlete)."""
        a = self.get(attempt_id)
        if a is not None and self._current.get(a.station_id) == a:
            del self._current[a.station_id]
