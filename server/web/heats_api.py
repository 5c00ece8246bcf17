"""Free runs outside a class: arm a heat of stations with athletes, GO, stop, abort.

``POST /api/heats`` ``{"entries": [{"station_id": "sled1", "athlete": "Rocket", "member_id": null}]}``
→ 201 with the assignments (attempt and heat ids). ``POST /api/heats/go`` ``{"station_ids": [...],
"go_delay_s": 1.5}`` → 202 with the hub time of the GO command; without ``go_delay_s`` a reaction-start
station gets a random delay from its window. ``POST /api/stations/<id>/stop`` and
``/abort`` (``{"reason": "..."}``). Commands take effect on the engine's clock; a command the engine
refuses there (e.g. GO on a station that is not armed) is pushed as a ``command_rejected`` event.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from server.fields import clean_text, number_in
from server.hub.service import Hub
from server.web.errors import ApiError, json_body

MAX_NAME = 40


def _entries(body: dict) -> list[tuple[str, str, str | None, str | None]]:
    raw = body.get("entries")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'entries' must be a non-empty list of {station_id, athlete, member_id?}")
    out, seen = [], set()
    for i, e in enumerate(raw):
        if not isinstance(e, dict) or not isinstance(e.get("station_id"), str):
            raise ApiError(400, f"entries[{i}]: needs a string 'station_id'")
        athlete = e.get("athlete", "")
        member = e.get("member_id")
        if not isinstance(athlete, str) or len(athlete) > MAX_NAME:
            raise ApiError(400, f"entries[{i}]: 'athlete' must be a string of at most {MAX_NAME} characters")
        if member is not None and not isinstance(member, str):
            raise ApiError(400, f"entries[{i}]: 'member_id' must be a string or null")
        if e["station_id"] in seen:
            raise ApiError(400, f"entries[{i}]: station {e['station_id']!r} appears twice")
        seen.add(e["station_id"])
        out.append((e["station_id"], athlete, member, None))
    return out


def heats_blueprint(hub: Hub) -> Blueprint:
    bp = Blueprint("heats", __name__, url_prefix="/api")

    @bp.post("/heats")
    def arm():
        entries = _entries(json_body())
        try:
            made = hub.arm(entries)
        except ValueError as exc:
            raise ApiError(409, str(exc)) from None
        return jsonify([a.__dict__ for a in made]), 201

    @bp.post("/heats/go")
    def go():
        body = json_body()
        ids = body.get("station_ids")
        delay_s = body.get("go_delay_s")
        if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
            raise ApiError(400, "'station_ids' must be a non-empty list of station ids")
        if delay_s is not None and not number_in(delay_s, 0, 10):
            raise ApiError(400, "'go_delay_s' must be a number of seconds from 0 to 10 (or absent: drawn)")
        try:
            t_us = hub.go(ids, go_delay_us=None if delay_s is None else int(delay_s * 1e6))
        except ValueError as exc:
            raise ApiError(409, str(exc)) from None
        return jsonify({"go_t_us": t_us, "station_ids": ids}), 202

    @bp.post("/stations/<station_id>/stop")
    def stop(station_id: str):
        try:
            hub.stop_station(station_id)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None
        return jsonify({"station_id": station_id, "stopped": True}), 202

    @bp.post("/stations/<station_id>/abort")
    def abort(station_id: str):
        body = json_body()
        reason = body.get("reason", "aborted by instructor")
        if clean_text(reason, 200) is None or len(reason) > 200:
            raise ApiError(400, "'reason' must be a non-empty string of at most 200 characters")
        try:
            hub.abort(station_id, reason)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from None
        return jsonify({"station_id": station_id, "aborted": True}), 202

    return bp
