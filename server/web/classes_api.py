"""Roster, circuits, classes and corrections under ``/api/`` (documented in ``docs/api.md``).

Thin handlers: parse and validate the request, call the class service or a store, answer JSON.
Roles: reads of classes and circuits are public (the wall reads them); the roster, circuit templates
and the audit trail need ``instructor``; writes need ``instructor`` (the guard's default; circuits
too: instructors build them on the tablet) or ``admin`` where marked.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request

from server.auth.guard import Auth, require_role
from server.auth.roles import Role
from server.classes.circuit_templates import templates
from server.classes.circuit_timeline import DEFAULT_PREVIEW_MEMBERS, MAX_PREVIEW_MEMBERS, timeline
from server.classes.circuits import copy_name, parse_circuit
from server.classes.corrections import CorrectionKind, parse_reason, parse_time_s
from server.errors import InvalidInput, NotFound
from server.classes.results_csv import results_csv
from server.classes.roster import parse_csv, parse_member, to_csv
from server.classes.service import ClassService
from server.classes.session import Event
from server.classes.store import CircuitStore, StoredCircuit
from server.web.errors import ApiError, json_body

CONTROL_EVENTS = {"go": Event.GO, "pause": Event.PAUSE, "resume": Event.RESUME, "skip": Event.SKIP,
                  "finish": Event.FINISH}
"""``POST /api/classes/<id>/<action>`` actions that are plain state machine events."""


RESULTS_CSV_MAX = 5000
"""Results in one class export at most (a class of 30 members runs a few hundred)."""


def _field(body: dict, name: str, kind: type | tuple, required: bool = True) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InvalidInput(f"invalid {name}", [f"{name}: required, a {getattr(kind, '__name__', 'value')}"])
    return value


def classes_blueprint(service: ClassService, auth: Auth) -> Blueprint:
    bp = Blueprint("classes_api", __name__, url_prefix="/api")
    _member_routes(bp, service)
    _circuit_routes(bp, service)
    _class_routes(bp, service)
    _control_routes(bp, service)
    _correction_routes(bp, service, auth)
    return bp


def _member_routes(bp: Blueprint, service: ClassService) -> None:
    members = service.members

    @bp.get("/members")
    @require_role(Role.INSTRUCTOR)
    def list_members():
        archived = request.args.get("archived") in ("1", "true", "yes")
        return jsonify([m.to_dict() for m in members.all(include_archived=archived)])

    @bp.post("/members")
    def add_member():
        fields = parse_member(json_body())
        return jsonify(members.create(**fields).to_dict()), 201

    @bp.get("/members/<member_id>")
    @require_role(Role.INSTRUCTOR)
    def get_member(member_id: str):
        member = members.get(member_id)
        if member is None:
            raise NotFound(f"no member with id {member_id!r}")
        return jsonify(member.to_dict())

    @bp.patch("/members/<member_id>")
    def change_member(member_id: str):
        return jsonify(members.update(member_id, parse_member(json_body(), partial=True)).to_dict())

    @bp.delete("/members/<member_id>")
    @require_role(Role.ADMIN)
    def archive_member(member_id: str):
        return jsonify(members.archive(member_id).to_dict())

    @bp.post("/members/import")
    @require_role(Role.ADMIN)
    def import_members():
        if request.mimetype not in ("text/csv", "text/plain"):
            raise ApiError(415, "send the roster as CSV with Content-Type: text/csv")
        text = request.get_data(as_text=True)
        return jsonify(members.import_rows(parse_csv(text)))

    @bp.get("/members/export")
    @require_role(Role.ADMIN)
    def export_members():
        body = to_csv(m.fields() for m in members.all())
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="sledhub-roster.csv"'})


def _circuit_routes(bp: Blueprint, service: ClassService) -> None:
    """Circuits: anyone reads them (the wall); instructors and admins build them on the tablet."""
    circuits = service.circuits

    def parse(body: dict):
        stations = service.hub.stations.all()
        return parse_circuit(body, {s.id: s.kind for s in stations}, {s.id: s.name for s in stations})

    @bp.get("/circuits")
    def list_circuits():
        return jsonify([c.to_dict() for c in circuits.all()])

    @bp.post("/circuits")
    def add_circuit():
        return jsonify(circuits.save(parse(json_body())).to_dict()), 201

    @bp.get("/circuits/templates")
    @require_role(Role.INSTRUCTOR)
    def circuit_templates():
        return jsonify(templates(s.to_dict() for s in service.hub.stations.all()))

    @bp.post("/circuits/preview")
    def preview_circuit():
        members = request.args.get("members", str(DEFAULT_PREVIEW_MEMBERS))
        if not members.isdigit() or not 1 <= int(members) <= MAX_PREVIEW_MEMBERS:
            raise InvalidInput("how many members?", [f"members: a class of 1 to {MAX_PREVIEW_MEMBERS} members"])
        circuit = parse(json_body())
        return jsonify({"circuit": circuit.to_dict(), "timeline": timeline(circuit, int(members))})

    @bp.get("/circuits/<circuit_id>")
    def get_circuit(circuit_id: str):
        return jsonify(_stored(circuits, circuit_id).to_dict())

    @bp.put("/circuits/<circuit_id>")
    def replace_circuit(circuit_id: str):
        return jsonify(circuits.save(parse(json_body()), circuit_id).to_dict())

    @bp.post("/circuits/<circuit_id>/duplicate")
    def duplicate_circuit(circuit_id: str):
        original = _stored(circuits, circuit_id).circuit
        taken = {c.circuit.name.casefold() for c in circuits.all()}
        name = copy_name(original.name, taken)
        return jsonify(circuits.save(replace(original, name=name)).to_dict()), 201

    @bp.delete("/circuits/<circuit_id>")
    def delete_circuit(circuit_id: str):
        if not circuits.delete(circuit_id):
            raise NotFound(f"no circuit with id {circuit_id!r}")
        return jsonify({"id": circuit_id, "deleted": True})


def _stored(circuits: CircuitStore, circuit_id: str) -> StoredCircuit:
    stored = circuits.get(circuit_id)
    if stored is None:
        raise NotFound(f"no circuit with id {circuit_id!r}")
    return stored


def _class_routes(bp: Blueprint, service: ClassService) -> None:
    @bp.get("/classes")
    def list_classes():
        limit = request.args.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            raise ApiError(400, "query parameter 'limit' must be 1..500")
        return jsonify(service.summaries(int(limit)))

    @bp.post("/classes")
    def create_class():
        body = json_body()
        view = service.create_class(_field(body, "circuit_id", str), _field(body, "name", str, required=False))
        return jsonify(view), 201

    @bp.get("/classes/current")
    def current_class():
        return jsonify({"class": service.current()})

    @bp.get("/classes/<class_id>")
    def get_class(class_id: str):
        return jsonify(service.view(class_id))

    @bp.get("/classes/<class_id>/results.csv")
    @require_role(Role.INSTRUCTOR)
    def class_results_csv(class_id: str):
        view = service.view(class_id)
        names = {s.id: s.name for s in service.hub.stations.all()}
        results = [r.to_dict() for r in service.hub.results.recent(RESULTS_CSV_MAX, class_id=class_id)]
        filename = re.sub(r"[^A-Za-z0-9._-]+", "-", view["name"]).strip("-") or "class"
        return Response(results_csv(results, names), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="sledhub-{filename}-results.csv"'})

    @bp.post("/classes/<class_id>/checkin")
    def check_in(class_id: str):
        body = json_body()
        ids = body.get("member_ids", [body["member_id"]] if isinstance(body.get("member_id"), str) else None)
        if not isinstance(ids, list) or not ids or not all(isinstance(m, str) for m in ids):
            raise InvalidInput("say who checks in", ["member_ids: a non-empty list of member ids (or member_id)"])
        return jsonify(service.check_in(class_id, ids))

    @bp.post("/classes/<class_id>/checkout")
    def check_out(class_id: str):
        return jsonify(service.check_out(class_id, _field(json_body(), "member_id", str)))

    @bp.post("/classes/<class_id>/pods")
    def move_to_pod(class_id: str):
        body = json_body()
        return jsonify(service.move_to_pod(class_id, _field(body, "member_id", str), _field(body, "pod", int)))

    @bp.post("/classes/<class_id>/assign")
    def assign(class_id: str):
        body = json_body()
        if "member_id" not in body:
            raise InvalidInput("say who runs", ["member_id: required (null empties the slot)"])
        return jsonify(service.assign(class_id, _field(body, "station_id", str),
                                      _field(body, "member_id", str, required=False),
                                      _field(body, "round_no", int, required=False),
                                      _field(body, "heat_no", int, required=False)))


def _control_routes(bp: Blueprint, service: ClassService) -> None:
    @bp.post("/classes/<class_id>/start")
    def start(class_id: str):
        return jsonify(service.start(class_id))

    @bp.post("/classes/<class_id>/arm")
    def arm(class_id: str):
        return jsonify(service.arm(class_id))

    def control_view(event: Event):
        def control(class_id: str):
            return jsonify(service.control(class_id, event))
        return control

    for action, event in CONTROL_EVENTS.items():
        bp.add_url_rule(f"/classes/<class_id>/{action}", f"class_{action}", control_view(event), methods=["POST"])

    @bp.post("/classes/<class_id>/stations/<station_id>/stop")
    def stop_station(class_id: str, station_id: str):
        service.stop_station(class_id, station_id)
        return jsonify(service.view(class_id))

    @bp.post("/classes/<class_id>/stations/<station_id>/abort")
    def abort_station(class_id: str, station_id: str):
        return jsonify(service.abort_station(class_id, station_id))

    @bp.post("/stop-all")
    def stop_all():
        return jsonify({"class": service.stop_all()})


def _correction_routes(bp: Blueprint, service: ClassService, auth: Auth) -> None:
    def actor() -> tuple[str | None, str]:
        return auth.principal().actor

    def reason(body: dict) -> str:
        return parse_reason(body.get("reason", request.args.get("reason")))

    @bp.patch("/results/<result_id>")
    def edit_time(result_id: str):
        body = json_body()
        time_s = parse_time_s(body.get("time_s"))
        return jsonify(service.correct(result_id, CorrectionKind.EDIT_TIME, reason(body), actor(), time_s))

    @bp.post("/results/<result_id>/dq")
    def disqualify(result_id: str):
        return jsonify(service.correct(result_id, CorrectionKind.DQ, reason(json_body()), actor()))

    @bp.post("/results/<result_id>/rerun")
    def rerun(result_id: str):
        return jsonify(service.correct(result_id, CorrectionKind.RERUN, reason(json_body()), actor()))

    @bp.delete("/results/<result_id>")
    def delete_result(result_id: str):
        body = request.get_json(silent=True) if request.content_length else {}
        return jsonify(service.correct(result_id, CorrectionKind.DELETE, reason(body or {}), actor()))

    @bp.get("/results/<result_id>/corrections")
    @require_role(Role.INSTRUCTOR)
    def result_audit(result_id: str):
        return jsonify([e.to_dict() for e in service.corrections.entries(result_id=result_id)])

    @bp.get("/corrections")
    @require_role(Role.INSTRUCTOR)
    def audit_trail():
        entries = service.corrections.entries(result_id=request.args.get("result") or None,
                                              class_id=request.args.get("class") or None)
        return jsonify([e.to_dict() for e in entries])
