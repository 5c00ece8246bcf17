"""A hub's part in a chain of gyms (``docs/scaling.md``): built by :func:`server.app.create_app` when
``[chain] gym_id`` is set, from these parts:

- :class:`~server.chain.publisher.ChainPublisher`: this gym's results and corrections out, once, on
  ``sledhub/v1/hub/results/<station>`` (the Mosquitto bridge carries them to the central broker);
- :class:`~server.chain.receiver.ChainReceiver`: the other gyms' results in, from
  ``sledhub/v1/chain/<gym>/results/<station>`` (the bridge's ``in`` topics);
- :class:`~server.chain.reconcile.Reconciler`: ``GET /api/results?since=`` of other hubs, for what the
  brokers' queues lost;
- :class:`~server.chain.store.ChainStore`: both kinds, for chain boards and the reconciliation feed.

Nothing here talks to the broker itself: the hub's one MQTT link publishes for it and hands it the
chain's messages (:meth:`ChainService.route`), and the pipeline's ticker runs both directions.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from server.chain.publisher import ChainPublisher, Publish
from server.chain.receiver import SUBSCRIPTION, ChainReceiver, is_chain_topic
from server.chain.reconcile import Fetch, Reconciler, feed, http_fetch
from server.chain.record import ChainRecord
from server.chain.store import ChainStore
from server.config import ChainConfig
from server.store.db import Database

Sink = Callable[[str, bytes, int], None]
BatchSink = Callable[[list[tuple[str, bytes]], int], None]


class ChainService:
    """See the module docstring. ``wall_clock`` is Unix time (s)."""

    subscriptions = (SUBSCRIPTION,)

    def __init__(self, config: ChainConfig, db: Database, publish: Publish, connected: Callable[[], bool],
                 wall_clock: Callable[[], float] = time.time, fetch: Fetch = http_fetch):
        self.gym_id = config.gym_id
        self.club = config.club or config.gym_id
        self.store = ChainStore(db, wall_clock)
        self.publisher = ChainPublisher(db, self.store, self.gym_id, self.club, publish, connected)
        self.receiver = ChainReceiver(self.store, self.gym_id)
        self.reconciler = Reconciler(config.reconcile_from.split(), self.store, self.receiver,
                                     config.reconcile_interval_s, fetch)

    def route(self, hub_sink: Sink) -> Sink:
        """The MQTT link's sink: the chain's topics to the receiver, everything else to the hub."""
        offer = self.receiver.offer

        def sink(topic: str, payload: bytes, rx_us: int) -> None:
            (offer if is_chain_topic(topic) else hub_sink)(topic, payload, rx_us)
        return sink

    def route_batch(self, hub_batch: BatchSink) -> BatchSink:
        """``route`` for messages read together: the chain's topics to the receiver, the rest to the hub
        in one batch."""
        offer = self.receiver.offer

        def sink(messages: list[tuple[str, bytes]], rx_us: int) -> None:
            if any(is_chain_topic(topic) for topic, _ in messages):
                mine = []
                for topic, payload in messages:
                    if is_chain_topic(topic):
                        offer(topic, payload, rx_us)
                    else:
                        mine.append((topic, payload))
                messages = mine
            hub_batch(messages, rx_us)
        return sink

    def tick(self, now_us: int) -> None:
        """Pipeline ticker (hub clock, µs): take in what arrived, send out what was committed."""
        self.receiver.tick(now_us)
        self.publisher.tick(now_us)

    def on_change(self, listener: Callable[[list[ChainRecord]], None]) -> None:
        """``listener(records)`` hears every record stored, this gym's and the others' (pipeline thread,
        or the reconciler's)."""
        self.receiver.listeners.append(listener)
        self.publisher.listeners.append(listener)

    def results_since(self, since: str, limit: int) -> dict[str, Any]:
        """``GET /api/results?since=``: this gym's shared results changed after ``since``."""
        return feed(self.store, self.gym_id, since, limit)

    def drills(self) -> list[str]:
        return self.store.drills()

    def health(self) -> dict[str, Any]:
        return {"gym_id": self.gym_id, "club": self.club, "published": self.publisher.published,
                "withheld": self.publisher.withheld, "received": self.receiver.stats(),
                "held": self.store.counts(),
                "reconcile": {"peers": len(self.reconciler.peers), "rounds": self.reconciler.rounds,
                              "filled": self.reconciler.filled, "failures": self.reconciler.failures}}

    def start(self) -> None:
        self.reconciler.start()

    def stop(self) -> None:
        self.reconciler.stop()
