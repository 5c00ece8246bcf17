"""Copies of the database taken with SQLite's online backup API (consistent while the hub runs).

``sledhub serve`` takes one at every start-up, after the start-up checks passed (so a damaged file
never replaces a good copy) and before anything else writes: ``<folder of the database>/backups/
<name>-<UTC time>.db``, keeping the newest ``keep``. docs/deploy.md ("Backups") says how to restore.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable

from server.store.db import Database

DEFAULT_KEEP = 5


def backup_folder(db_path: str | Path) -> Path:
    return Path(db_path).resolve().parent / "backups"


def take_backup(db: Database, *, keep: int = DEFAULT_KEEP, wall_clock: Callable[[], float] = time.time) -> Path:
    """Copy ``db`` to a new file in :func:`backup_folder` and delete all but the newest ``keep``
    copies; returns the new file. Raises ``OSError``/``sqlite3.Error`` if it cannot be written."""
    folder = backup_folder(db.path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_clock()))
    target = folder / f"{Path(db.path).stem}-{stamp}.db"
    partial = target.with_suffix(".db.partial")
    out = sqlite3.connect(partial)
    try:
        with db.lock:
            db._conn.backup(out)
    finally:
        out.close()
    partial.replace(target)  # a copy is either whole or absent
    copies = sorted(folder.glob(f"{Path(db.path).stem}-*.db"))
    for old in copies[:-keep] if keep > 0 else []:
        old.unlink()
    return target


def backups(db_path: str | Path) -> list[Path]:
    """The copies of the database at ``db_path``, oldest first."""
    return sorted(backup_folder(db_path).glob(f"{Path(db_path).stem}-*.db"))
