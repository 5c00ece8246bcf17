"""Reconciliation: fills what the brokers' queues could not hold, by asking other hubs directly.

Each hub answers ``GET /api/results?since=<seq>`` with its own gym's records changed after ``seq`` (its
change counter; :func:`feed`). :class:`Reconciler` asks every peer in ``[chain] reconcile_from`` for
what came after the last ``seq`` it has from that peer (saved as a cursor, ``peer:<url>``), page by
page, and stores it through the receiver's path, so whatever the bridge already delivered is a
duplicate that changes nothing. It runs on its own thread, once at start and then every
``reconcile_interval_s`` (started and stopped with the hub), never on the pipeline: a slow peer must
not hold the timing. A peer that does not answer is counted (``failures``) and asked again next round.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
import urllib.request
from typing import Any, Callable

from server.chain.receiver import ChainReceiver
from server.chain.record import RecordError, parse_payload
from server.chain.store import ChainStore
from server.errors import InvalidInput

log = logging.getLogger(__name__)

PAGE = 500
FEED_LIMIT_MAX = 1000
Fetch = Callable[[str], Any]
"""``fetch(url) -> parsed JSON`` (raises OSError or ValueError on failure)."""


def feed(store: ChainStore, gym_id: str, since: str, limit: int = PAGE) -> dict[str, Any]:
    """The answer to ``GET /api/results?since=``: ``{"gym_id", "results": [payload + "seq"], "next"}``;
    ``next`` is the ``since`` of the next page (the same value when nothing more is there)."""
    try:
        cursor = int(since)
    except ValueError:
        raise InvalidInput(f"query parameter 'since' must be an integer (a seq from an earlier answer), "
                           f"got {since!r}") from None
    if cursor < 0:
        raise InvalidInput("query parameter 'since' must be 0 or more")
    if not 1 <= limit <= FEED_LIMIT_MAX:
        raise InvalidInput(f"query parameter 'limit' must be 1..{FEED_LIMIT_MAX}")
    held = store.since(cursor, limit, gym_id=gym_id)
    return {"gym_id": gym_id, "results": [{**s.record.to_payload(), "seq": s.seq} for s in held],
            "next": held[-1].seq if held else cursor}


def http_fetch(url: str, timeout_s: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310 - configured peer URLs only
        return json.loads(answer.read())


class Reconciler:
    """Asks each peer for what it has not delivered; see the module docstring."""

    def __init__(self, peers: list[str], store: ChainStore, receiver: ChainReceiver, interval_s: float,
                 fetch: Fetch = http_fetch):
        self.peers = [p.rstrip("/") for p in peers]
        self.store = store
        self.receiver = receiver
        self.interval_s = interval_s
        self._fetch = fetch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.filled = 0
        """Records the reconciliation stored that the bridge had not delivered."""
        self.failures = 0

    def run_once(self) -> int:
        """One round over every peer; returns how many records it filled in."""
        filled = 0
        for peer in self.peers:
            try:
                filled += self._from(peer)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.failures += 1
                log.warning("reconciliation with %s failed: %s", peer, exc)
        self.rounds += 1
        self.filled += filled
        return filled

    def _from(self, peer: str) -> int:
        name = f"peer:{peer}"
        cursor, filled = self.store.cursor(name), 0
        while True:
            page = self._fetch(f"{peer}/api/results?{urllib.parse.urlencode({'since': cursor, 'limit': PAGE})}")
            records = []
            for item in page["results"]:
                try:
                    records.append(parse_payload(json.dumps({k: v for k, v in item.items() if k != "seq"}).encode()))
                except RecordError as exc:
                    log.warning("reconciliation: %s sent a bad record: %s", peer, exc)
            records = [r for r in records if r.gym_id == page["gym_id"] != self.receiver.gym_id]
            filled += len(self.receiver.store_records(records))
            nxt = int(page["next"])
            if nxt <= cursor:
                return filled
            cursor = nxt
            self.store.set_cursor(name, cursor)

    def start(self) -> None:
        if self.peers and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sledhub-chain-reconcile", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def _loop(self) -> None:
        """A round at start (what was missed while this hub was off), then one every ``interval_s``."""
        while True:
            self.run_once()
            if self._stop.wait(self.interval_s):
                return
