"""Circuits, classes (state, plan and clock as one JSON session), check-ins, class attempts, and the
corrections audit trail. Each write is one transaction; a class's state is committed before it is
broadcast (the service calls :meth:`ClassStore.commit`, then broadcasts).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from server.classes.circuits import Circuit, circuit_from_dict
from server.errors import Conflict, NotFound
from server.classes.session import ACTIVE_STATES, Session, State
from server.store.db import Database


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


# circuits -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredCircuit:
    id: str
    circuit: Circuit
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.circuit.to_dict(), "created_at": self.created_at,
                "updated_at": self.updated_at}


class CircuitStore:
    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock

    def save(self, circuit: Circuit, circuit_id: str | None = None) -> StoredCircuit:
        """Create (no ``circuit_id``) or replace a circuit; names are unique (case-insensitive)."""
        now = self._wall()
        with self.db.transaction() as conn:
            clash = conn.execute("SELECT id FROM circuits WHERE name = ? COLLATE NOCASE", (circuit.name,)).fetchone()
            if clash and clash["id"] != circuit_id:
                raise Conflict(f"a circuit named {circuit.name!r} already exists")
            if circuit_id is None:
                circuit_id = uuid.uuid4().hex[:12]
                conn.execute("INSERT INTO circuits (id, name, spec_json, created_at, updated_at) VALUES (?,?,?,?,?)",
                             (circuit_id, circuit.name, _dumps(circuit.to_dict()), now, now))
            elif conn.execute("UPDATE circuits SET name=?, spec_json=?, updated_at=? WHERE id=?",
                              (circuit.name, _dumps(circuit.to_dict()), now, circuit_id)).rowcount == 0:
                raise NotFound(f"no circuit with id {circuit_id!r}")
        return self.get(circuit_id)

    def get(self, circuit_id: str) -> StoredCircuit | None:
        rows = self.db.query("SELECT * FROM circuits WHERE id = ?", (circuit_id,))
        return self._row(rows[0]) if rows else None

    def all(self) -> list[StoredCircuit]:
        return [self._row(r) for r in self.db.query("SELECT * FROM circuits ORDER BY name COLLATE NOCASE")]

    def delete(self, circuit_id: str) -> bool:
        """Remove a template (classes keep their own copy of the circuit they ran)."""
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM circuits WHERE id = ?", (circuit_id,)).rowcount > 0

    @staticmethod
    def _row(row: sqlite3.Row) -> StoredCircuit:
        return StoredCircuit(row["id"], circuit_from_dict(json.loads(row["spec_json"])), row["created_at"],
                             row["updated_at"])


# classes --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassRecord:
    id: str
    name: str
    circuit_id: str | None
    circuit: Circuit
    session: Session
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True)
class AttemptRow:
    """One member's attempt at one station in a heat of a class."""

    id: int
    class_id: str
    round_no: int
    heat_no: int
    station_id: str
    member_id: str
    attempt_id: str | None
    status: str                      # armed | finished | aborted | lost
    result_id: str | None
    armed_at: float
    finished_at: float | None


@dataclass
class Changes:
    """What :meth:`ClassStore.commit` writes along with the session, in the same transaction."""

    checked_in: list[str] = field(default_factory=list)
    checked_out: list[str] = field(default_factory=list)
    armed: list[tuple[int, int, str, str, str | None]] = field(default_factory=list)
    """New attempts: ``(round_no, heat_no, station_id, member_id, attempt_id)``."""
    marks: list[tuple[int, str, str | None]] = field(default_factory=list)
    """Attempt rows to update: ``(row id, status, result_id)``."""


