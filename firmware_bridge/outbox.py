"""Store-and-forward for a node: events on disk until the broker acknowledges them, telemetry in a ring.

- :class:`Outbox` (events, QoS 1): every event is appended to a SQLite file before it is published and
  deleted only after its PUBACK, so events survive broker outages and node restarts and go out in the
  order they were made. It holds at most ``max_events``; an event beyond that is dropped and counted
  in ``dropped`` (the ones already kept are never discarded).
- :class:`TelemetryRing` (telemetry, QoS 0): while the broker is unreachable, telemetry batches wait in
  memory, at most ``max_samples`` samples; beyond that the oldest batches are dropped and their samples
  counted in ``dropped_samples``.

Both are used from one thread (the node's sender); the counters may be read from any thread.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from pathlib import Path
from typing import NamedTuple


class OutboxRow(NamedTuple):
    row_id: int
    topic: str
    payload: bytes


class Outbox:
    """Bounded, ordered event store in SQLite (``path``; ``":memory:"`` for a volatile one)."""

    def __init__(self, path: str, max_events: int) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_events = max_events
        self.dropped = 0
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
            " payload BLOB NOT NULL)")
        self._depth: int = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    @property
    def depth(self) -> int:
        """Events stored now (waiting to be sent or acknowledged)."""
        return self._depth

    def __len__(self) -> int:
        return self._depth

    def append(self, topic: str, payload: bytes) -> bool:
        """Store one event; False (and ``dropped`` + 1) when the outbox is full."""
        if self._depth >= self.max_events:
            self.dropped += 1
            return False
        self._db.execute("INSERT INTO outbox (topic, payload) VALUES (?, ?)", (topic, payload))
        self._depth += 1
        return True

    def after(self, row_id: int, limit: int) -> list[OutboxRow]:
        """Return up to ``limit`` stored events with ids above ``row_id``, oldest first."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (row_id, limit))
        return [OutboxRow(r[0], r[1], bytes(r[2])) for r in rows]

    def delete(self, row_id: int) -> None:
        """Forget an event once the broker has acknowledged it."""
        if self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,)).rowcount:
            self._depth -= 1

    def close(self) -> None:
        self._db.close()


class TelemetryRing:
    """In-memory batches of telemetry waiting for the broker, bounded by ``max_samples`` samples."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self.dropped_samples = 0
        self._batches: deque[tuple[str, bytes, int]] = deque()
        self._samples = 0

    def __len__(self) -> int:
        return len(self._batches)

    @property
    def samples(self) -> int:
        return self._samples

    def push(self, topic: str, payload: bytes, n_samples: int) -> None:
        """Keep one batch of ``n_samples``; drop the oldest batches while over the bound."""
        self._batches.append((topic, payload, n_samples))
        self._samples += n_samples
        while self._samples > self.max_samples and self._batches:
            _, _, n = self._batches.popleft()
            self._samples -= n
            self.dropped_samples += n

    def pop(self) -> tuple[str, bytes] | None:
        """Return the oldest batch as ``(topic, payload)`` or None when empty."""
        if not self._batches:
            return None
        topic, payload, n = self._batches.popleft()
        self._samples -= n
        return topic, payload
