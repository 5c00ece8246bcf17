"""Who is asking, and may they: the session cookie, CSRF, and role checks for routes and socket events.

- Sign-in puts ``uid``, a random ``csrf`` token and the sign-in time in Flask's signed session
  cookie (``HttpOnly``, ``SameSite=Strict``; :func:`configure_session_cookie`). Every request looks
  the user up again, so a deleted user or a changed role takes effect at once; a session older than
  :data:`SESSION_MAX_AGE_S` counts as signed out.
- Every write under ``/api/`` (any method but GET/HEAD/OPTIONS) needs a signed-in user (else 401),
  the session's CSRF token in the ``X-CSRF-Token`` header (else 403) and the route's role (else 403;
  default ``instructor``, :func:`require_role` sets another). Reads are public unless the route says
  otherwise. :func:`public_write` exempts a write (sign-in itself). One ``before_request`` hook
  (:func:`install_guard`) enforces this for every blueprint, the decorators enforce it again.
- Socket.IO control events run :meth:`Auth.socket_refusal` first: the session of the connection
  (cookie at connect time; reconnect after signing in), the CSRF token in the payload's ``csrf``
  field and the role; a refusal is acknowledged as ``{"ok": false, "status": 401|403, "error": ...}``.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from flask import Flask, current_app, request, session

from server.auth.ratelimit import SignInLimiter
from server.auth.roles import Role
from server.auth.users import User, UserStore
from server.store.db import Database
from server.errors import AccessRefused

SESSION_MAX_AGE_S = 12 * 3600
"""A sign-in lasts 12 hours (a long teaching day), then the tablet asks for the PIN again."""
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXTENSION = "sledhub_auth"
_DEFAULT = "default"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, or nobody (role display)."""

    user: User | None
    role: Role

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def actor(self) -> tuple[str | None, str]:
        """``(user id, name)`` for audit entries."""
        return (self.user.id, self.user.name) if self.user else (None, "")


class SignInRefused(AccessRefused):
    pass


class Auth:
    """Access control of one app (kept in ``flask.extensions["sledhub_auth"]``)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, max_failures: int = 5, window_s: float = 60.0,
                 users: UserStore | None = None):
        self.users = users or UserStore(db, wall_clock)
        self.limiter = SignInLimiter(clock, max_failures, window_s)
        self._wall = wall_clock

    # session ----------------------------------------------------------------------------------------
    def principal(self) -> Principal:
        uid, at = session.get("uid"), session.get("at", 0.0)
        if not uid or self._wall() - at > SESSION_MAX_AGE_S:
            return Principal(None, Role.DISPLAY)
        user = self.users.get(uid)
        return Principal(user, user.role) if user else Principal(None, Role.DISPLAY)

    def sign_in(self, name: str, pin: str, address: str) -> tuple[User, str]:
        """Check the PIN (rate-limited per address and per name); start the session; returns user and CSRF token."""
        keys = [("addr", address), ("user", name.casefold())]
        wait = self.limiter.retry_after_s(keys)
        if wait:
            raise SignInRefused(429, f"too many failed sign-ins: try again in {wait} s", retry_after_s=wait)
        user = self.users.authenticate(name, pin)
        if user is None:
            self.limiter.failed(keys)
            raise SignInRefused(401, "wrong name or PIN")
        self.limiter.succeeded(keys)
        session.clear()
        session.permanent = True
        session.update(uid=user.id, csrf=secrets.token_urlsafe(32), at=self._wall())
        return user, session["csrf"]

    @staticmethod
    def sign_out() -> None:
        session.clear()

    @staticmethod
    def csrf_token() -> str | None:
        return session.get("csrf")

    @staticmethod
    def csrf_ok(token: Any) -> bool:
        expected = session.get("csrf")
        return bool(expected) and isinstance(token, str) and hmac.compare_digest(token.encode(), expected.encode())

    # checks -----------------------------------------------------------------------------------------
    def refusal(self, required: Role, write: bool, token: Any) -> tuple[int, str] | None:
        """``(status, message)`` when the caller may not do this, else None."""
        who = self.principal()
        if required is Role.DISPLAY and not write:
            return None
        if not who.signed_in:
            return 401, "sign in first (POST /api/session with your name and PIN)"
        if write and not self.csrf_ok(token):
            return 403, f"missing or wrong CSRF token: send the token from GET /api/session in {CSRF_HEADER}"
        if not who.role.includes(required):
            return 403, f"this needs the {required.value} role; {who.user.name} is {who.role.value}"
        return None

    def check_request(self, required: Role) -> None:
        write = request.method not in SAFE_METHODS
        refused = self.refusal(required, write, request.headers.get(CSRF_HEADER))
        if refused:
            raise AccessRefused(*refused)

    def socket_refusal(self, required: Role, data: Any) -> dict[str, Any] | None:
        """The error ack for a control event the connection may not send, else None."""
        token = data.get("csrf") if isinstance(data, dict) else None
        refused = self.refusal(required, True, token)
        if refused:
            return {"ok": False, "status": refused[0], "error": refused[1].replace(CSRF_HEADER, "the 'csrf' field")}
        return None


def auth_of(app: Flask | None = None) -> Auth:
    return (app or current_app).extensions[EXTENSION]


def require_role(role: Role) -> Callable:
    """Route decorator: the caller needs ``role`` (reads too); writes also need the CSRF header."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            auth_of().check_request(role)
            return view(*args, **kwargs)
        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded
    return wrap


def public_write(view: Callable) -> Callable:
    """Route decorator: a write anyone may send (sign-in)."""
    view.required_role = None  # type: ignore[attr-defined]
    return view


def install_guard(app: Flask, auth: Auth) -> None:
    """Register ``auth`` on the app and check every ``/api/`` request before its route runs."""
    app.extensions[EXTENSION] = auth

    @app.before_request
    def _guard_api():
        if not request.path.startswith("/api/") or request.endpoint is None:
            return None
        view = app.view_functions.get(request.endpoint)
        required = getattr(view, "required_role", _DEFAULT)
        write = request.method not in SAFE_METHODS
        if required == _DEFAULT:
            required = Role.INSTRUCTOR if write else None
        if required is not None:
            auth.check_request(required)
        return None


def configure_session_cookie(app: Flask) -> None:
    """HttpOnly, SameSite=Strict session cookie that lives as long as a sign-in."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_NAME="sledhub_session",
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=SESSION_MAX_AGE_S))
