"""Stored station settings → timing-engine configurations.

A station's ``config`` (JSON in the store, edited on ``/setup`` and in circuit templates) holds the
engine options of its kind by name: sled ``distance_m``, ``start_mode``, ``time_cap_s``, … and lane
``start_mode``, ``split_roles``, ``shuttle_legs``, ``holdoff_s``, … (see ``docs/timing.md``).
Unknown keys are refused with a message naming them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.engine import LaneStationConfig, SledStationConfig
from server.store.stations import Station

_KINDS: dict[str, type] = {"sled": SledStationConfig, "lane": LaneStationConfig}


def _option_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} - {"station_id"}


def engine_config(station: Station, overrides: dict[str, Any] | None = None) -> Any:
    """The engine config of ``station``; ``overrides`` (e.g. a circuit's per-station parameters) win.

    Raises ``ValueError`` naming the station and the offending option.
    """
    cls = _KINDS.get(station.kind)
    if cls is None:
        raise ValueError(f"station {station.id!r}: unknown kind {station.kind!r} (sled or lane)")
    options = {**station.config, **(overrides or {})}
    unknown = sorted(set(options) - _option_names(cls))
    if unknown:
        raise ValueError(f"station {station.id!r}: unknown option(s) {', '.join(unknown)} for a {station.kind} station")
    for key, value in list(options.items()):
        if key == "dual_beam_roles":
            options[key] = frozenset(value)
        elif isinstance(value, list):
            options[key] = tuple(value)
    try:
        return cls(station_id=station.id, **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"station {station.id!r}: {exc}") from None
