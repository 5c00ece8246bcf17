"""Hub users (the people who sign in): a name, a role and a hashed PIN.

The first admin — the owner — is created on the tablet the first time the hub is opened
(:meth:`UserStore.create_owner`, ``POST /api/owner``: once, only while no user exists) or from the
command line (``sledhub user add NAME --role admin``, see :mod:`server.auth.cli`); after that admins
manage users over ``/api/users``. The demo creates an instructor ``demo`` with PIN ``1234`` and an
admin ``owner`` with PIN ``9876`` (:func:`ensure_demo_user`) — demo databases only.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from server.auth.pins import check_pin_format, hash_pin, verify_pin
from server.auth.roles import Role
from server.errors import Conflict, InvalidInput, NotFound
from server.store.db import Database

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
"""User names: 1–40 letters, digits, spaces, ``.``, ``_``, ``-`` (starting with a letter or digit)."""

DEMO_USER = ("demo", "1234")
DEMO_ADMIN = ("owner", "9876")
OWNER_TAKEN = "this hub already has its owner: sign in (an admin adds more people on the tablet's roster of users)"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: Role
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value, "created_at": self.created_at,
                "updated_at": self.updated_at}


def check_user_fields(name: Any = None, role: Any = None, pin: Any = None, partial: bool = False) -> list[str]:
    errors = []
    if name is not None or not partial:
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            errors.append("name: 1-40 letters, digits, spaces, '.', '_' or '-'")
    if role is not None or not partial:
        if role not in {r.value for r in Role}:
            errors.append("role: expected admin, instructor or display")
    if pin is not None or not partial:
        err = check_pin_format(pin)
        errors += [err] if err else []
    return errors


class UserStore:
    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time,
                 hasher: Callable[[str], str] = hash_pin):
        self.db = db
        self._wall = wall_clock
        self._hash = hasher

    def create(self, name: str, role: Role | str, pin: str) -> User:
        errors = check_user_fields(name, str(role), pin)
        if errors:
            raise InvalidInput("invalid user: " + "; ".join(errors), errors)
        now = self._wall()
        user_id = uuid.uuid4().hex[:12]
        pin_hash = self._hash(pin)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ? COLLATE NOCASE", (name,)).fetchone():
                raise Conflict(f"a user named {name!r} already exists")
            conn.execute("INSERT INTO users (id, name, role, pin_hash, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                         (user_id, name, Role(role).value, pin_hash, now, now))
        return self.get(user_id)

    def create_owner(self, name: str, pin: str) -> User:
        """The first user, an admin, on a hub with no users yet. The check and the insert are one write
        transaction (``BEGIN IMMEDIATE``): of two tablets racing, one wins, the other gets
        :class:`Conflict`, as does every call once any user exists."""
        errors = check_user_fields(name, Role.ADMIN.value, pin)
        if errors:
            raise InvalidInput("invalid owner: " + "; ".join(errors), errors)
        now = self._wall()
        user_id = uuid.uuid4().hex[:12]
        pin_hash = self._hash(pin)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                raise Conflict(OWNER_TAKEN)
            conn.execute("INSERT INTO users (id, name, role, pin_hash, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                         (user_id, name, Role.ADMIN.value, pin_hash, now, now))
        return self.get(user_id)  # type: ignore[return-value]  # just inserted

    def update(self, user_id: str, role: Role | str | None = None, pin: str | None = None) -> User:
        user = self.get(user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id!r}")
        errors = check_user_fields(role=None if role is None else str(role), pin=pin, partial=True)
        if errors:
            raise InvalidInput("invalid user: " + "; ".join(errors), errors)
        pin_hash = self._hash(pin) if pin is not None else None
        with self.db.transaction() as conn:
            if role is not None and user.role is Role.ADMIN and Role(role) is not Role.ADMIN:
                self._keep_an_admin(conn, user_id)
            conn.execute("UPDATE users SET role=COALESCE(?, role), pin_hash=COALESCE(?, pin_hash), updated_at=?"
                         " WHERE id=?", (None if role is None else Role(role).value, pin_hash, self._wall(), user_id))
        return self.get(user_id)

    def delete(self, user_id: str) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT role FROM users WHERE id = ?", (user_id,)).fetchone()
            if row is None:
                raise NotFound(f"no user with id {user_id!r}")
            if row["role"] == Role.ADMIN.value:
                self._keep_an_admin(conn, user_id)
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def get(self, user_id: str) -> User | None:
        rows = self.db.query("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def all(self) -> list[User]:
        return [_user(r) for r in self.db.query("SELECT * FROM users ORDER BY name COLLATE NOCASE")]

    def count(self) -> int:
        return self.db.query("SELECT COUNT(*) FROM users")[0][0]

    def find(self, name: str) -> User | None:
        """The user called ``name`` (case-insensitive), else None."""
        rows = self.db.query("SELECT * FROM users WHERE name = ? COLLATE NOCASE", (name,))
        return _user(rows[0]) if rows else None

    def authenticate(self, name: str, pin: str) -> User | None:
        """The user when ``name`` and ``pin`` match, else None (same work either way)."""
        rows = self.db.query("SELECT * FROM users WHERE name = ? COLLATE NOCASE", (name,))
        ok = verify_pin(pin, rows[0]["pin_hash"] if rows else None)
        return _user(rows[0]) if ok and rows else None

    @staticmethod
    def _keep_an_admin(conn, user_id: str) -> None:
        others = conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id != ?", (user_id,)).fetchone()[0]
        if not others:
            raise Conflict("this is the last admin: make another admin first")


def _user(row) -> User:
    return User(row["id"], row["name"], Role(row["role"]), row["created_at"], row["updated_at"])


def ensure_demo_user(db: Database) -> str:
    """Demo only: make sure instructor ``demo`` with PIN ``1234`` exists; returns a line to print."""
    users = UserStore(db)
    name, pin = DEMO_USER
    if not db.query("SELECT 1 FROM users WHERE name = ? COLLATE NOCASE", (name,)):
        users.create(name, Role.INSTRUCTOR, pin)
    return f"demo sign-in: instructor '{name}', PIN {pin} (demo database only)"


def ensure_demo_admin(db: Database) -> str:
    """Demo only: make sure admin ``owner`` with PIN ``9876`` exists (roster import, /setup, circuits);
    returns a line to print."""
    name, pin = DEMO_ADMIN
    if not db.query("SELECT 1 FROM users WHERE name = ? COLLATE NOCASE", (name,)):
        UserStore(db).create(name, Role.ADMIN, pin)
    return f"demo admin sign-in: admin '{name}', PIN {pin} (demo database only)"


def bootstrap_hint(db: Database) -> str | None:
    """A line to print at start-up while no user exists yet (nobody could sign in)."""
    if UserStore(db).count():
        return None
    return ("no users yet: open the tablet page (/instructor) to create the owner account, or run "
            "'sledhub user add NAME --role admin'")
