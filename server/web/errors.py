"""Errors as the web answers them: the one place that maps domain errors (:mod:`server.errors`) to
HTTP status codes. Every bad call gets a clear message and is counted by status.

A refused call is answered ``{"error": "...", "status": 400, "errors"?: [...], ...extra}`` over HTTP
(:func:`install_error_handlers`) and ``{"ok": false, "status": ..., "error": ...}`` as a Socket.IO
acknowledgement (:func:`error_ack`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from server.errors import AccessRefused, Conflict, DomainError, InvalidInput, NotFound
from server.store.errors import StoreUnavailable

HTTP_STATUS: tuple[tuple[type[DomainError], int], ...] = ((InvalidInput, 400), (NotFound, 404), (Conflict, 409))
"""The status each domain error answers with (:class:`ApiError` and
:class:`~server.errors.AccessRefused` carry their own)."""


class ApiError(DomainError):
    """A mistake only the web layer can see (a bad query parameter, a wrong content type): it names
    its HTTP ``status`` itself."""

    def __init__(self, status: int, message: str, errors: list[str] | None = None, **extra: Any):
        super().__init__(message, errors, **extra)
        self.status = status


def http_status(exc: DomainError) -> int:
    """The HTTP status ``exc`` answers with."""
    if isinstance(exc, (ApiError, AccessRefused)):
        return exc.status
    return next((status for kind, status in HTTP_STATUS if isinstance(exc, kind)), 400)


def error_body(exc: DomainError) -> dict[str, Any]:
    """``{"error", "status", "errors"? (only when there are any), **extra}``."""
    body: dict[str, Any] = {"error": exc.message, "status": http_status(exc)}
    if exc.errors:
        body["errors"] = exc.errors
    body.update(exc.extra)
    return body


def error_ack(exc: DomainError) -> dict[str, Any]:
    """The Socket.IO acknowledgement of a refused event: ``{"ok": false, "status", "error", ...}``."""
    return {"ok": False, **error_body(exc)}


def install_error_handlers(app: Flask, counters: Counter) -> None:
    """Answer domain and API errors as JSON (:func:`error_body`) and count them by status."""

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        body = error_body(exc)
        counters[str(body["status"])] += 1
        headers = {"Retry-After": str(body["retry_after_s"])} if "retry_after_s" in body else {}
        return jsonify(body), body["status"], headers

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable):
        # the database refused a write (read-only, disk full): nothing was changed, try again later
        counters["503"] += 1
        body = {"error": exc.message, "status": 503, "reason": exc.reason}
        return jsonify(body), 503, {"Retry-After": "30"}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        counters[str(exc.code)] += 1
        return jsonify({"error": exc.description, "status": exc.code}), exc.code


def json_body() -> dict:
    """The request's JSON object, or a 400 saying what is wrong."""
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "expected a JSON object body with Content-Type: application/json")
    if not isinstance(data, dict):
        raise ApiError(400, f"expected a JSON object, got {type(data).__name__}")
    return data
