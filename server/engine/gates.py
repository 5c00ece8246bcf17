"""Beam gates and gate routes for lanes.

A :class:`Gate` turns beam edges into gate edges: a single-beam gate is broken while its beam is;
an engine-paired dual-beam gate is broken only while *both* beams are (the break time is the
instant the second beam breaks), so a swinging arm or knee through one beam does not count.
Breaks within ``holdoff_us`` of the gate's last counted break are re-breaks (limbs) and are flagged.

A :class:`RouteMatcher` follows an ordered list of gate roles: a break on the expected gate is a
passage; split gates may be skipped (a missed split is recorded as None) but no other gate may.
"""

from __future__ import annotations

from enum import IntEnum

from server.engine.config import SPLIT_RE


class Edge(IntEnum):
    NONE = 0
    BREAK = 1
    RESTORE = 2


class Gate:
    """State of one gate; see the module docstring."""

    __slots__ = ("role", "dual", "beams", "broken", "last_break_us", "holdoff_us", "rebreaks")

    def __init__(self, role: str, dual: bool, holdoff_us: int):
        self.role = role
        self.dual = dual
        self.beams: list[bool | None] = [None, None]  # None: not seen yet
        self.broken: bool | None = None
        self.last_break_us: int | None = None
        self.holdoff_us = holdoff_us
        self.rebreaks = 0

    def update(self, beam: int, is_break: bool, t_us: int) -> tuple[Edge, bool]:
        """Apply a beam edge; returns the gate edge and whether a gate break is a re-break."""
        beams = self.beams
        if beams[beam] == is_break:
            return Edge.NONE, False
        beams[beam] = is_break
        broken = bool(beams[0] and beams[1]) if self.dual else is_break
        before = self.broken
        if broken == before:
            return Edge.NONE, False
        self.broken = broken
        if not broken:
            # a single beam restoring from an unknown state was broken; a dual gate only "restores"
            # from a break it has seen (one beam's first event tells nothing about the pair)
            return (Edge.NONE if before is None and self.dual else Edge.RESTORE), False
        last = self.last_break_us
        if last is not None and 0 <= t_us - last < self.holdoff_us:
            self.rebreaks += 1
            return Edge.BREAK, True
        self.last_break_us = t_us
        return Edge.BREAK, False


class Offer(IntEnum):
    """What a gate break meant to a route."""

    MATCHED = 1       # the next expected passage (possibly after skipped splits)
    AHEAD = 2         # a gate further along the route, out of order
    BEHIND = 3        # a gate not ahead in the route (already passed, or not on it)


class RouteMatcher:
    """Follows ``route`` passage by passage; ``times[i]`` is the time of passage ``i`` (or None)."""

    __slots__ = ("route", "skippable", "cursor", "times", "last_us")

    def __init__(self, route: tuple[str, ...], allow_skipping_splits: bool = True):
        self.route = route
        self.skippable = ([bool(SPLIT_RE.match(r)) for r in route] if allow_skipping_splits
                          else [False] * len(route))
        self.cursor = 0
        self.times: list[int | None] = [None] * len(route)
        self.last_us: int | None = None

    @property
    def done(self) -> bool:
        return self.cursor >= len(self.route)

    def reset(self) -> None:
        self.cursor = 0
        self.times = [None] * len(self.route)
        self.last_us = None

    def expected(self) -> str | None:
        return self.route[self.cursor] if not self.done else None

    def offer(self, role: str, t_us: int) -> tuple[Offer, list[str]]:
        """Offer a gate break; returns the outcome and the split roles skipped to match it."""
        route = self.route
        for j in range(self.cursor, len(route)):
            if route[j] == role:
                skipped = list(route[self.cursor:j])
                self.times[j] = t_us
                self.cursor = j + 1
                self.last_us = t_us
                return Offer.MATCHED, skipped
            if not self.skippable[j]:
                break
        if role in route[self.cursor:]:
            return Offer.AHEAD, []
        return Offer.BEHIND, []
