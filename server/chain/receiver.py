"""Takes in the other gyms' results, as the bridge brings them in on ``sledhub/v1/chain/<gym>/results/<station>``.

paho's thread only queues a message (:meth:`ChainReceiver.offer`: never parses, never blocks); the
pipeline's ticker (:meth:`ChainReceiver.tick`) validates what came and stores it in one transaction
(:meth:`server.chain.store.ChainStore.put`: idempotent on the stable id, a correction replaces its
earlier version). A message is refused, and counted by reason, when its payload is not a valid record
or when the gym in its topic is not the gym in its payload (the central broker's ACL lets a gym publish
under its own id only, so the topic is what is trusted). This gym's own results coming back are
ignored (``echoes``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from typing import Callable

from server.chain.record import ChainRecord, RecordError, parse_payload
from server.chain.store import ChainStore

log = logging.getLogger(__name__)

CHAIN_ROOT = "sledhub/v1/chain"
SUBSCRIPTION = (f"{CHAIN_ROOT}/+/results/+", 1)
"""What the hub subscribes to on its own broker (the bridge's ``in`` topics land there)."""
MAX_QUEUED = 100_000
BATCH = 500


def is_chain_topic(topic: str) -> bool:
    return topic.startswith(CHAIN_ROOT + "/")


class ChainReceiver:
    """See the module docstring. ``listeners`` hear the records that changed something."""

    def __init__(self, store: ChainStore, gym_id: str):
        self.store = store
        self.gym_id = gym_id
        self._queue: deque[tuple[str, bytes]] = deque()
        self._lock = threading.Lock()
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self.duplicates = 0
        self.echoes = 0
        """This gym's own results coming back down the bridge (ignored: its own copy is the source)."""
        self.listeners: list[Callable[[list[ChainRecord]], None]] = []

    def offer(self, topic: str, payload: bytes, rx_us: int) -> None:
        """paho's thread: queue one message (dropped and counted when the queue is full)."""
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self.rejected["queue_full"] += 1
                return
            self._queue.append((topic, payload))

    def tick(self, now_us: int) -> None:
        """Pipeline ticker: store what arrived since the last tick."""
        with self._lock:
            batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
        if batch:
            self.take(batch)

    def take(self, messages: list[tuple[str, bytes]]) -> list[ChainRecord]:
        """Validate and store ``(topic, payload)`` messages; returns the records that changed something."""
        records = []
        for topic, payload in messages:
            record = self._check(topic, payload)
            if record is not None:
                records.append(record)
        return self.store_records(records)

    def store_records(self, records: list[ChainRecord]) -> list[ChainRecord]:
        """Store validated records (also the reconciliation's); tell the listeners what changed."""
        if not records:
            return []
        changed = self.store.put(records)
        self.accepted += len(changed)
        self.duplicates += len(records) - len(changed)
        if changed:
            for listener in self.listeners:
                try:
                    listener(changed)
                except Exception:  # a listener's bug must not stop the pipeline
                    log.exception("chain listener failed")
        return changed

    def _check(self, topic: str, payload: bytes) -> ChainRecord | None:
        parts = topic.split("/")
        if len(parts) != 6 or not is_chain_topic(topic) or parts[4] != "results":
            self.rejected["topic"] += 1
            return None
        try:
            record = parse_payload(payload)
        except RecordError as exc:
            self.rejected["payload"] += 1
            log.debug("chain message on %s refused: %s", topic, exc)
            return None
        if record.gym_id != parts[3] or record.station_id != parts[5]:
            self.rejected["topic_mismatch"] += 1
            return None
        if record.gym_id == self.gym_id:  # our own, back from the central broker: not an error
            self.echoes += 1
            return None
        return record

    def stats(self) -> dict[str, object]:
        with self._lock:
            queued = len(self._queue)
        return {"accepted": self.accepted, "duplicates": self.duplicates, "echoes": self.echoes, "queued": queued,
                "rejected": dict(self.rejected)}
