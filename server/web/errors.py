"""JSON errors for the API: every bad call gets a clear message and is counted."""

from __future__ import annotations

from collections import Counter

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from server.store.errors import StoreUnavailable


class ApiError(Exception):
    """A client mistake: ``status`` (HTTP code) and a message saying what to fix."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def install_error_handlers(app: Flask, counters: Counter) -> None:
    """Answer API errors as ``{"error": ..., "status": ...}`` and count them by status."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        counters[str(exc.status)] += 1
        return jsonify({"error": exc.message, "status": exc.status, **exc.extra}), exc.status

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
