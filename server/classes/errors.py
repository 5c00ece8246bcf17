"""Errors of the class features; the web layer answers them as ``{"error", "status"}`` JSON."""

from __future__ import annotations

from server.web.errors import ApiError


class ClassError(ApiError):
    """Base class: ``status`` is the HTTP status the API answers with (the app's ``ApiError`` handler
    answers and counts it); control events answer ``to_dict()``."""

    status = 400

    def __init__(self, message: str, errors: list[str] | None = None):
        self.errors = list(errors or [])
        super().__init__(self.status, message, **({"errors": self.errors} if self.errors else {}))

    def to_dict(self) -> dict:
        out: dict = {"error": self.message, "status": self.status}
        if self.errors:
            out["errors"] = self.errors
        return out


class InvalidInput(ClassError):
    """The request is malformed; ``errors`` lists every problem found ("field: what is wrong")."""

    status = 400


class NotFound(ClassError):
    status = 404


class Conflict(ClassError):
    """The request is valid but not now (e.g. GO while the class is paused)."""

    status = 409
