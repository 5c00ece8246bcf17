"""Persistence: SQLite (WAL) database, migrations and the repositories the services use."""

from server.store.db import Database, connect, migrate
from server.store.errors import EXIT_STORE, StoreCorrupt, StoreError, StoreUnavailable

__all__ = ["Database", "connect", "migrate", "EXIT_STORE", "StoreCorrupt", "StoreError", "StoreUnavailable"]
