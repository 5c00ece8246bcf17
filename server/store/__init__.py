"""Persistence: SQLite (WAL) database, migrations and the repositories the services use."""

from server.store.db import Database, connect, migrate

__all__ = ["Database", "connect", "migrate"]
