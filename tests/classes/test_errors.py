"""Domain errors know nothing of HTTP; the web layer alone maps them to a status and a body."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask

from server.errors import AccessRefused, Conflict, DomainError, InvalidInput, NotFound
from server.web.errors import ApiError, error_ack, error_body, http_status, install_error_handlers


@pytest.mark.parametrize(("exc", "status"), [
    (InvalidInput("bad"), 400), (NotFound("gone"), 404), (Conflict("not now"), 409),
    (AccessRefused(401, "sign in"), 401), (AccessRefused(429, "wait", retry_after_s=3), 429),
    (ApiError(415, "send CSV"), 415), (DomainError("other"), 400)])
def test_each_error_answers_with_its_status(exc, status):
    assert http_status(exc) == status
    assert error_body(exc)["status"] == status
    assert error_ack(exc) == {"ok": False, **error_body(exc)}


def test_the_body_lists_errors_only_when_there_are_any_and_carries_extra_fields():
    assert error_body(InvalidInput("invalid x", ["x: required"])) == {
        "error": "invalid x", "status": 400, "errors": ["x: required"]}
    assert error_body(Conflict("busy")) == {"error": "busy", "status": 409}
    assert error_body(AccessRefused(429, "wait", retry_after_s=3)) == {
        "error": "wait", "status": 429, "retry_after_s": 3}


def test_one_handler_answers_and_counts_every_domain_error_by_status():
    app, counters = Flask("t"), Counter()
    install_error_handlers(app, counters)
    raised = {"/api/a": NotFound("no a"), "/api/b": Conflict("b busy"), "/api/c": NotFound("no c")}
    for path, exc in raised.items():
        app.add_url_rule(path, path, lambda exc=exc: (_ for _ in ()).throw(exc))
    client = app.test_client()
    answers = {path: client.get(path) for path in raised}
    assert answers["/api/b"].status_code == 409 and answers["/api/b"].get_json() == {"error": "b busy", "status": 409}
    assert client.get("/api/nothing-here").status_code == 404
    assert counters == Counter({"404": 3, "409": 1})
