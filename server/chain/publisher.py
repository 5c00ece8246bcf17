"""Publishes this gym's committed results, and each later correction, once, on
``sledhub/v1/hub/results/<station>`` (QoS 1), after they are committed.

It follows the database rather than the code paths that write it: three cursors (saved in table
``chain_cursor``) walk the ``results`` rows (by ``rowid``; a result of record is written once), the
``corrections`` audit trail (by ``id``) and the roster (``members.updated_at``: a new nickname or an
opt-out changes what was shared). So a result, an edit, a disqualification or a deletion made by any
route is published, and a hub restarted mid-way goes on where it stopped. A version is made only when
the shared record really changes (0 first, then +1; compared with this gym's own copy in
``chain_results``), so looking at a row twice publishes nothing twice. The pipeline's ticker calls :meth:`tick`;
the result writer's listener (:meth:`result_committed`) makes the next tick look at once instead of at
the next ``poll_interval_us``.

What is published (:mod:`server.chain.record`): the wall name, never a full name; nothing at all of a
member who opted out of boards, nor of a result nobody can be named for; when a member opts out after
results of theirs were shared, each of those gets a ``DELETED`` version (named ``"Member"``), so the
other gyms drop them too. While the hub has no broker
nothing moves, so the cursors never pass a result that was not handed to a connected client.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from typing import Any, Callable

from server.boards.model import HIDDEN_NAME, course_of, wall_name
from server.chain.record import ATTEMPT_ID, DELETED, GYM_ID, KINDS, ChainRecord, drill_of
from server.chain.store import ChainStore
from server.store.db import Database

log = logging.getLogger(__name__)

RESULTS_TOPIC = "sledhub/v1/hub/results/{station}"
"""Where this hub publishes its results (QoS 1, not retained)."""
BATCH = 200
"""Rows looked at per cursor per tick, so a backlog never holds the pipeline long."""

Publish = Callable[[str, bytes], bool]
"""``publish(topic, payload) -> accepted`` at QoS 1 (the hub's MQTT link)."""


class ChainPublisher:
    """See the module docstring. ``gym_id``/``club`` come from ``[chain]`` in the config."""

    def __init__(self, db: Database, store: ChainStore, gym_id: str, club: str, publish: Publish,
                 connected: Callable[[], bool], poll_interval_us: int = 250_000):
        self.db = db
        self.store = store
        self.gym_id = gym_id
        self.club = club or gym_id
        self._publish = publish
        self._connected = connected
        self._poll_interval_us = poll_interval_us
        self._last_poll_us: int | None = None
        self._due = True
        self._unsent: list[ChainRecord] = []
        self.published = 0
        self.withheld = 0
        """Looks at a result that was not shared: a member who opted out, an athlete nobody can name, an unknown station."""
        self.listeners: list[Callable[[list[ChainRecord]], None]] = []
        """Hear this gym's records as they are stored for its own chain boards (pipeline thread)."""

    def result_committed(self, result: Any) -> None:
        """Result-writer listener: look at the database on the next tick."""
        self._due = True

    def tick(self, now_us: int) -> None:
        """Pipeline ticker (hub clock, µs): publish what was committed since the cursors."""
        if not self._due and self._last_poll_us is not None and now_us - self._last_poll_us < self._poll_interval_us:
            return
        if not self._connected():
            return
        self._last_poll_us, self._due = now_us, False
        self._due = self.publish_pending()

    def publish_pending(self) -> bool:
        """One batch of each cursor; True when more is waiting."""
        if self._unsent and not self._send():
            return True
        rowid, correction_id = self.store.cursor("results_rowid"), self.store.cursor("corrections_id")
        members_at = self.store.cursor("members_updated_at")
        rows = self.db.query("SELECT rowid AS rid, * FROM results WHERE rowid > ? ORDER BY rowid LIMIT ?",
                             (rowid, BATCH))
        fixes = self.db.query("SELECT id, result_id, before_json FROM corrections WHERE id > ? ORDER BY id LIMIT ?",
                              (correction_id, BATCH))
        members = self.db.query("SELECT id, updated_at FROM members WHERE updated_at > ? ORDER BY updated_at LIMIT ?",
                                (members_at, BATCH))
        if not rows and not fixes and not members:
            return False
        batch: dict[str, ChainRecord] = {}
        for row in rows:
            self._take(batch, dict(row))
        for fix in fixes:
            current = self.db.query("SELECT * FROM results WHERE id = ?", (fix["result_id"],))
            if current:
                self._take(batch, dict(current[0]))
            else:
                before = json.loads(fix["before_json"])
                self._take(batch, {**before, "detail_json": json.dumps(before.get("detail") or {})}, deleted=True)
        for member in members:  # a new nickname, or an opt-out: their shared results change too
            for row in self.db.query("SELECT * FROM results WHERE member_id = ?", (member["id"],)):
                self._take(batch, dict(row))
        ordered = sorted(batch.values(), key=lambda r: r.finished_at)
        changed = self.store.put(ordered)  # this gym's copy, on its own chain boards with or without an uplink
        if changed:
            for listener in self.listeners:
                listener(changed)
        self._unsent.extend(ordered)
        if rows:
            self.store.set_cursor("results_rowid", rows[-1]["rid"])
        if fixes:
            self.store.set_cursor("corrections_id", fixes[-1]["id"])
        if members:
            self.store.set_cursor("members_updated_at", members[-1]["updated_at"])
        sent = self._send()
        return not sent or len(rows) == BATCH or len(fixes) == BATCH or len(members) == BATCH

    def _send(self) -> bool:
        """Hand what is stored but unsent to the MQTT client, in order; False when it refused one (the
        rest waits for the next tick; a hub that stops meanwhile leaves it to reconciliation)."""
        while self._unsent:
            r = self._unsent[0]
            if not self._publish(RESULTS_TOPIC.format(station=r.station_id), r.encode()):
                log.warning("the MQTT client refused result %s; it is sent again on the next tick", r.id)
                return False
            self._unsent.pop(0)
            self.published += 1
        return True

    def _take(self, batch: dict[str, ChainRecord], row: dict[str, Any], deleted: bool = False) -> None:
        """Add the next version of ``row``'s shared record to ``batch`` when it differs from the last one
        (0 for the first; a result withheld now but shared before becomes a DELETED version)."""
        key = f"{self.gym_id}:{row['id']}"
        held = batch.get(key) or self.store.get(key)
        candidate = self._record(row, deleted)
        if candidate is None:
            if held is None or held.status == DELETED:
                return
            batch[key] = replace(held, version=held.version + 1, athlete=HIDDEN_NAME, status=DELETED, time_s=None)
            return
        if held is not None and replace(candidate, version=held.version) == held:
            return
        batch[key] = replace(candidate, version=0 if held is None else held.version + 1)

    def _record(self, row: dict[str, Any], deleted: bool = False) -> ChainRecord | None:
        """The shared form of one ``results`` row (a dict of its columns), version 0; None when withheld."""
        name, person = self._who(row.get("member_id"), row.get("athlete") or "")
        station = self.db.query("SELECT kind FROM stations WHERE id = ?", (row["station_id"],))
        kind = station[0]["kind"] if station else None
        if name is None or kind not in KINDS or not GYM_ID.fullmatch(row["station_id"]) \
                or not ATTEMPT_ID.fullmatch(row["id"]):
            self.withheld += 1
            return None
        detail = json.loads(row.get("detail_json") or "{}")
        metrics = detail.get("metrics") or {}
        course, _ = course_of(metrics.get("distance_m"), metrics.get("route"))
        return ChainRecord(gym_id=self.gym_id, attempt_id=row["id"], version=0, club=self.club,
                           athlete=name, person=person, station_id=row["station_id"], drill=drill_of(kind, course),
                           status=DELETED if deleted else row["status"],
                           time_s=None if deleted else row["time_s"], finished_at=row["finished_at"])

    def _who(self, member_id: str | None, athlete: str) -> tuple[str | None, str]:
        """``(wall name, person key)``; name None when the result must stay in the gym."""
        if member_id:
            rows = self.db.query("SELECT name, nickname, opt_out FROM members WHERE id = ?", (member_id,))
            if not rows or rows[0]["opt_out"]:
                return None, ""
            return wall_name(rows[0]["name"], rows[0]["nickname"])[:120], _opaque(self.gym_id, "m:" + member_id)
        name = athlete.strip()[:120]
        return (name, _opaque(self.gym_id, "a:" + name.casefold())) if name else (None, "")


def _opaque(gym_id: str, key: str) -> str:
    """A person key that says nothing about the member id behind it."""
    return hashlib.sha256(f"{gym_id}/{key}".encode()).hexdigest()[:16]
