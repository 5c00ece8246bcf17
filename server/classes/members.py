"""The roster: members with a name (unique, case-insensitive), a wall nickname and a leaderboard opt-out.

Deleting a member *archives* it: it leaves the roster, CSV export and check-in, while results and
past classes keep pointing at it (and its opt-out keeps its results off boards).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from server.errors import Conflict, NotFound
from server.classes.roster import MemberFields, display_name
from server.store.db import Database


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    nickname: str
    opt_out: bool
    archived: bool
    created_at: float
    updated_at: float

    @property
    def display_name(self) -> str:
        """The nickname, or the name when there is none: what the wall shows."""
        return display_name(self.name, self.nickname)

    def fields(self) -> MemberFields:
        return MemberFields(self.name, self.nickname, self.opt_out)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "nickname": self.nickname, "display_name": self.display_name,
                "opt_out": self.opt_out, "archived": self.archived, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _member(row: sqlite3.Row) -> Member:
    return Member(row["id"], row["name"], row["nickname"], bool(row["opt_out"]), bool(row["archived"]),
                  row["created_at"], row["updated_at"])


class MemberStore:
    """Reads and writes ``members``."""

    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock

    def create(self, name: str, nickname: str = "", opt_out: bool = False) -> Member:
        """Add a member; an archived member of the same name comes back (with these fields) instead."""
        now = self._wall()
        member_id = uuid.uuid4().hex[:12]
        with self.db.transaction() as conn:
            hit = conn.execute("SELECT id, archived FROM members WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
            if hit and not hit["archived"]:
                raise Conflict(f"a member named {name!r} already exists")
            if hit:
                member_id = hit["id"]
                conn.execute("UPDATE members SET name=?, nickname=?, opt_out=?, archived=0, updated_at=? WHERE id=?",
                             (name, nickname, int(opt_out), now, member_id))
            else:
                conn.execute("INSERT INTO members (id, name, nickname, opt_out, archived, created_at, updated_at)"
                             " VALUES (?,?,?,?,0,?,?)", (member_id, name, nickname, int(opt_out), now, now))
        return self.get(member_id)

    def update(self, member_id: str, changes: dict[str, Any]) -> Member:
        """Change ``name``, ``nickname`` and/or ``opt_out`` of a member (archived ones too)."""
        current = self.get(member_id)
        if current is None:
            raise NotFound(f"no member with id {member_id!r}")
        merged = {"name": current.name, "nickname": current.nickname, "opt_out": current.opt_out, **changes}
        with self.db.transaction() as conn:
            self._check_name_free(conn, merged["name"], member_id)
            conn.execute("UPDATE members SET name=?, nickname=?, opt_out=?, updated_at=? WHERE id=?",
                         (merged["name"], merged["nickname"], int(merged["opt_out"]), self._wall(), member_id))
        return self.get(member_id)

    def archive(self, member_id: str) -> Member:
        if self.get(member_id) is None:
            raise NotFound(f"no member with id {member_id!r}")
        self.db.execute("UPDATE members SET archived=1, updated_at=? WHERE id=?", (self._wall(), member_id))
        return self.get(member_id)

    def import_rows(self, rows: Iterable[MemberFields]) -> dict[str, int]:
        """Create or update (matched by name, case-insensitive; archived ones come back) in one transaction."""
        created = updated = 0
        now = self._wall()
        with self.db.transaction() as conn:
            for row in rows:
                hit = conn.execute("SELECT id FROM members WHERE name = ? COLLATE NOCASE", (row.name,)).fetchone()
                if hit:
                    conn.execute("UPDATE members SET name=?, nickname=?, opt_out=?, archived=0, updated_at=?"
                                 " WHERE id=?", (row.name, row.nickname, int(row.opt_out), now, hit["id"]))
                    updated += 1
                else:
                    conn.execute("INSERT INTO members (id, name, nickname, opt_out, archived, created_at, updated_at)"
                                 " VALUES (?,?,?,?,0,?,?)",
                                 (uuid.uuid4().hex[:12], row.name, row.nickname, int(row.opt_out), now, now))
                    created += 1
        return {"created": created, "updated": updated}

    def get(self, member_id: str) -> Member | None:
        rows = self.db.query("SELECT * FROM members WHERE id = ?", (member_id,))
        return _member(rows[0]) if rows else None

    def all(self, include_archived: bool = False) -> list[Member]:
        sql = "SELECT * FROM members" + ("" if include_archived else " WHERE archived = 0")
        return [_member(r) for r in self.db.query(sql + " ORDER BY name COLLATE NOCASE")]

    def by_ids(self, member_ids: Iterable[str]) -> dict[str, Member]:
        ids = list(dict.fromkeys(member_ids))
        if not ids:
            return {}
        rows = self.db.query(f"SELECT * FROM members WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
        return {r["id"]: _member(r) for r in rows}

    def member_opted_out(self, member_id: str | None) -> bool:
        """True when the member asked to stay off leaderboards (boards use this or the
        ``leaderboard_results`` view, which already leaves such results out)."""
        if member_id is None:
            return False
        rows = self.db.query("SELECT opt_out FROM members WHERE id = ?", (member_id,))
        return bool(rows and rows[0]["opt_out"])

    def opted_out_ids(self) -> set[str]:
        return {r["id"] for r in self.db.query("SELECT id FROM members WHERE opt_out = 1")}

    @staticmethod
    def _check_name_free(conn: sqlite3.Connection, name: str, own_id: str | None) -> None:
        hit = conn.execute("SELECT id, archived FROM members WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if hit and hit["id"] != own_id:
            where = " (archived)" if hit["archived"] else ""
            raise Conflict(f"a member named {name!r} already exists{where}")
