"""Test helpers for the HTTP API: a client that checks every JSON answer against the OpenAPI document
(resolving ``$ref`` within it), and sign-in helpers."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from server.auth.users import UserStore
from server.web.openapi import openapi_document
from tests.classes.conftest import FAST_HASH

PINS = {"admin": "9911", "instructor": "4821", "display": "5555"}


class OpenApi:
    def __init__(self, doc: dict[str, Any] | None = None):
        self.doc = doc or openapi_document()
        templates = sorted(self.doc["paths"], key=lambda p: (p.count("{"), p))
        self._routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$"), t) for t in templates]

    def template(self, path: str) -> str:
        path = path.split("?")[0]
        for rx, template in self._routes:
            if rx.match(path):
                return template
        raise AssertionError(f"{path} is not in the OpenAPI document")

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node and len(node) == 1 and node["$ref"].startswith("#/components/responses/"):
            node = self.doc["components"]["responses"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def check(self, method: str, path: str, status: int, content_type: str, body: Any) -> None:
        op = self.doc["paths"][self.template(path)].get(method.lower())
        assert op is not None, f"{method} {path} is not in the OpenAPI document"
        response = op["responses"].get(str(status))
        assert response is not None, f"{method} {path} answered {status}, not documented ({sorted(op['responses'])})"
        response = self.resolve(response)
        media = content_type.split(";")[0]
        assert media in response["content"], f"{method} {path} {status}: {media} not documented"
        schema = response["content"][media]["schema"]
        jsonschema.Draft202012Validator({**schema, "components": self.doc["components"]}).validate(body)


class ApiClient:
    """Wraps Flask's test client: every answer is checked against the OpenAPI document."""

    def __init__(self, client, openapi: OpenApi | None = None):
        self.client = client
        self.openapi = openapi or OpenApi()
        self.csrf: str | None = None

    def request(self, method: str, path: str, *, csrf: bool = True, **kw):
        headers = dict(kw.pop("headers", {}))
        if csrf and self.csrf:
            headers.setdefault("X-CSRF-Token", self.csrf)
        response = self.client.open(path, method=method, headers=headers, **kw)
        if response.mimetype == "application/json":
            self.openapi.check(method, path, response.status_code, response.mimetype, response.get_json())
        else:
            self.openapi.check(method, path, response.status_code, response.mimetype, response.get_data(as_text=True))
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def sign_in(self, name: str, pin: str):
        response = self.post("/api/session", json={"name": name, "pin": pin})
        if response.status_code == 200:
            self.csrf = response.get_json()["csrf_token"]
        return response


def make_users(db) -> dict[str, str]:
    """One user per role (names = role names); returns role -> PIN."""
    users = UserStore(db, hasher=FAST_HASH)
    for role, pin in PINS.items():
        users.create(role, role, pin)
    return PINS


def signed_in(hub_app, role: str | None) -> ApiClient:
    api = ApiClient(hub_app.flask.test_client())
    if role is not None:
        assert api.sign_in(role, PINS[role]).status_code == 200
    return api
