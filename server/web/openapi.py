"""The OpenAPI 3.1 document of ``/api/`` (served at ``/api/openapi.json``; a copy is ``docs/openapi.json``).

Built from Python data so schemas are shared; tests check that every Flask route under ``/api/`` is
described here (and nothing else), and validate real responses against these schemas. The limits of
request bodies (lengths, ranges, patterns) are the parsers' own constants, imported, never retyped;
``tests/classes/test_body_limits.py`` checks parser and schema agree at each limit.
``x-sledhub-role`` on an operation names the role it needs (none: public).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from server.classes import circuits, corrections, roster
from server.classes.circuit_timeline import DEFAULT_PREVIEW_MEMBERS, MAX_PREVIEW_MEMBERS
from server.engine.enums import FalseStartPolicy, StartMode
from server.setup import stations as setup_stations
from server.web import heats_api

S = dict[str, Any]
STR: S = {"type": "string"}
INT: S = {"type": "integer"}
NUM: S = {"type": "number"}
BOOL: S = {"type": "boolean"}
ANY_OBJ: S = {"type": "object"}


def _n(schema: S) -> S:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, S], required: list[str] | None = None, extra: bool = True) -> S:
    out: S = {"type": "object", "properties": props, "required": list(props) if required is None else required}
    if not extra:
        out["additionalProperties"] = False
    return out


def _arr(items: S) -> S:
    return {"type": "array", "items": items}


def _text(max_chars: int, min_chars: int = 1) -> S:
    return {"type": "string", **({"minLength": min_chars} if min_chars else {}), "maxLength": max_chars}


def _range(limit: str, kind: S = NUM) -> S:
    lo, hi = circuits.LIMITS[limit]
    return {**kind, "minimum": lo, "maximum": hi}


STATES = ["SETUP", "READY", "WORK", "TRANSITION", "PAUSED", "DONE"]
EVENTS = ["START", "GO", "HEAT_OVER", "REST_OVER", "SKIP", "PAUSE", "RESUME", "STOP_ALL", "FINISH"]
ROLES = ["admin", "instructor", "display"]


def _schemas() -> dict[str, S]:
    person = _obj({"member_id": STR, "athlete": STR, "opt_out": BOOL})
    slot = _obj({"station_id": STR, "station_name": STR, "circuit_station": _n(STR), "member_id": STR,
                 "athlete": STR, "opt_out": BOOL,
                 "status": {"enum": ["waiting", "armed", "finished", "aborted", "lost"]},
                 "attempt_id": _n(STR), "result_id": _n(STR), "rerun": BOOL})
    summary_props = {"id": STR, "name": STR, "circuit_id": _n(STR), "state": {"enum": STATES}, "round_no": INT,
                     "rounds_total": INT, "checked_in_count": INT, "created_at": NUM, "started_at": _n(NUM),
                     "finished_at": _n(NUM)}
    station_props = {"name": _text(circuits.NAME_MAX), "kind": {"enum": ["sled", "lane"]},
                     "station_ids": {**_arr(STR), "minItems": 1, "maxItems": circuits.MAX_LANES, "uniqueItems": True},
                     "distance_m": _range("distance_m"), "start_mode": {"enum": [m.value for m in StartMode]},
                     "time_cap_s": _range("time_cap_s"),
                     "false_start_policy": {"enum": [p.value for p in FalseStartPolicy]}}
    circuit_station = _obj(station_props)
    circuit_props = {"name": _text(circuits.NAME_MAX),
                     "stations": {**_arr(ref("CircuitStation")), "minItems": 1, "maxItems": circuits.MAX_STATIONS},
                     "rounds": {**INT, "minimum": 1, "maximum": circuits.MAX_ROUNDS}, "work_s": _range("work_s"),
                     "rest_s": _range("rest_s"), "countdown_s": _range("countdown_s"), "auto_go": BOOL,
                     "notes": _text(circuits.NOTES_MAX, 0),
                     "pods": _n({**INT, "minimum": 1, "maximum": circuits.MAX_PODS}),
                     "rotation": {"enum": list(circuits.ROTATIONS)},
                     "rotation_step": {**INT, "minimum": 1, "maximum": circuits.MAX_STATIONS - 1}}
    result_row = _obj({"id": STR, "station_id": STR, "heat_id": _n(STR), "class_id": _n(STR), "member_id": _n(STR),
                       "athlete": STR, "status": STR, "reason": STR, "time_s": _n(NUM), "reaction_s": _n(NUM),
                       "finished_at": NUM, "detail": ANY_OBJ})
    return {
        "ChainFeed": {**_obj({"gym_id": STR, "next": INT,
                              "results": _arr({**ANY_OBJ, "description": "a shared result as published "
                                               "(docs/schemas/hub/result.json) and its seq on this hub"})},
                             ["gym_id", "results", "next"]),
                      "description": "Page on: ask again with since=next until results is empty."},
        "Error": _obj({"error": STR, "status": INT, "errors": _arr(STR), "retry_after_s": INT, "reason": STR},
                      ["error", "status"]),
        "Health": _obj({k: INT for k in ("nodes_online", "nodes_known", "messages_received", "messages_accepted",
                                          "messages_rejected", "duplicates", "sequence_gaps", "late_events",
                                          "late_events_used", "unbound_messages", "pipeline_backlog", "pipeline_errors",
                                          "clients", "results_pending")}
                       | {"rejected_by_reason": ANY_OBJ, "broker_connected": BOOL, "api_errors": ANY_OBJ,
                          "store_writable": BOOL, "store_error": _n(_obj({"reason": STR, "message": STR})),
                          "gc": _obj({"collections": _arr(INT), "pause_total_ms": NUM, "pause_max_ms": NUM,
                                      "pause_max_generation": _n(INT), "frozen": INT, "threshold": _arr(INT)})}),
        "Result": _obj({"id": STR, "station_id": STR, "heat_id": _n(STR), "class_id": _n(STR), "member_id": _n(STR),
                        "athlete": STR, "status": STR, "reason": STR, "time_s": _n(NUM), "reaction_s": _n(NUM),
                        "finished_at": NUM, "splits_s": _arr(_n(NUM)), "start_t_us": _n(INT), "finish_t_us": _n(INT),
                        "metrics": ANY_OBJ, "curve": ANY_OBJ, "warnings": _arr(STR),
                        "correction": ANY_OBJ, "original_time_s": _n(NUM), "reason_text": _n(STR)},
                       ["id", "station_id", "heat_id", "class_id", "member_id", "athlete", "status", "reason",
                        "time_s", "reaction_s", "finished_at", "reason_text"]),
        "ResultRow": result_row,
        "Station": _obj({"id": STR, "kind": {"enum": ["sled", "lane"]}, "name": STR, "config": ANY_OBJ,
                         "bindings": _arr(_obj({"role": STR, "node_id": STR, "sensor_id": STR}))}),
        "Node": _obj({"id": STR, "state": STR, "online": BOOL, "boot_id": _n(STR), "fw": _n(STR),
                      "sensors": _arr(ANY_OBJ), "last_seen_at": _n(NUM), "last_seen_s_ago": _n(NUM),
                      "msg_rate_hz": NUM, "msgs": INT, "clock": ANY_OBJ}, ["id", "state", "online"]),
        "DemoState": _obj({"phase": STR, "phase_label": STR, "round": INT, "remaining_s": _n(NUM), "running": BOOL}),
        "SessionState": _obj({"signed_in": BOOL, "role": {"enum": ROLES}, "user": _n(ref("User")),
                              "csrf_token": _n(STR), "first_run": BOOL}),
        "SignIn": _obj({"name": STR, "pin": {"type": "string", "pattern": "^[0-9]{4,12}$"}}, extra=False),
        "User": _obj({"id": STR, "name": STR, "role": {"enum": ROLES}, "created_at": NUM, "updated_at": NUM}),
        "NewUser": _obj({"name": STR, "role": {"enum": ROLES}, "pin": STR}, extra=False),
        "UserChange": _obj({"role": {"enum": ROLES}, "pin": STR}, [], extra=False),
        "Member": _obj({"id": STR, "name": STR, "nickname": STR, "display_name": STR, "opt_out": BOOL,
                        "archived": BOOL, "created_at": NUM, "updated_at": NUM}),
        "MemberInput": _obj({"name": _text(roster.NAME_MAX), "nickname": _n(_text(roster.NICKNAME_MAX, 0)),
                             "opt_out": BOOL}, ["name"], extra=False),
        "ImportOutcome": _obj({"created": INT, "updated": INT}),
        "CircuitStation": circuit_station,
        "CircuitStationInput": _obj(station_props, ["kind", "station_ids"], extra=False),
        "CircuitInput": _obj({**circuit_props, "stations": {**circuit_props["stations"],
                                                            "items": ref("CircuitStationInput")}},
                             ["name", "stations"], extra=False),
        "Circuit": _obj({"id": STR, **circuit_props, "created_at": NUM, "updated_at": NUM}),
        "CircuitTemplate": _obj({"key": STR, "title": STR, "why": STR, "circuit": ref("CircuitInput")}),
        "CircuitPreview": _obj({"circuit": ref("CircuitSpec"), "timeline": _obj({
            "members": INT, "pods": _arr(INT), "heat_count": INT, "work_total_s": NUM, "total_s": NUM,
            "rounds": _arr(_obj({"round_no": INT, "pod_stations": _arr(INT), "heats": _arr(_obj({
                "heat_no": INT, "start_s": NUM, "work_s": NUM, "rest_s": NUM, "runners": INT}))}))})}),
        "Deleted": _obj({"id": STR, "deleted": {"const": True}}),
        "SessionsEnded": _obj({"id": STR, "sessions_ended": INT, "devices_forgotten": INT}),
        "Person": person,
        "Slot": slot,
        "Clock": _obj({"running": BOOL, "phase": _n({"enum": STATES}), "duration_s": NUM, "remaining_s": NUM,
                       "countdown_remaining_s": NUM}),
        "ClassSummary": _obj(summary_props),
        "Class": _obj({**summary_props, "circuit": ref("CircuitSpec"), "resume_to": _n({"enum": STATES}),
                       "allowed": _arr({"enum": EVENTS}), "heat_no": INT, "heats_in_round": INT, "clock": ref("Clock"),
                       "heat": _arr(slot), "next": _n(_obj({"round_no": INT, "heat_no": INT, "entries": _arr(slot)})),
                       "pods": _arr(_arr(person)), "checked_in": _arr({"allOf": [person, _obj({"checked_in_at": NUM})]}),
                       "updated_at": NUM}),
        "CircuitSpec": _obj(circuit_props),
        "CurrentClass": _obj({"class": _n(ref("Class"))}),
        "StopAllOutcome": _obj({"class": _n(ref("Class"))}),
        "Correction": _obj({"id": INT, "result_id": STR, "class_id": _n(STR),
                            "kind": {"enum": ["edit_time", "dq", "rerun", "delete"]}, "reason": STR,
                            "before": result_row, "after": _n(result_row), "user_id": _n(STR), "user_name": STR,
                            "at": NUM}),
        "Assignment": _obj({"attempt_id": STR, "station_id": STR, "heat_id": STR, "athlete": STR,
                            "member_id": _n(STR), "class_id": _n(STR)}),
        "HeatEntries": _obj({"entries": _arr(_obj({"station_id": STR, "athlete": _text(heats_api.MAX_NAME, 0),
                                                   "member_id": _n(STR)},
                                                  ["station_id"]))}),
        "HeatGo": _obj({"go_t_us": INT, "station_ids": _arr(STR)}),
        "StationStopped": _obj({"station_id": STR, "stopped": {"const": True}}),
        "StationAborted": _obj({"station_id": STR, "aborted": {"const": True}}),
        "CorrectionOutcome": _obj({"correction": ref("Correction"), "result": _n(ref("Result")),
                                   "rerun_scheduled": BOOL}),
    }


ERROR_TEXT = {400: "Invalid request (the message says what to fix)", 401: "Not signed in",
              403: "Wrong role, or missing/wrong CSRF token", 404: "Not found",
              409: "Not possible in the current state", 415: "Wrong content type",
              429: "Too many failed sign-ins (see Retry-After)",
              503: "The database cannot take writes (read-only, disk full): nothing changed, try again later"}


def _op(summary: str, ok: S | None = None, *, role: str | None = None, write: bool = False, body: S | None = None,
        errors: tuple[int, ...] = (), status: int = 200, query: tuple[tuple[str, S, str], ...] = (),
        tag: str = "hub", ok_content: str = "application/json", body_content: str = "application/json") -> S:
    op: S = {"summary": summary, "tags": [tag]}
    if role:
        op["x-sledhub-role"] = role
        op["security"] = [{"cookieAuth": [], "csrfHeader": []}] if write else [{"cookieAuth": []}]
    else:
        op["security"] = []
    if query:
        op["parameters"] = [{"name": n, "in": "query", "required": False, "schema": s, "description": d}
                            for n, s, d in query]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {body_content: {"schema": body}}}
    responses: S = {str(status): {"description": "OK", "content": {ok_content: {"schema": ok or ANY_OBJ}}}}
    codes = (set(errors) | ({401, 403} if role else set()) | ({400} if body is not None else set())
             | ({503} if write or body is not None else set()))
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    op["responses"] = responses
    return op


def _inst(summary: str, ok: S, body: S | None = None, errors: tuple[int, ...] = (404, 409), **kw: Any) -> S:
    """An instructor write."""
    return _op(summary, ok, role="instructor", write=True, body=body, errors=errors, **kw)


def _reason_body(extra: dict[str, S] | None = None) -> S:
    return _obj({"reason": _text(corrections.REASON_MAX), **(extra or {})})


def _paths() -> dict[str, dict[str, S]]:
    return {**_hub_paths(), **_people_paths(), **_class_paths(), **_setup_paths(), **_display_paths()}


def _hub_paths() -> dict[str, dict[str, S]]:
    """Results, corrections, stations, free heats, nodes, demo."""
    return {
        "/api/health": {"get": _op("Hub counters", ref("Health"))},
        "/api/results": {"get": _op("Finished attempts, newest first; with since: this gym's shared results "
                                    "changed after that seq (a chain's reconciliation feed, docs/scaling.md)",
                                    {"oneOf": [_arr(ref("Result")), ref("ChainFeed")]}, errors=(400, 404), query=(
            ("limit", INT, "1..1000, default 50 (with since: 500)"), ("station", STR, "only this station"),
            ("class", STR, "only this class"),
            ("since", INT, "a seq (0 = from the start): answer the chain feed {gym_id, results, next} instead; "
                           "404 on a hub not in a chain")))},
        "/api/chain": {"get": _op("This hub in its chain: gym id, club, published, received, refused, reconciled",
                                  ANY_OBJ, errors=(404,), tag="chain")},
        "/api/chain/drills": {"get": _op("The drills chain boards can show", _obj({"drills": _arr(STR)}),
                                         errors=(404,), tag="chain")},
        "/api/results/{result_id}": {
            "get": _op("One result", ref("Result"), errors=(404,)),
            "patch": _inst("Correct a result's time (with a reason)", ref("CorrectionOutcome"),
                           _reason_body({"time_s": {**NUM, "exclusiveMinimum": 0,
                                                                  "maximum": corrections.TIME_MAX_S}}),
                           errors=(404,), tag="corrections"),
            "delete": _op("Delete a result (with a reason; the audit trail keeps it)", ref("CorrectionOutcome"),
                          role="instructor", write=True, errors=(400, 404), tag="corrections",
                          query=(("reason", STR, "the reason, if not in a JSON body"),)),
        },
        "/api/results/{result_id}/dq": {"post": _inst("Disqualify a result", ref("CorrectionOutcome"), _reason_body(),
                                                      tag="corrections")},
        "/api/results/{result_id}/rerun": {"post": _inst("Void a result for a re-run", ref("CorrectionOutcome"),
                                                         _reason_body(), tag="corrections")},
        "/api/results/{result_id}/corrections": {"get": _op("Audit trail of a result", _arr(ref("Correction")),
                                                            role="instructor", tag="corrections")},
        "/api/corrections": {"get": _op("Audit trail, newest first", _arr(ref("Correction")), role="instructor",
                                        tag="corrections", query=(("class", STR, "only this class"),
                                                                  ("result", STR, "only this result")))},
        "/api/stations": {"get": _op("Stations and their sensor bindings", _arr(ref("Station")))},
        "/api/heats": {"post": _inst("Free run: arm a heat of stations with athletes", _arr(ref("Assignment")),
                                     ref("HeatEntries"), errors=(409,), status=201, tag="heats")},
        "/api/heats/go": {"post": _inst("Free run: GO on armed stations", ref("HeatGo"),
                                        _obj({"station_ids": _arr(STR), "go_delay_s": NUM}, ["station_ids"]),
                                        errors=(409,), status=202, tag="heats")},
        "/api/stations/{station_id}/stop": {"post": _inst("Stop the attempt running at a station",
                                                          ref("StationStopped"), errors=(404,), status=202,
                                                          tag="heats")},
        "/api/stations/{station_id}/abort": {"post": _inst("Abort the attempt at a station", ref("StationAborted"),
                                                           _obj({"reason": STR}, []), errors=(404,), status=202,
                                                           tag="heats")},
        "/api/nodes": {"get": _op("Sensor nodes", _arr(ref("Node")))},
        "/api/demo": {"get": _op("Demo class state", ref("DemoState"), errors=(404,), tag="demo")},
        "/api/demo/start": {"post": _inst("Start the demo class", ref("DemoState"), errors=(404,), tag="demo")},
        "/api/demo/stop": {"post": _inst("Stop the demo class", ref("DemoState"), errors=(404,), tag="demo")},
        "/api/openapi.json": {"get": _op("This document", ANY_OBJ)},
    }


def _people_paths() -> dict[str, dict[str, S]]:
    """Session, users, roster."""
    return {
        "/api/session": {
            "get": _op("Who is signed in, and the CSRF token", ref("SessionState"), tag="auth"),
            "post": _op("Sign in with name and PIN", ref("SessionState"), body=ref("SignIn"), errors=(401, 429),
                        tag="auth"),
            "delete": _op("Sign out", ref("SessionState"), role="display", write=True, tag="auth"),
        },
        "/api/owner": {"post": _op("First run: create the owner (first admin) and sign in; once, while the hub "
                                   "has no user", ref("SessionState"), body=ref("SignIn"), errors=(409,), status=201,
                                   tag="auth")},
        "/api/users": {"get": _op("Users", _arr(ref("User")), role="admin", tag="auth"),
                       "post": _op("Add a user", ref("User"), role="admin", write=True, body=ref("NewUser"),
                                   errors=(409,), status=201, tag="auth")},
        "/api/users/{user_id}": {
            "patch": _op("Change a user's role or PIN", ref("User"), role="admin", write=True,
                         body=ref("UserChange"), errors=(404, 409), tag="auth"),
            "delete": _op("Remove a user", ref("Deleted"), role="admin", write=True, errors=(404, 409), tag="auth"),
        },
        "/api/users/{user_id}/sessions": {
            "delete": _op("Sign a user out everywhere: end every session, close their live sockets, forget "
                          "their trusted devices", ref("SessionsEnded"), role="admin", write=True, errors=(404,),
                          tag="auth"),
        },
        "/api/members": {
            "get": _op("The roster", _arr(ref("Member")), role="instructor", tag="roster",
                       query=(("archived", STR, "1 = include archived members"),)),
            "post": _inst("Add a member", ref("Member"), ref("MemberInput"), errors=(409,), status=201, tag="roster"),
        },
        "/api/members/{member_id}": {
            "get": _op("One member", ref("Member"), role="instructor", errors=(404,), tag="roster"),
            "patch": _inst("Change a member", ref("Member"), {**ref("MemberInput"), "required": []}, tag="roster"),
            "delete": _op("Archive a member (results keep it)", ref("Member"), role="admin", write=True,
                          errors=(404,), tag="roster"),
        },
        "/api/members/import": {"post": _op("Import a roster CSV (name,nickname,opt_out), all or nothing",
                                            ref("ImportOutcome"), role="admin", write=True, body=STR,
                                            body_content="text/csv", errors=(415,), tag="roster")},
        "/api/members/export": {"get": _op("Export the roster as CSV", STR, role="admin", ok_content="text/csv",
                                           tag="roster")},
    }


def _class_paths() -> dict[str, dict[str, S]]:
    """Circuits and classes."""
    cls = ref("Class")
    class_id_ops = {
        f"/api/classes/{{class_id}}/{a}": {"post": _inst(s, cls, tag="classes")}
        for a, s in (("start", "Start: build the rotation from the pods, arm heat 1 (SETUP → READY)"),
                     ("go", "GO: start the armed heat (countdown, then work interval)"),
                     ("pause", "Pause the interval clock"), ("resume", "Resume where it paused"),
                     ("skip", "Skip: end the current interval (or heat) and move on"),
                     ("finish", "End the class (DONE); armed attempts are aborted"),
                     ("arm", "Arm the heat at the pointer again (entries aborted or lost)"))
    }
    return {
        "/api/circuits": {"get": _op("Saved circuits (class plans)", _arr(ref("Circuit")), tag="circuits"),
                          "post": _inst("Save a circuit", ref("Circuit"), ref("CircuitInput"), errors=(409,), status=201,
                                        tag="circuits")},
        "/api/circuits/templates": {"get": _op("Warm-up templates made from this gym's stations",
                                               _arr(ref("CircuitTemplate")), role="instructor", tag="circuits")},
        "/api/circuits/preview": {"post": _inst(
            "Check a circuit draft and lay out its class timeline (nothing saved)", ref("CircuitPreview"),
            ref("CircuitInput"), errors=(), tag="circuits",
            query=(("members", INT, f"class size to lay out, 1..{MAX_PREVIEW_MEMBERS}, "
                                    f"default {DEFAULT_PREVIEW_MEMBERS}"),))},
        "/api/circuits/{circuit_id}": {
            "get": _op("One circuit", ref("Circuit"), errors=(404,), tag="circuits"),
            "put": _inst("Replace a circuit", ref("Circuit"), ref("CircuitInput"), tag="circuits"),
            "delete": _inst("Delete a circuit", ref("Deleted"), errors=(404,), tag="circuits"),
        },
        "/api/circuits/{circuit_id}/duplicate": {"post": _inst("Copy a circuit under a free name (\"… (copy)\")",
                                                               ref("Circuit"), errors=(404,), status=201,
                                                               tag="circuits")},
        "/api/classes": {
            "get": _op("Classes, newest first", _arr(ref("ClassSummary")), errors=(400,), tag="classes",
                       query=(("limit", INT, "1..500, default 50"),)),
            "post": _inst("Create a class from a circuit", cls, _obj({"circuit_id": STR, "name": STR}, ["circuit_id"]),
                          errors=(404,), status=201, tag="classes"),
        },
        "/api/classes/{class_id}/results.csv": {"get": _op(
            "The class's results as CSV (finished_at, station, athlete, status, reason, time_s, …)", STR,
            role="instructor", ok_content="text/csv", errors=(404,), tag="classes")},
        "/api/classes/current": {"get": _op("The running class, if any", ref("CurrentClass"), tag="classes")},
        "/api/classes/{class_id}": {"get": _op("A class: state, clock, heat, pods", cls, errors=(404,), tag="classes")},
        "/api/classes/{class_id}/checkin": {"post": _inst(
            "Check members in", cls, _obj({"member_ids": _arr(STR), "member_id": STR}, []), tag="classes")},
        "/api/classes/{class_id}/checkout": {"post": _inst("Check a member out", cls, _obj({"member_id": STR}),
                                                           tag="classes")},
        "/api/classes/{class_id}/pods": {"post": _inst("Move a member to another pod", cls,
                                                       _obj({"member_id": STR, "pod": INT}), tag="classes")},
        "/api/classes/{class_id}/assign": {"post": _inst(
            "Tap to override: who runs at a station in a heat of this round", cls,
            _obj({"station_id": STR, "member_id": _n(STR), "round_no": INT, "heat_no": INT},
                 ["station_id", "member_id"]), tag="classes")},
        **class_id_ops,
        "/api/classes/{class_id}/stations/{station_id}/stop": {"post": _inst("Stop the attempt at a station", cls,
                                                                             tag="classes")},
        "/api/classes/{class_id}/stations/{station_id}/abort": {"post": _inst("Abort the attempt at a station", cls,
                                                                              tag="classes")},
        "/api/stop-all": {"post": _inst("STOP ALL: abort every attempt on every station; pause the class",
                                        ref("StopAllOutcome"), errors=(), tag="classes")},

    }


def _setup_schemas() -> dict[str, S]:
    """/setup (issue 7): nodes with live readings and health, stations and bindings, calibration wizards."""
    reading = _obj({"kind": STR, "value": _n(NUM), "raw": _n(INT), "beam": _n({"enum": ["broken", "clear"]}),
                    "breaks": INT, "age_s": _n(NUM), "samples_per_s": NUM, "fault": _n(STR)},
                   ["value", "raw", "beam", "breaks", "age_s", "samples_per_s"])
    finding = _obj({"level": {"enum": ["error", "warning"]}, "code": STR, "message": STR})
    health = _obj({"status": {"enum": ["ok", "warning", "error"]}, "online": BOOL,
                   "state": {"enum": ["online", "offline", "silent", "unknown"]}, "last_seen_s_ago": _n(NUM),
                   "rate": _obj({"expected_hz": _n(NUM), "measured_hz": NUM, "ratio": _n(NUM)}),
                   "loss_pct": _n(NUM), "gaps": INT,
                   "clock": _obj({"synced": BOOL, "offset_ms": _n(NUM), "jitter_ms": _n(NUM), "error_bound_ms": _n(NUM)}),
                   "calibrated": _n(BOOL), "zero_drift_n": _n(NUM), "encoder_errors": _n(INT), "fault": _n(STR),
                   "warnings": _arr(finding)})
    binding = _obj({"station_id": STR, "station_name": STR, "role": STR, "role_label": STR})
    sensor = _obj({"id": STR, "kind": STR, "unit": _n(STR), "rate_hz": _n(NUM), "wiring": ANY_OBJ,
                   "calibration": _n(ANY_OBJ), "label": STR, "binding": _n(binding), "reading": ref("Reading"),
                   "health": ref("SensorHealth"), "calibrated_at": _n(NUM), "stored": _n(ANY_OBJ), "sync": _n(ANY_OBJ),
                   "wizard_id": _n(STR)},
                  ["id", "kind", "label", "binding", "reading", "health", "calibrated_at", "stored", "sync", "wizard_id"])
    warning = _obj({"level": {"enum": ["error", "warning"]}, "code": STR, "message": STR, "station_id": STR,
                    "station_name": STR, "role": _n(STR), "node_id": _n(STR), "sensor_id": _n(STR)})
    step = _obj({"key": STR, "title": STR, "status": {"enum": ["done", "active", "pending", "failed", "cancelled"]}})
    pushed = _obj({"node_id": STR, "sensor_id": STR, "cmd": STR, "params": ANY_OBJ,
                   "state": {"enum": ["pending", "applied", "failed"]}, "error": _n(STR)})
    return {
        "Reading": reading,
        "SensorHealth": health,
        "SetupSensor": sensor,
        "SetupNode": {"allOf": [ref("Node"), _obj({"sensors": _arr(ref("SetupSensor")), "new": BOOL,
                                                   "effective_state": {"enum": ["online", "offline", "silent", "unknown"]}})]},
        "SetupStation": {"allOf": [ref("Station"), _obj({"state": STR, "missing_roles": _arr(STR),
                                                         "role_labels": ANY_OBJ})]},
        "SetupWarning": warning,
        "SetupWarnings": _obj({"ready": BOOL, "errors": INT, "warnings_count": INT, "warnings": _arr(warning),
                               "checked_at": NUM}),
        "SetupView": _obj({"nodes": _arr(ref("SetupNode")), "stations": _arr(ref("SetupStation")),
                           "new_nodes": _obj({"total": INT, "shown": INT, "find": STR,
                                              "hidden": _arr(_obj({"id": STR, "state": STR,
                                                                   "last_seen_at": _n(NUM)}))}),
                           "wizards": _arr(ref("Wizard")), "warnings": _arr(warning), "server_time": NUM}),
        "StationInput": _obj({"id": {"type": "string", "pattern": setup_stations.STATION_ID_RE.pattern},
                              "kind": {"enum": ["sled", "lane"]}, "name": _text(setup_stations.MAX_NAME),
                              "config": ANY_OBJ, "bindings": _arr(_obj({"role": STR, "node_id": STR, "sensor_id": STR}))},
                             ["kind", "name"], extra=False),
        "StationSaved": _obj({"station": ref("Station"), "pushed": _arr(pushed)}),
        "NodeForgotten": _obj({"id": STR, "forgotten": {"const": True}}),
        "Calibration": _obj({"id": INT, "node_id": STR, "sensor_id": STR, "kind": STR, "params": ANY_OBJ,
                             "report": ANY_OBJ, "user_name": STR, "calibrated_at": NUM}),
        "Wizard": _obj({"id": STR, "kind": {"enum": ["load_cell", "encoder", "beam"]}, "node_id": STR, "sensor_id": STR,
                        "state": STR, "ended": BOOL, "steps": _arr(step), "message": STR, "problem": _n(STR),
                        "progress": _n(NUM), "actions": _arr(STR), "live": ANY_OBJ, "result": _n(ANY_OBJ),
                        "sensor_label": STR, "reading": ref("Reading")}),
        "WizardStart": _obj({"node_id": STR, "sensor_id": STR, "mode": {"enum": ["full", "zero"]}},
                            ["node_id", "sensor_id"], extra=False),
        "WizardAction": _obj({"action": {"enum": ["measure", "skip", "start", "finish", "restart", "fix", "cancel"]},
                              "mass_kg": NUM, "distance_m": NUM}, ["action"], extra=False),
    }


def _setup_paths() -> dict[str, dict[str, S]]:
    """/setup: reads are public, writes need an admin."""
    def admin(summary: str, ok: S, body: S | None = None, errors: tuple[int, ...] = (404, 409), **kw: Any) -> S:
        return _op(summary, ok, role="admin", write=True, body=body, errors=errors, tag="setup", **kw)
    wizard = ref("Wizard")
    return {
        "/api/setup": {"get": _op("Nodes (new ones first) with sensors, live readings, health and calibration "
                                  "(8 new nodes in full, those whose id contains ?find= first; the others in "
                                  "new_nodes.hidden); stations; running calibrations; warnings", ref("SetupView"),
                                  tag="setup", query=(("find", STR, "show new nodes whose id contains this"),))},
        "/api/setup/nodes/{node_id}": {"delete": admin("Forget a node no station uses (it comes back as new at "
                                                       "its next message)", ref("NodeForgotten"))},
        "/api/setup/warnings": {"get": _op("What to fix before a class (the tablet shows it)", ref("SetupWarnings"),
                                           tag="setup")},
        "/api/setup/calibrations": {"get": _op("The calibration each sensor runs with (newest per sensor)",
                                               _arr(ref("Calibration")), tag="setup")},
        "/api/setup/stations": {"post": admin("Add a station and bind sensors to its roles; pushes their settings",
                                              ref("StationSaved"), ref("StationInput"), errors=(409,), status=201)},
        "/api/setup/stations/{station_id}": {
            "put": admin("Replace a station and its bindings", ref("StationSaved"), ref("StationInput")),
            "delete": admin("Delete a station (its results stay)", ref("Deleted")),
        },
        "/api/setup/wizards": {"post": admin("Start calibrating a sensor", wizard, ref("WizardStart"), status=201)},
        "/api/setup/wizards/{wizard_id}": {"get": _op("A calibration: steps, what to do now, progress", wizard,
                                                      errors=(404,), tag="setup")},
        "/api/setup/wizards/{wizard_id}/actions": {"post": admin("A button of the calibration (measure, skip, start, "
                                                                 "finish, restart, fix, cancel)", wizard,
                                                                 ref("WizardAction"))},
    }


def _display_paths() -> dict[str, dict[str, S]]:
    """The wall display's boards (docs/display.md describes each board and the class scoring)."""
    board_query = (("board", STR, "station | class | pbs | records | improved | chain"),
                   ("station", STR, "the station (board=station, records)"),
                   ("class", STR, "the class (board=class, improved)"), ("limit", INT, "rows, default 10"),
                   ("drill", STR, "board=chain: <kind>:<course>, e.g. 'sled:10 m' (default: the first drill)"),
                   ("period", STR, "board=chain: month (default) | all"))
    return {
        "/api/leaderboards": {"get": _op("A leaderboard, ranked; opted-out members never appear", ANY_OBJ,
                                         errors=(400, 404), query=board_query, tag="display")},
        "/api/display/board": {
            "get": _op("Which board the wall shows, or the rotation", ANY_OBJ, tag="display"),
            "post": _op("Choose the wall's board or let boards rotate", ANY_OBJ, role="instructor", write=True,
                        body=ANY_OBJ, tag="display"),
        },
    }


def _path_params(paths: dict[str, dict[str, S]]) -> None:
    for path, ops in paths.items():
        names = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
        for op in ops.values():
            params = [{"name": n, "in": "path", "required": True, "schema": STR} for n in names]
            if params:
                op["parameters"] = params + op.get("parameters", [])


@functools.lru_cache(maxsize=1)
def _document() -> str:
    paths = _paths()
    _path_params(paths)
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "sledhub hub API", "version": "1",
                 "description": "LAN API of a sledhub hub. Reads are public unless x-sledhub-role says otherwise; "
                                "writes need a signed-in session cookie and the X-CSRF-Token header "
                                "(see docs/api.md)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**_schemas(), **_setup_schemas()},
            "responses": {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
                          for code, text in ERROR_TEXT.items()},
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sledhub_session",
                               "description": "Set by POST /api/session (HttpOnly, SameSite=Strict)."},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                               "description": "csrf_token from GET /api/session; required on every write."},
            },
        },
    }
    return json.dumps(doc, indent=1, sort_keys=False)


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document."""
    return json.loads(_document())


def main() -> None:
    """``python -m server.web.openapi > docs/openapi.json`` (tests check the copy is current)."""
    print(_document())


if __name__ == "__main__":
    main()
