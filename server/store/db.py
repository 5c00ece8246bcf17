"""SQLite connection and schema migrations.

One database file in WAL mode; the schema version lives in ``PRAGMA user_version`` and every
migration in :data:`MIGRATIONS` runs once, in order, inside a transaction. Add a migration by
appending to the list; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

MIGRATIONS: list[str] = [
    # 1: stations, their sensor bindings, nodes seen, finished attempts
    """
    CREATE TABLE stations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('sled', 'lane')),
        name TEXT NOT NULL,
        config_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE bindings (
        station_id TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        node_id TEXT NOT NULL,
        sensor_id TEXT NOT NULL,
        PRIMARY KEY (station_id, role),
        UNIQUE (node_id, sensor_id)
    );
    CREATE TABLE nodes (
        id TEXT PRIMARY KEY,
        boot_id TEXT,
        fw TEXT,
        descriptor_json TEXT,
        state TEXT NOT NULL DEFAULT 'unknown',
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE TABLE results (
        id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        heat_id TEXT,
        class_id TEXT,
        member_id TEXT,
        athlete TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        time_s REAL,
        reaction_s REAL,
        detail_json TEXT NOT NULL,
        finished_at REAL NOT NULL
    );
    CREATE INDEX results_finished ON results (finished_at DESC);
    CREATE INDEX results_station ON results (station_id, finished_at DESC);
    """,
]


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
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this sledhub ({len(MIGRATIONS)}): upgrade sledhub"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


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
