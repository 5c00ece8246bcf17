"""SQLite connection and schema migrations.

One database file in WAL mode; the schema version lives in ``PRAGMA user_version`` and every
migration (``migrations/NNNN_name.sql``) runs once, in order, inside a transaction. Add a migration as
the next numbered file; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def load_migrations() -> list[str]:
    """The SQL of every migration file ``NNNN_name.sql``, in number order (number n = version n)."""
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    for i, f in enumerate(files, start=1):
        if int(f.name[:4]) != i:
            raise RuntimeError(f"migration numbers must run 1, 2, 3…: {f.name} is number {i}")
    return [f.read_text(encoding="utf-8") for f in files]



def connect(path: str | Path) -> sqlite3.Connection:
    """Open (and migrate) the database at ``path``; ``":memory:"`` works for tests."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    migrations = load_migrations()
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise RuntimeError(
            f"database schema version {version} is newer than this sledhub ({len(migrations)}): upgrade sledhub"
        )
    for number in range(version + 1, len(migrations) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)


class Database:
    """A connection shared by the hub's threads, serialised by a lock (SQLite allows one writer)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._conn = connect(path)
        self.lock = threading.RLock()

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        with self.lock:
            return self._conn.execute(sql, params)

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def transaction(self) -> "_Transaction":
        """``with db.transaction() as conn:`` commits on success, rolls back on error."""
        return _Transaction(self)

    def close(self) -> None:
        with self.lock:
            self._conn.close()


class _Transaction:
    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.lock.acquire()
        self.db._conn.execute("BEGIN IMMEDIATE")
        return self.db._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db.lock.release()
