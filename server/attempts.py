"""Who is running which attempt: the hub's book of armed and running attempts.

The timing engine knows stations and attempt ids only; this book maps an attempt id to the athlete
(nickname shown on the wall), the member, the class and the heat, so a finished result can be stored
and shown with a name.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


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
        self._by_attempt: dict[str, Assignment] = {}
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
            made.append(a)
        return made

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

    def forget(self, attempt_id: str) -> None:
        a = self._by_attempt.pop(attempt_id, None) or self._by_attempt.pop(attempt_id.split("~", 1)[0], None)
        if a is not None and self._current.get(a.station_id) == a:
            del self._current[a.station_id]
