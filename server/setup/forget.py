"""Forgetting sensor nodes: an admin forgets one (``DELETE /api/setup/nodes/{node_id}``), and a node
nobody adopted expires after ``ttl_s`` without a message.

A node is *adopted* once a sensor of it is bound to a station; adopted nodes never expire and cannot
be forgotten (unbind them first: a station would silently lose a sensor). Forgetting drops the node
from the node registry and its database row, from the protocol's per-node state (so it no longer
counts against the 256-node cap, ``docs/protocol.md`` Limits) and its clock offsets. A node that is
still there comes back as a new node at its next message (its retained status after a hub restart,
its health report every 5 s).

Runs on the pipeline thread (``SetupService.call`` / the pipeline ticker). Times: ``ttl_s`` and the
wall clock in seconds, ``now_us`` on the hub clock.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from server.errors import Conflict, NotFound

NODE_TTL_S = 600.0
"""An unadopted node silent this long (s) is forgotten (a real node sends health every 5 s)."""


class NodeForgetter:
    """See the module docstring. ``on_forget(node_id)`` runs after each node is forgotten."""

    def __init__(self, hub: Any, *, ttl_s: float = NODE_TTL_S, wall_clock: Callable[[], float] = time.time,
                 sweep_every_us: int = 10_000_000, on_forget: Callable[[str], None] = lambda node_id: None):
        self.hub = hub
        self.ttl_s = ttl_s
        self._wall = wall_clock
        self._sweep_every_us = sweep_every_us
        self._last_sweep_us: int | None = None
        self._on_forget = on_forget
        self.expired = 0
        hub.protocol.adopted = hub.router.is_bound  # the cap counts unadopted nodes only

    def forget(self, node_id: str) -> dict[str, Any]:
        """An admin's forget: 404 if unknown, 409 if a station uses one of its sensors."""
        if node_id not in self.hub.nodes.nodes:
            raise NotFound(f"no node {node_id!r}")
        if self.hub.router.is_bound(node_id):
            stations = sorted({s.name for s in self.hub.stations.all() for b in s.bindings if b.node_id == node_id})
            raise Conflict(f"node {node_id!r} is used by {', '.join(stations)}: remove it from the station(s) first")
        self._drop(node_id)
        return {"id": node_id, "forgotten": True}

    def tick(self, now_us: int) -> None:
        """Pipeline ticker: every ``sweep_every_us``, forget unadopted nodes silent for ``ttl_s``."""
        if self._last_sweep_us is not None and now_us - self._last_sweep_us < self._sweep_every_us:
            return
        self._last_sweep_us = now_us
        cutoff = self._wall() - self.ttl_s
        stale = [nid for nid, v in self.hub.nodes.nodes.items()
                 if v.last_seen_at < cutoff and not self.hub.router.is_bound(nid)]
        for nid in stale:
            self._drop(nid)
            self.expired += 1

    def _drop(self, node_id: str) -> None:
        self.hub.nodes.forget(node_id)
        self.hub.protocol.forget(node_id)
        self.hub.clock_sync.reset(node_id)
        self._on_forget(node_id)
