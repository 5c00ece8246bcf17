"""Per-boot sequence bookkeeping: dedupe and gap counting in bounded memory.

A node numbers its ``evt`` and ``tel`` messages 0, 1, 2, … from each boot. The tracker keeps
``next`` (one past the highest seq seen) and the *holes*: ranges of seqs skipped and not yet received.
A seq at or past ``next`` is new (anything it skips becomes a hole); a seq inside a hole fills it
(QoS 1 retries arrive out of order); any other seq below ``next`` was seen: a duplicate.

Memory is bounded by the number of holes, not of seqs. Past ``max_holes`` the oldest hole is
forgotten and ``floor`` moves up to its end: a seq below ``floor`` that is not in a remembered hole may
be a duplicate or a very late first copy, and the tracker cannot tell; it says ``LATE`` and the hub
drops it. A forgotten hole stays counted as missing.

When tracking starts in the middle of a boot (the hub restarted), the seqs below the first one seen
form a hole that is not counted as missing: the hub was not there to lose them.
"""

from __future__ import annotations

from bisect import bisect_right

NEW = "new"
FILLED = "filled"
DUPLICATE = "duplicate"
LATE = "late"


class SeqTracker:
    """Seen/missing seqs of one ``(node, boot_id)``; ``missing`` counts the seqs skipped and not filled."""

    __slots__ = ("max_holes", "next", "floor", "missing", "_starts", "_ends", "_counted")

    def __init__(self, max_holes: int = 4096):
        self.max_holes = max_holes
        self.next: int | None = None
        self.floor = 0
        self.missing = 0
        self._starts: list[int] = []  # hole i is the seqs [_starts[i], _ends[i]); sorted, disjoint
        self._ends: list[int] = []
        self._counted: list[bool] = []

    def export(self) -> list:
        """The tracker as plain JSON-able data (for :meth:`restore`)."""
        return [self.next, self.floor, self.missing,
                [[a, b, int(c)] for a, b, c in zip(self._starts, self._ends, self._counted)]]

    @classmethod
    def restore(cls, data: list, max_holes: int = 4096) -> "SeqTracker":
        """A tracker from :meth:`export` (ValueError/TypeError when malformed)."""
        nxt, floor, missing, holes = data
        t = cls(max_holes)
        t.next = None if nxt is None else int(nxt)
        t.floor, t.missing = int(floor), int(missing)
        for a, b, c in holes[-max_holes:]:
            t._starts.append(int(a))
            t._ends.append(int(b))
            t._counted.append(bool(c))
        return t

    @property
    def holes(self) -> int:
        return len(self._starts)

    def add(self, seq: int) -> str:
        """Record ``seq``; returns NEW, FILLED, DUPLICATE or LATE (only NEW and FILLED are to be kept)."""
        nxt = self.next
        if seq == nxt:
            self.next = seq + 1
            return NEW
        if nxt is None:
            self.next = seq + 1
            if seq > 0:
                self._append_hole(0, seq, counted=False)
            return NEW
        if seq > nxt:
            self._append_hole(nxt, seq, counted=True)
            self.missing += seq - nxt
            self.next = seq + 1
            return NEW
        i = bisect_right(self._starts, seq) - 1
        if i >= 0 and seq < self._ends[i]:
            self._fill(i, seq)
            return FILLED
        return LATE if seq < self.floor else DUPLICATE

    def _append_hole(self, start: int, end: int, counted: bool) -> None:
        self._starts.append(start)
        self._ends.append(end)
        self._counted.append(counted)
        self._forget_oldest()

    def _fill(self, i: int, seq: int) -> None:
        start, end, counted = self._starts[i], self._ends[i], self._counted[i]
        if counted:
            self.missing -= 1
        if start == seq and end == seq + 1:
            del self._starts[i], self._ends[i], self._counted[i]
        elif start == seq:
            self._starts[i] = seq + 1
        elif end == seq + 1:
            self._ends[i] = seq
        else:  # split the hole in two
            self._ends[i] = seq
            self._starts.insert(i + 1, seq + 1)
            self._ends.insert(i + 1, end)
            self._counted.insert(i + 1, counted)
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        while len(self._starts) > self.max_holes:
            self.floor = self._ends[0]
            del self._starts[0], self._ends[0], self._counted[0]
