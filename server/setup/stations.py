"""Stations as the ``/setup`` form sends them: check everything, fill in what follows from the bindings.

A body ``{"id"?, "kind": "sled"|"lane", "name", "config"?, "bindings": [{"role", "node_id", "sensor_id"}]}``
becomes a :class:`~server.store.stations.Station`, or an error listing every problem
(:class:`~server.errors.InvalidInput`, :class:`~server.errors.Conflict`):

- roles exist for the kind (sled ``force``, ``wheel``; lane ``start``, ``finish``, ``split1..n``,
  ``turn``), each role once, each sensor once;
- each sensor is one the hub knows (from a node's descriptor), of a kind that fits the role (``force``
  ← load cell, ``wheel`` ← encoder, gates ← beam or dual beam: a dual beam is a paired gate);
- a sensor bound at another station is a conflict (409): unbind it there first;
- lane options that follow from the bindings are filled in unless given: ``split_roles`` (the bound
  split gates in order) and ``start_gate`` (a start sensor is bound); a bound turn gate needs
  ``shuttle_legs`` of 2 or more;
- the whole config must be a valid engine configuration (:func:`server.hub.station_setup.engine_config`).
"""

from __future__ import annotations

import re
from typing import Any

from server.errors import Conflict, InvalidInput
from server.fields import clean_text
from server.setup.health import KIND_LABELS
from server.hub.station_setup import engine_config
from server.store.stations import Binding, Station, valid_role

STATION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_NAME = 40
GATE_KINDS = frozenset({"beam", "dual_beam"})
ROLE_KINDS = {"force": frozenset({"load_cell"}), "wheel": frozenset({"encoder"})}
SensorKey = tuple[str, str]


def role_kinds(role: str) -> frozenset[str]:
    """Sensor kinds that may play ``role``."""
    return ROLE_KINDS.get(role, GATE_KINDS)


def slug(name: str, taken: set[str]) -> str:
    """A station id from its name (``"Sled 3"`` → ``"sled-3"``), unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:28] or "station"
    if not base[0].isalnum():
        base = "s" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _split_number(role: str) -> int:
    return int(role[5:])


def parse_station(body: dict[str, Any], *, station_id: str | None, sensors: dict[SensorKey, str],
                  bound_elsewhere: dict[SensorKey, str], taken_ids: set[str]) -> Station:
    """Check ``body`` (see the module docstring). ``sensors``: (node, sensor) → kind of every known
    sensor; ``bound_elsewhere``: (node, sensor) → the gym's name of the other station
    it is bound at; ``taken_ids``: ids of
    other stations (a new station's id must be new)."""
    errors: list[str] = []
    unknown = sorted(set(body) - {"id", "kind", "name", "config", "bindings"})
    errors += [f"{k}: unknown field" for k in unknown]
    kind = body.get("kind")
    if kind not in ("sled", "lane"):
        errors.append("kind: 'sled' (a sled pull) or 'lane' (a shuffle lane)")
    name = clean_text(body.get("name"), MAX_NAME)
    if name is None:
        errors.append(f"name: 1 to {MAX_NAME} characters")
        name = ""
    config = body.get("config", {})
    if not isinstance(config, dict):
        errors.append("config: an object of station options")
        config = {}
    sid = station_id or body.get("id") or (slug(name, taken_ids) if name else "")
    if not isinstance(sid, str) or not STATION_ID_RE.match(sid):
        errors.append("id: 1-32 lowercase letters, digits, '-' or '_'")
    elif station_id is None and sid in taken_ids:
        raise Conflict(f"a station with id {sid!r} exists already")
    bindings = _bindings(body.get("bindings", []), kind, sensors, errors)
    if errors:
        raise InvalidInput("invalid station: " + "; ".join(errors), errors)
    conflicts = [f"{b.node_id}/{b.sensor_id} is bound at {bound_elsewhere[(b.node_id, b.sensor_id)]}"
                 for b in bindings if (b.node_id, b.sensor_id) in bound_elsewhere]
    if conflicts:
        raise Conflict("sensor already in use: " + "; ".join(conflicts) + " (unbind it there first)", conflicts)
    config = _complete(kind, dict(config), {b.role for b in bindings}, errors)
    station = Station(sid, kind, name, config, tuple(sorted(bindings, key=lambda b: b.role)))
    if not errors:
        try:
            engine_config(station)
        except ValueError as exc:
            errors.append(f"config: {str(exc).replace(f'station {sid!r}', name)}")  # the gym's name
    if errors:
        raise InvalidInput("invalid station: " + "; ".join(errors), errors)
    return station


def _bindings(raw: Any, kind: Any, sensors: dict[SensorKey, str], errors: list[str]) -> list[Binding]:
    if not isinstance(raw, list):
        errors.append("bindings: a list of {role, node_id, sensor_id}")
        return []
    out: list[Binding] = []
    roles: set[str] = set()
    used: set[SensorKey] = set()
    for i, b in enumerate(raw):
        if not isinstance(b, dict) or not all(isinstance(b.get(k), str) for k in ("role", "node_id", "sensor_id")):
            errors.append(f"bindings[{i}]: needs text role, node_id and sensor_id")
            continue
        role, key = b["role"], (b["node_id"], b["sensor_id"])
        if kind in ("sled", "lane") and not valid_role(kind, role):
            errors.append(f"bindings[{i}]: a {kind} station has no role {role!r}")
            continue
        if role in roles:
            errors.append(f"bindings[{i}]: role {role!r} is bound twice")
        if key in used:
            errors.append(f"bindings[{i}]: sensor {key[0]}/{key[1]} is bound twice")
        roles.add(role)
        used.add(key)
        sensor_kind = sensors.get(key)
        if sensor_kind is None:
            errors.append(f"bindings[{i}]: no sensor {key[0]}/{key[1]} has announced itself")
        elif sensor_kind not in role_kinds(role):
            need = " or ".join(KIND_LABELS.get(k, k) for k in sorted(role_kinds(role)))
            errors.append(f"bindings[{i}]: role {role!r} needs a {need}; {key[0]}/{key[1]} is a "
                          f"{KIND_LABELS.get(sensor_kind, sensor_kind)}")
        out.append(Binding(role, key[0], key[1]))
    return out


def _complete(kind: Any, config: dict[str, Any], roles: set[str], errors: list[str]) -> dict[str, Any]:
    if kind == "sled":
        if "distance_m" not in config:
            errors.append("config.distance_m: the pull distance in metres is required")
        return config
    splits = sorted((r for r in roles if r.startswith("split")), key=_split_number)
    if splits and "split_roles" not in config:
        config["split_roles"] = splits
    if "start_gate" not in config and "start" not in roles:
        config["start_gate"] = False
    if "turn" in roles and int(config.get("shuttle_legs", 1) or 1) < 2:
        errors.append("config.shuttle_legs: a turn gate is for shuttles: set 2 or more legs")
    return config