class ClassStore:
    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock

    def create(self, name: str, circuit_id: str | None, circuit: Circuit, session: Session) -> ClassRecord:
        now = self._wall()
        class_id = uuid.uuid4().hex[:12]
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO classes (id, name, circuit_id, circuit_json, state, session_json, created_at,"
                         " updated_at) VALUES (?,?,?,?,?,?,?,?)",
                         (class_id, name, circuit_id, _dumps(circuit.to_dict()), session.state.value,
                          _dumps(session.to_json()), now, now))
        return self.get(class_id)

    def commit(self, class_id: str, session: Session, changes: Changes | None = None) -> None:
        """Save the session and ``changes`` in one transaction."""
        changes = changes or Changes()
        now = self._wall()
        with self.db.transaction() as conn:
            conn.execute("UPDATE classes SET state=?, session_json=?, updated_at=?,"
                         " started_at=COALESCE(started_at, CASE WHEN ? THEN ? END),"
                         " finished_at=CASE WHEN ? THEN COALESCE(finished_at, ?) END WHERE id=?",
                         (session.state.value, _dumps(session.to_json()), now,
                          session.state is not State.SETUP, now, session.state is State.DONE, now, class_id))
            for member_id in changes.checked_in:
                conn.execute("INSERT OR IGNORE INTO class_members (class_id, member_id, checked_in_at) VALUES (?,?,?)",
                             (class_id, member_id, now))
            for member_id in changes.checked_out:
                conn.execute("DELETE FROM class_members WHERE class_id=? AND member_id=?", (class_id, member_id))
            for round_no, heat_no, station_id, member_id, attempt_id in changes.armed:
                conn.execute("INSERT INTO class_attempts (class_id, round_no, heat_no, station_id, member_id,"
                             " attempt_id, status, armed_at) VALUES (?,?,?,?,?,?,'armed',?)",
                             (class_id, round_no, heat_no, station_id, member_id, attempt_id, now))
            for row_id, status, result_id in changes.marks:
                conn.execute("UPDATE class_attempts SET status=?, result_id=COALESCE(?, result_id), finished_at=?"
                             " WHERE id=?", (status, result_id, now, row_id))

    def get(self, class_id: str) -> ClassRecord | None:
        rows = self.db.query("SELECT * FROM classes WHERE id = ?", (class_id,))
        return self._row(rows[0]) if rows else None

    def all(self, limit: int = 50) -> list[ClassRecord]:
        rows = self.db.query("SELECT * FROM classes ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
        return [self._row(r) for r in rows]

    def active(self) -> ClassRecord | None:
        """The running class (READY, WORK, TRANSITION or PAUSED), if any."""
        states = tuple(s.value for s in ACTIVE_STATES)
        rows = self.db.query(f"SELECT * FROM classes WHERE state IN ({','.join('?' * len(states))})"
                             " ORDER BY updated_at DESC LIMIT 1", states)
        return self._row(rows[0]) if rows else None

    def checked_in(self, class_id: str) -> list[tuple[str, float]]:
        """``(member_id, checked_in_at)`` in check-in order."""
        rows = self.db.query("SELECT member_id, checked_in_at FROM class_members WHERE class_id = ?"
                             " ORDER BY checked_in_at, rowid", (class_id,))
        return [(r["member_id"], r["checked_in_at"]) for r in rows]

    def attempts(self, class_id: str, round_no: int | None = None, heat_no: int | None = None) -> list[AttemptRow]:
        sql, params = "SELECT * FROM class_attempts WHERE class_id = ?", [class_id]
        if round_no is not None:
            sql += " AND round_no = ? AND heat_no = ?"
            params += [round_no, heat_no]
        return [AttemptRow(**dict(r)) for r in self.db.query(sql + " ORDER BY id", tuple(params))]

    def lose_armed(self, class_id: str) -> int:
        """Mark attempts still armed as lost (their process is gone); returns how many."""
        with self.db.transaction() as conn:
            return conn.execute("UPDATE class_attempts SET status='lost', finished_at=? WHERE class_id=?"
                                " AND status='armed'", (self._wall(), class_id)).rowcount

    @staticmethod
    def _row(row: sqlite3.Row) -> ClassRecord:
        return ClassRecord(row["id"], row["name"], row["circuit_id"],
                           circuit_from_dict(json.loads(row["circuit_json"])),
                           Session.from_json(json.loads(row["session_json"])), row["created_at"],
                           row["updated_at"], row["started_at"], row["finished_at"])


# corrections ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditEntry:
    id: int
    result_id: str
    class_id: str | None
    kind: str
    reason: str
    before: dict[str, Any]
    after: dict[str, Any] | None
    user_id: str | None
    user_name: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


RESULT_COLUMNS = ("id", "station_id", "heat_id", "class_id", "member_id", "athlete", "status", "reason",
                  "time_s", "reaction_s", "finished_at")


def _result_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = {k: row[k] for k in RESULT_COLUMNS}
    out["detail"] = json.loads(row["detail_json"])
    return out


class CorrectionStore:
    """Applies a correction to a ``results`` row and writes its audit entry in one transaction."""

    def __init__(self, db: Database):
        self.db = db

    def apply(self, result_id: str, kind: str, reason: str, at: float, user: tuple[str | None, str],
              compute: Callable[[dict[str, Any]], dict[str, Any] | None]) -> AuditEntry:
        """``compute(before) -> after`` (None deletes) runs inside the transaction on the current row."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM results WHERE id = ?", (result_id,)).fetchone()
            if row is None:
                raise NotFound(f"no result with id {result_id!r}")
            before = _result_dict(row)
            after = compute(before)
            if after is None:
                conn.execute("DELETE FROM results WHERE id = ?", (result_id,))
            else:
                conn.execute("UPDATE results SET status=?, reason=?, time_s=?, detail_json=? WHERE id=?",
                             (after["status"], after["reason"], after["time_s"], _dumps(after["detail"]), result_id))
            cur = conn.execute("INSERT INTO corrections (result_id, class_id, kind, reason, before_json, after_json,"
                               " user_id, user_name, at) VALUES (?,?,?,?,?,?,?,?,?)",
                               (result_id, before["class_id"], kind, reason, _dumps(before),
                                None if after is None else _dumps(after), user[0], user[1], at))
            entry_id = cur.lastrowid
        return AuditEntry(entry_id, result_id, before["class_id"], kind, reason, before, after, user[0], user[1], at)

    def entries(self, result_id: str | None = None, class_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
        """Audit entries, newest first."""
        where, params = [], []
        for column, value in (("result_id", result_id), ("class_id", class_id)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM corrections" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [AuditEntry(r["id"], r["result_id"], r["class_id"], r["kind"], r["reason"],
                           json.loads(r["before_json"]), json.loads(r["after_json"]) if r["after_json"] else None,
                           r["user_id"], r["user_name"], r["at"]) for r in rows]
