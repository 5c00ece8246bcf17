"""Roles and their order: admin ⊇ instructor ⊇ display."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DISPLAY = "display"        # read-only: the wall; anyone who has not signed in
    INSTRUCTOR = "instructor"  # runs classes, check-in, corrections
    ADMIN = "admin"            # setup: circuits, roster import/export, users

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, other: "Role") -> bool:
        """True when this role may do what ``other`` may."""
        return self.rank >= other.rank


_RANK = {Role.DISPLAY: 0, Role.INSTRUCTOR: 1, Role.ADMIN: 2}
