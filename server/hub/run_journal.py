"""What a hub restart must not lose: the inputs of every attempt still armed or running.

While any attempt is armed or running, the hub writes down, in the order it applies them, everything
the timing engine gets for those stations: the heat's commands (``arm`` with its assignments, ``go``,
``stop``, ``abort``, each with its hub time), the events and telemetry batches routed to them (hub
times, so no clock state is needed to replay them), and at ``arm`` what the stations start from
(``TimingEngine.resume_inputs``: a sled's rest position, buffered events). Entries are queued in memory
and written in one transaction per pipeline tick (40 ms); once no attempt is active the journal is
emptied.

After a restart (``sledhub serve`` again on the same database, the same machine boot: the hub clock is
the system's monotonic clock, which only a reboot restarts) the hub replays the journal into its fresh
engine and attempt book, then lets the engine's clock catch up from the journal's last time. What
nodes published while the hub was down comes from the broker (persistent session) and finishes the
runs with their exact times.

``hub_state`` keeps small bits of state the same way (the node clock samples, ``ClockSync.export``), so
those queued messages are placed on the hub clock before the nodes have answered a new ping.

Runs on the pipeline thread only (not thread-safe); all I/O goes through :class:`Database`. When the
database refuses a write (disk full, read-only: :class:`StoreUnavailable`) nothing raises: entries stay
queued (at most :data:`MAX_PENDING`, the oldest dropped beyond) and a pending clear is retried, at every
tick, until it takes writes again; the outage is logged once.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable

import msgspec

from server.store.db import Database
from server.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
"""JSON in C: an entry per telemetry batch is written for every running station, and ``json.dumps``
was a tenth of the pipeline's work at class load (``bench.pipeline_bench --profile``). The text is the
same JSON (tuples as arrays, floats as their shortest round-trip form); ``json.loads`` reads it back."""

MAX_PENDING = 100_000
"""Entries kept in memory while the database refuses writes (about 10 min of a full class's telemetry)."""


class RunJournal:
    """See the module docstring. ``host_boot``: the machine's boot id (None: never replay)."""

    def __init__(self, db: Database, host_boot: str | None):
        self.db = db
        self.host_boot = host_boot
        self._pending: list[tuple[str, str]] = []
        self._rows = 0          # rows written since the journal was last emptied
        self._clear_due = False  # a clear the database refused: done before the next write
        self._outage = False    # the database refuses writes (logged once)
        self.written = 0
        self.replayed = 0
        self.dropped = 0        # entries dropped past MAX_PENDING during an outage
        self._saved: dict[str, str] = {}  # what save_state last wrote, per key

    # writing ------------------------------------------------------------------------------------
    def add(self, kind: str, body: dict[str, Any]) -> None:
        """Queue one entry (written at the next :meth:`flush`)."""
        self._pending.append((kind, _encode(body).decode()))

    def event(self, station_id: str, role: str, kind: str, t_us: int, value: float | None) -> None:
        self.add("event", {"s": station_id, "r": role, "k": kind, "t": t_us, "v": value})

    def samples(self, station_id: str, role: str, kind: str, samples: Iterable[tuple], offset_us: int) -> None:
        rows = samples if isinstance(samples, (tuple, list)) else list(samples)  # tuples are JSON arrays too
        self.add("samples", {"s": station_id, "r": role, "k": kind, "o": offset_us, "x": rows})

    def flush(self) -> None:
        """Write the queued entries in one transaction (kept queued if the database refuses)."""
        if self._clear_due and not self._delete_all():
            return
        if not self._pending:
            return
        rows = self._pending

        def insert(conn: Any) -> None:
            if self._rows == 0:
                self._mark_boot(conn)
            conn.executemany("INSERT INTO run_journal (kind, body) VALUES (?, ?)", rows)

        if self._write(insert):
            self._pending = []
            self._rows += len(rows)
            self.written += len(rows)
        elif len(self._pending) > MAX_PENDING:
            extra = len(self._pending) - MAX_PENDING
            del self._pending[:extra]
            self.dropped += extra

    def clear(self) -> None:
        """No attempt is active any more: forget every entry (retried at the next flush if refused)."""
        self._pending.clear()
        if self._rows or self._clear_due:
            self._delete_all()

    def _delete_all(self) -> bool:
        done = self._write(lambda conn: conn.execute("DELETE FROM run_journal"))
        if done:
            self._rows = 0
        self._clear_due = not done
        return done

    def _write(self, work: Any) -> bool:
        """Run ``work(conn)`` in one transaction; False (logged once per outage) if the database refuses."""
        try:
            with self.db.transaction() as conn:
                work(conn)
        except StoreUnavailable as exc:
            if not self._outage:
                log.error("run journal kept in memory until the database takes writes again: %s", exc)
            self._outage = True
            return False
        if self._outage:
            log.info("run journal: the database takes writes again")
        self._outage = False
        return True

    def _mark_boot(self, conn) -> None:
        conn.execute("INSERT OR REPLACE INTO hub_state (key, value) VALUES ('host_boot', ?)",
                     (json.dumps(self.host_boot),))

    # reading (at start) -------------------------------------------------------------------------
    def entries(self) -> list[tuple[str, dict[str, Any]]]:
        """The journal to replay, oldest first; empty when it was written in another machine boot (the
        hub clock restarted: its times mean nothing now) or there is none."""
        rows = self.db.query("SELECT kind, body FROM run_journal ORDER BY id")
        if not rows:
            return []
        if self.host_boot is None or self.load_state("host_boot") != self.host_boot:
            log.warning("run journal of an earlier machine boot (%d entries) ignored", len(rows))
            return []
        out = []
        for row in rows:
            try:
                out.append((row["kind"], json.loads(row["body"])))
            except ValueError:
                log.warning("run journal: unreadable entry skipped")
        self._rows = len(rows)
        self.replayed = len(out)
        return out

    # small state ----------------------------------------------------------------------------------
    def save_state(self, key: str, value: Any) -> bool:
        """Keep ``value`` under ``key``; False if the database refused (the caller saves again later)."""
        text = json.dumps(value, separators=(",", ":"))
        if self._saved.get(key) == text:
            return True  # unchanged since the last save: no write
        done = self._write(lambda conn: conn.execute("INSERT OR REPLACE INTO hub_state (key, value) VALUES (?, ?)",
                                                     (key, text)))
        if done:
            self._saved[key] = text
        return done

    def load_state(self, key: str) -> Any:
        rows = self.db.query("SELECT value FROM hub_state WHERE key = ?", (key,))
        if not rows:
            return None
        try:
            return json.loads(rows[0]["value"])
        except ValueError:
            return None


def read_host_boot() -> str | None:
    """This machine boot's id (Linux); None where there is none (then nothing is replayed)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except OSError:
        return None
