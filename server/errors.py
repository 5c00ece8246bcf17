"""The errors domain code raises when it refuses a request. They know nothing of HTTP or Socket.IO:
the web layer alone (:mod:`server.web.errors`) turns them into status codes, JSON bodies and acks.

- :class:`InvalidInput` — the request is malformed; ``errors`` lists every problem ("field: what is wrong").
- :class:`NotFound` — what the request names does not exist.
- :class:`Conflict` — the request is valid but cannot be done now (e.g. GO while the class is paused).
- :class:`AccessRefused` — access control said no; its ``status`` is the refusal's kind (see there).

Every error has a ``message`` saying what to fix, ``errors`` (every problem found; may be empty) and
``extra`` (more fields the answer carries, e.g. ``retry_after_s``).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a request domain code refuses, with a message saying what to fix."""

    def __init__(self, message: str, errors: list[str] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.errors = list(errors or [])
        self.extra = extra


class InvalidInput(DomainError):
    """The request is malformed; ``errors`` lists every problem found ("field: what is wrong")."""


class NotFound(DomainError):
    """What the request names (a member, a station, a calibration, ...) does not exist."""


class Conflict(DomainError):
    """The request is valid but not now (e.g. GO while the class is paused, a sensor bound elsewhere)."""


class AccessRefused(DomainError):
    """Access control said no. ``status`` says why, numbered as both the REST API and the Socket.IO
    acks answer it: 401 nobody (or a wrong name/PIN) signed in, 403 signed in but not allowed (or a
    missing CSRF token), 429 too many failed sign-ins (``extra["retry_after_s"]``)."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message, **extra)
        self.status = status
