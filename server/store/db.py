"""SQLite connection and schema migrations.

One database file in WAL mode; the schema version lives in ``PRAGMA user_version`` and every
migration (``migrations/NNNN_name.sql``) runs once, in order, inside a transaction. Add a migration as
the next numbered file; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable

from server.store.errors import StoreCorrupt, StoreUnavailable, classify, is_storage_failure, unavailable

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def load_migrations() -> list[str]:
    """The SQL of every migration file ``NNNN_name.sql``, in number order (number n = version n)."""
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    for i, f in enumerate(files, start=1):
        if int(f.name[:4]) != i:
            raise RuntimeError(f"migration numbers must run 1, 2, 3…: {f.name} is number {i}")
    return [f.read_text(encoding="utf-8") for f in files]



SQLITE_HEADER = b"SQLite format 3\x00"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open, check and migrate the database at ``path``; ``":memory:"`` works for tests.

    The start-up checks: the file (if it exists and is not empty) must be an SQLite database, pass
    ``PRAGMA quick_check`` and take a write. Raises :class:`StoreCorrupt` or :class:`StoreUnavailable`
    with a one-line message naming the file; a corrupt file is never written to.
    """
    path = str(path)
    if path != ":memory:":
        _check_header(path)
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable("read_only", f"cannot create the folder of the results database {path}: "
                                   f"{exc.strerror}") from None
    conn = None
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        conn.row_factory = sqlite3.Row
        _check_integrity(conn, path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        probe_write(conn)
        migrate(conn)
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if not isinstance(exc, sqlite3.DatabaseError):
            raise
        reason, _ = classify(exc)
        if reason in ("corrupt", "not_sqlite"):
            raise StoreCorrupt(reason, f"the results database {path} is damaged ({exc}); restore a backup"
                               " (docs/deploy.md, Backups)") from None
        raise unavailable(path, exc) from None
    return conn


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreUnavailable("io_error", f"cannot read the results database {path}: {exc.strerror}") from None
    if head and head != SQLITE_HEADER:
        raise StoreCorrupt("not_sqlite", f"{path} is not an SQLite database (wrong file, or overwritten);"
                           " restore a backup (docs/deploy.md, Backups) or point [store] path elsewhere")


def _check_integrity(conn: sqlite3.Connection, path: str) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall()]
    if problems != ["ok"]:
        raise StoreCorrupt("corrupt", f"the results database {path} is damaged ({'; '.join(problems)[:200]});"
                           " restore a backup (docs/deploy.md, Backups)")


def probe_write(conn: sqlite3.Connection) -> None:
    """A real write that changes nothing: rewrite ``user_version`` with its own value and commit.
    Raises ``sqlite3.Error`` if the database cannot be written (read-only, disk full, I/O error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    migrations = load_migrations()
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise StoreCorrupt("too_new", f"database schema version {version} is newer than this sledhub"
                           f" ({len(migrations)}): upgrade sledhub")
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
    """A connection shared by the hub's threads, serialised by a lock (SQLite allows one writer).

    Opening runs the start-up checks of :func:`connect`. A write that fails (read-only, disk full,
    I/O error) is rolled back and raised as :class:`StoreUnavailable`; ``writable`` says whether the
    last write (or probe) succeeded. An ``IntegrityError`` (a constraint, i.e. a caller's mistake)
    passes through unchanged.
    """

    def __init__(self, path: str | Path, *, clock_s: Callable[[], float] = time.monotonic):
        self.path = str(path)
        self._conn = connect(path)
        self.lock = threading.RLock()
        self._clock_s = clock_s
        self.writable = True
        self.write_error: StoreUnavailable | None = None
        self.failed_writes = 0
        self._checked_s = clock_s()

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        with self.lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                if is_storage_failure(exc):
                    raise self._failed(exc) from None
                raise

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def transaction(self) -> "_Transaction":
        """``with db.transaction() as conn:`` commits on success, rolls back on error."""
        return _Transaction(self)

    def check_writable(self, max_age_s: float = 5.0) -> bool:
        """Whether the database takes writes: the outcome of the last write, re-checked with
        :func:`probe_write` when that is older than ``max_age_s`` (so a health poll costs at most one
        tiny write per ``max_age_s``)."""
        with self.lock:
            if self._clock_s() - self._checked_s < max_age_s:
                return self.writable
            try:
                probe_write(self._conn)
            except sqlite3.Error as exc:
                self._failed(exc)
            else:
                self._ok()
            return self.writable

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def _ok(self) -> None:
        self.writable, self.write_error, self._checked_s = True, None, self._clock_s()

    def _failed(self, exc: sqlite3.Error) -> StoreUnavailable:
        err = unavailable(self.path, exc)
        self.writable, self.write_error, self._checked_s = False, err, self._clock_s()
        self.failed_writes += 1
        return err


class _Transaction:
    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.lock.acquire()
        try:
            self.db._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self.db.lock.release()
            raise self.db._failed(exc) from None
        return self.db._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        conn = self.db._conn
        try:
            if exc_type is None:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as err:
                    raise self.db._failed(err) from None
                self.db._ok()
                return
            if is_storage_failure(exc):
                raise self.db._failed(exc) from None
        finally:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # nothing was committed; SQLite rolls back itself on the next BEGIN
            self.db.lock.release()
