"""From sensors to stations: turns accepted protocol messages into timing-engine events.

A binding says sensor ``node/sensor`` plays ``role`` at ``station``. Node edge times are put on the
hub clock with the measured, drift-corrected offset of the node's boot that stamped them
(``ClockSync``, at the edge's own node time). Only until the first clock exchange of that boot has
answered is the offset estimated from receipt times (the smallest ``rx_us - t_us`` seen for that boot:
an upper bound that includes the transport delay) and counted in ``provisional``.
"""

from __future__ import annotations

from typing import Callable, Iterable

from server.engine import EngineEvent
from server.store.stations import Station

OffsetFn = Callable[[str, str | None, int], int | None]
"""``(node_id, boot_id, t_node_us) -> t_hub - t_node`` (µs) at that node time, None when not measured."""


class Router:
    """Maps ``(node_id, sensor_id)`` to ``(station_id, role)`` and corrects clocks."""

    def __init__(self, offset_us: OffsetFn):
        self._offset_us = offset_us
        self._routes: dict[tuple[str, str], tuple[str, str]] = {}
        self._provisional: dict[tuple[str, str | None], int] = {}
        self.unbound = 0
        self.provisional = 0

    def load(self, stations: Iterable[Station]) -> None:
        """Replace every route with the bindings of ``stations``."""
        self._routes = {
            (b.node_id, b.sensor_id): (s.id, b.role) for s in stations for b in s.bindings
        }

    def route_of(self, node_id: str, sensor_id: str) -> tuple[str, str] | None:
        return self._routes.get((node_id, sensor_id))

    def nodes_of(self, station_id: str) -> set[str]:
        """The nodes whose sensors play a role at ``station_id``."""
        return {n for (n, _), (sid, _) in self._routes.items() if sid == station_id}

    def is_bound(self, node_id: str) -> bool:
        """Whether any sensor of ``node_id`` plays a role at a station (the node is adopted)."""
        return any(n == node_id for n, _ in self._routes)

    def _offset(self, node_id: str, boot_id: str | None, t_node_us: int, rx_us: int) -> int:
        off = self._offset_us(node_id, boot_id, t_node_us)
        if off is not None:
            return off
        self.provisional += 1
        est = rx_us - t_node_us
        key = (node_id, boot_id)
        prev = self._provisional.get(key)
        if prev is None or est < prev:  # smallest apparent delay is the best estimate
            if prev is None and len(self._provisional) >= 1024:
                self._provisional.pop(next(iter(self._provisional)))
            self._provisional[key] = est
            prev = est
        return prev

    def event(self, node_id: str, sensor_id: str, kind: str, t_us: int, rx_us: int,
              value: float | None = None, boot_id: str | None = None) -> EngineEvent | None:
        """A discrete event (beam break/restore) as an engine event, or None when unbound."""
        route = self._routes.get((node_id, sensor_id))
        if route is None:
            self.unbound += 1
            return None
        off = self._offset(node_id, boot_id, t_us, rx_us)
        return EngineEvent(route[0], route[1], kind, t_us + off, value)

    def batch_route(self, node_id: str, sensor_id: str, samples: tuple | list, rx_us: int,
                    boot_id: str | None = None) -> tuple[str, str, int] | None:
        """``(station_id, role, offset_us)`` for a telemetry batch (None when unbound or empty): every
        sample's hub time is its node time plus ``offset_us`` (measured once, with the first sample)."""
        route = self._routes.get((node_id, sensor_id))
        if route is None:
            self.unbound += 1
            return None
        if not samples:
            return None
        return route[0], route[1], self._offset(node_id, boot_id, samples[0][0], rx_us)

