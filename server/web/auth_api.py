"""Sign-in, sign-out, users, and the OpenAPI document (documented in ``docs/api.md``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from server.auth.guard import DEVICE_COOKIE, Auth, SignedIn, public_write, require_role
from server.auth.sessions import DEVICE_MAX_AGE_S
from server.auth.roles import Role
from server.errors import InvalidInput, NotFound
from server.web.errors import json_body
from server.web.openapi import openapi_document


def _session_state(auth: Auth) -> dict:
    who = auth.principal()
    return {"signed_in": who.signed_in, "role": who.role.value,
            "user": who.user.to_dict() if who.user else None,
            "csrf_token": auth.csrf_token() if who.signed_in else None,
            "first_run": not who.signed_in and auth.first_run}


def _signed_in_response(auth: Auth, signed: SignedIn, status: int = 200) -> Response:
    response = jsonify(_session_state(auth))
    response.status_code = status
    response.set_cookie(DEVICE_COOKIE, signed.device_token, max_age=DEVICE_MAX_AGE_S, path="/api/session",
                        httponly=True, samesite="Strict")
    return response


def _name_and_pin(body: dict, what: str) -> tuple[str, str]:
    name, pin = body.get("name"), body.get("pin")
    if not isinstance(name, str) or not name or not isinstance(pin, str) or not pin:
        raise InvalidInput(f"{what} with a name and a PIN", ["name: required", "pin: required"])
    return name, pin


def auth_blueprint(auth: Auth) -> Blueprint:
    bp = Blueprint("auth_api", __name__, url_prefix="/api")
    _session_routes(bp, auth)
    _user_routes(bp, auth)

    @bp.get("/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    return bp


def _session_routes(bp: Blueprint, auth: Auth) -> None:
    @bp.get("/session")
    def session_state():
        return jsonify(_session_state(auth))

    @bp.post("/session")
    @public_write
    def sign_in():
        name, pin = _name_and_pin(json_body(), "sign in")
        # a refusal (401 wrong name or PIN, 429 with Retry-After) is answered and counted like every error
        signed = auth.sign_in(name, pin, request.remote_addr or "?", request.cookies.get(DEVICE_COOKIE))
        return _signed_in_response(auth, signed)

    @bp.post("/owner")
    @public_write
    def create_owner():
        """First run: the owner (first admin) account, signed in at once; 409 once any user exists."""
        body = json_body()
        _no_unknown(body, {"name", "pin"})
        name, pin = _name_and_pin(body, "create the owner")
        return _signed_in_response(auth, auth.create_owner(name, pin, request.cookies.get(DEVICE_COOKIE)), 201)

    @bp.delete("/session")
    @require_role(Role.DISPLAY)
    def sign_out():
        auth.sign_out()
        return jsonify(_session_state(auth))


def _user_routes(bp: Blueprint, auth: Auth) -> None:
    @bp.get("/users")
    @require_role(Role.ADMIN)
    def users():
        return jsonify([u.to_dict() for u in auth.users.all()])

    @bp.post("/users")
    @require_role(Role.ADMIN)
    def add_user():
        body = json_body()
        _no_unknown(body, {"name", "role", "pin"})
        user = auth.users.create(body.get("name"), body.get("role") or "", body.get("pin"))
        return jsonify(user.to_dict()), 201

    @bp.patch("/users/<user_id>")
    @require_role(Role.ADMIN)
    def change_user(user_id: str):
        body = json_body()
        _no_unknown(body, {"role", "pin"})
        user = auth.users.update(user_id, role=body.get("role"), pin=body.get("pin"))
        if body.get("pin") is not None:  # a new PIN ends the user's other sessions
            auth.end_sessions(user_id, keep_mine=True)
        return jsonify(user.to_dict())

    @bp.delete("/users/<user_id>")
    @require_role(Role.ADMIN)
    def delete_user(user_id: str):
        auth.users.delete(user_id)  # the user's sessions go with it
        auth.user_removed(user_id)
        return jsonify({"id": user_id, "deleted": True})

    @bp.delete("/users/<user_id>/sessions")
    @require_role(Role.ADMIN)
    def sign_out_everywhere(user_id: str):
        if auth.users.get(user_id) is None:
            raise NotFound(f"no user with id {user_id!r}")
        return jsonify({"id": user_id, **auth.end_sessions(user_id, forget_devices=True)})


def _no_unknown(body: dict, known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    errors = [f"{k}: unknown field (known: {', '.join(sorted(known))})" for k in unknown]
    if errors:
        raise InvalidInput("invalid user: " + "; ".join(errors), errors)

