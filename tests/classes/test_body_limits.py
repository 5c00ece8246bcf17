"""Request bodies: the OpenAPI document's limits are the parsers' own, so at every limit the parser and
the schema agree (just inside: both accept; just outside: both refuse)."""

from __future__ import annotations

from typing import Any, Callable

import jsonschema
import pytest

from server.classes import circuits, corrections, roster
from server.errors import DomainError
from server.setup import stations as setup_stations
from server.web.openapi import openapi_document

DOC = openapi_document()
KINDS = {"sled1": "sled", "lane1": "lane", "lane2": "lane"}
SENSORS = {("n1", "force"): "load_cell"}


def schema_accepts(name: str, body: Any) -> bool:
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOC["components"]}
    return jsonschema.Draft202012Validator(schema).is_valid(body)


def schema_of_path(path: str, method: str = "post") -> dict:
    return DOC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def parser_accepts(parse: Callable[[Any], Any], body: Any) -> bool:
    try:
        parse(body)
    except DomainError:
        return False
    return True


def circuit(**over) -> dict:
    station = {"kind": "sled", "station_ids": ["sled1"], **over.pop("station", {})}
    return {"name": "C", "stations": [station], "work_s": 60, **over}


def station(**over) -> dict:
    return {"kind": "sled", "name": "Sled", "config": {"distance_m": 10}, **over}


def cases() -> list[tuple[str, str, Any, bool]]:
    """``(schema, what, body, both accept?)`` just inside and just outside each limit."""
    out: list[tuple[str, str, Any, bool]] = []
    for field in ("work_s", "rest_s", "countdown_s"):
        lo, hi = circuits.LIMITS[field]
        out += [("CircuitInput", f"{field}={v}", circuit(**{field: v}), ok)
                for v, ok in ((lo, True), (hi, True), (lo - 0.001, False), (hi + 0.001, False))]
    for field in ("distance_m", "time_cap_s"):
        lo, hi = circuits.LIMITS[field]
        out += [("CircuitInput", f"stations[0].{field}={v}", circuit(work_s=120, station={field: v}), ok)
                for v, ok in ((lo, True), (hi, True), (lo - 0.001, False), (hi + 0.001, False))]
    out += [("CircuitInput", "rounds", circuit(rounds=n), ok)
            for n, ok in ((1, True), (circuits.MAX_ROUNDS, True), (0, False), (circuits.MAX_ROUNDS + 1, False))]
    out += [("CircuitInput", "name", circuit(name="n" * n), ok)
            for n, ok in ((circuits.NAME_MAX, True), (circuits.NAME_MAX + 1, False), (0, False))]
    out += [("CircuitInput", "notes", circuit(notes="x" * n), ok)
            for n, ok in ((circuits.NOTES_MAX, True), (circuits.NOTES_MAX + 1, False))]
    out += [("CircuitInput", "lanes", circuit(stations=[{"kind": "lane", "station_ids": ids}]), ok)
            for ids, ok in ((["lane1", "lane2"], True), ([], False), (["lane1", "lane1"], False))]
    out += [("MemberInput", "name", {"name": "m" * n}, ok)
            for n, ok in ((roster.NAME_MAX, True), (roster.NAME_MAX + 1, False), (0, False))]
    out += [("MemberInput", "nickname", {"name": "A", "nickname": v}, ok)
            for v, ok in (("k" * roster.NICKNAME_MAX, True), ("k" * (roster.NICKNAME_MAX + 1), False), (None, True))]
    out += [("StationInput", "name", station(name="s" * n), ok)
            for n, ok in ((setup_stations.MAX_NAME, True), (setup_stations.MAX_NAME + 1, False))]
    out += [("StationInput", "id", station(id=v), ok)
            for v, ok in (("sled-3", True), ("s" * 32, True), ("s" * 33, False), ("Sled", False), ("-a", False))]
    return out


PARSERS: dict[str, Callable[[Any], Any]] = {
    "CircuitInput": lambda body: circuits.parse_circuit(body, KINDS),
    "MemberInput": roster.parse_member,
    "StationInput": lambda body: setup_stations.parse_station(body, station_id=None, sensors=SENSORS,
                                                              bound_elsewhere={}, taken_ids=set()),
}


@pytest.mark.parametrize(("schema", "what", "body", "ok"), cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_parser_and_schema_agree_at_each_limit(schema, what, body, ok):
    assert parser_accepts(PARSERS[schema], body) is ok, what
    assert schema_accepts(schema, body) is ok, what


@pytest.mark.parametrize(("reason", "time_s", "ok"), [
    ("r" * corrections.REASON_MAX, 1.0, True), ("r" * (corrections.REASON_MAX + 1), 1.0, False), ("", 1.0, False),
    ("late", corrections.TIME_MAX_S, True), ("late", corrections.TIME_MAX_S + 0.01, False), ("late", 0, False)])
def test_correction_bodies_agree_at_each_limit(reason, time_s, ok):
    body = {"reason": reason, "time_s": time_s}
    schema = {**schema_of_path("/api/results/{result_id}", "patch"), "components": DOC["components"]}
    assert jsonschema.Draft202012Validator(schema).is_valid(body) is ok
    assert parser_accepts(lambda b: (corrections.parse_reason(b["reason"]), corrections.parse_time_s(b["time_s"])),
                          body) is ok
