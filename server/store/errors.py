"""Errors of the results store. They know nothing of HTTP: ``server/web/errors.py`` answers
:class:`StoreUnavailable` with ``503`` and ``sledhub serve`` turns a :class:`StoreError` at start-up
into a one-line message and exit status 3 (``systemd/sledhub.service`` does not restart on it).
"""

from __future__ import annotations

import os
import sqlite3

EXIT_STORE = 3
"""Exit status of ``sledhub serve``/``demo`` when the database cannot be used at start-up."""


class StoreError(RuntimeError):
    """The database cannot be used. ``reason`` is a short code, the message one line for a person.

    Reasons: ``read_only`` (file or filesystem not writable), ``disk_full``, ``io_error``,
    ``corrupt`` (fails SQLite's integrity check), ``not_sqlite`` (the file is something else),
    ``too_new`` (written by a newer sledhub), ``locked`` (another program holds the write lock).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class StoreCorrupt(StoreError):
    """Found at start-up: the file is not a sledhub database, or it is damaged. Restore a backup
    (docs/deploy.md, "Backups")."""


class StoreUnavailable(StoreError):
    """A write could not be committed (read-only, disk full, I/O error). Nothing committed before is
    touched; the write that failed was rolled back."""


_REASONS = (
    ("readonly", "read_only", "the database is read-only"),
    ("read-only", "read_only", "the database is read-only"),
    ("disk is full", "disk_full", "the disk is full"),
    ("disk i/o error", "io_error", "a disk I/O error"),
    ("malformed", "corrupt", "the database file is damaged"),
    ("not a database", "not_sqlite", "the file is not an SQLite database"),
    ("locked", "locked", "another program holds the database's write lock"),
    ("unable to open", "io_error", "the database file cannot be opened"),
)


def classify(exc: sqlite3.Error) -> tuple[str, str]:
    """``(reason code, plain words)`` for an SQLite error (``("io_error", str(exc))`` if unknown)."""
    text = str(exc).lower()
    for needle, reason, words in _REASONS:
        if needle in text:
            return reason, words
    return "io_error", str(exc)


def is_storage_failure(exc: BaseException) -> bool:
    """True for an SQLite error that says the file or disk failed (not a mistake in the SQL or a
    constraint, which stay bugs and conflicts)."""
    if not isinstance(exc, sqlite3.Error) or isinstance(exc, sqlite3.IntegrityError):
        return False
    text = str(exc).lower()
    return any(needle in text for needle, _, _ in _REASONS)


def _read_only_fs(path: str) -> bool:
    """Whether the file at ``path`` (or its folder) cannot be written: a read-only mount or no permission."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    target = path if os.path.exists(path) else folder
    return not os.access(target, os.W_OK)


def unavailable(path: str, exc: sqlite3.Error) -> StoreUnavailable:
    """The :class:`StoreUnavailable` for a failed write to the database at ``path``."""
    reason, words = classify(exc)
    if reason == "io_error" and path != ":memory:" and _read_only_fs(path):
        reason, words = "read_only", "the database is read-only (read-only filesystem or no permission)"
    return StoreUnavailable(reason, f"cannot write the results database {path}: {words}")
