"""Who is asking, and may they: the session, CSRF, and role checks for routes and socket events.

- Sign-in starts a session kept on the hub (:mod:`server.auth.sessions`): Flask's signed session
  cookie (``HttpOnly``, ``SameSite=Strict``; :func:`configure_session_cookie`) carries only its
  random token (``sid``); the hub keeps the user, the CSRF token and the expiry (12 h). Every
  request looks the session and the user up again, so sign-out, a PIN change, "sign out
  everywhere", a deleted user or a changed role take effect at once, for every copy of the cookie.
- Every write under ``/api/`` (any method but GET/HEAD/OPTIONS) needs a signed-in user (else 401),
  the session's CSRF token in the ``X-CSRF-Token`` header (else 403) and the route's role (else 403;
  default ``instructor``, :func:`require_role` sets another). Reads are public unless the route says
  otherwise. :func:`public_write` exempts a write (sign-in itself). One ``before_request`` hook
  (:func:`install_guard`) enforces this for every blueprint, the decorators enforce it again.
- Socket.IO control events run :meth:`Auth.socket_refusal` first: the session of the connection
  (the cookie at connect time; reconnect after signing in), looked up again on every event, the
  CSRF token in the payload's ``csrf`` field and the role; a refusal is acknowledged as
  ``{"ok": false, "status": 401|403, "error": ...}``. When a session ends, the Socket.IO connections
  made with it are closed too (:meth:`Auth.socket_connected` records them).
- Sign-in is slowed per name, address and trusted device (:mod:`server.auth.ratelimit`).
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from flask import Flask, request, session

from server.auth.ratelimit import Key, SignInLimiter
from server.auth.roles import Role
from server.auth.sessions import SESSION_MAX_AGE_S, SessionRow, SessionStore, token_hash
from server.auth.users import User, UserStore
from server.store.db import Database
from server.errors import AccessRefused

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT = "default"

__all__ = ["Auth", "Principal", "SESSION_MAX_AGE_S", "SignInRefused", "require_role", "public_write",
           "install_guard", "configure_session_cookie"]


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


ANONYMOUS = Principal(None, Role.DISPLAY)


class SignInRefused(AccessRefused):
    pass


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the user, the session's CSRF token and the device token to keep."""

    user: User
    csrf: str
    device_token: str


class Auth:
    """Access control of one app (built by ``create_app``, handed to the routes and sockets that need it).

    ``clock`` (monotonic s) paces sign-in tries, ``wall_clock`` (epoch s) dates sessions.
    ``disconnect_socket(sid)`` closes one Socket.IO connection (set by the socket wiring).
    """

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, users: UserStore | None = None):
        self.users = users or UserStore(db, wall_clock)
        self.sessions = SessionStore(db, wall_clock)
        self.limiter = SignInLimiter(clock)
        self.disconnect_socket: Callable[[str], None] | None = None
        self._sockets: dict[str, tuple[str, str]] = {}  # sid -> (session token hash, user id)
        self._sockets_lock = threading.Lock()

    # session ----------------------------------------------------------------------------------------
    def _current(self) -> tuple[SessionRow | None, Principal]:
        row = self.sessions.lookup(session.get("sid"))
        user = self.users.get(row.user_id) if row else None
        return (row, Principal(user, user.role)) if user else (None, ANONYMOUS)

    def principal(self) -> Principal:
        return self._current()[1]

    def sign_in(self, name: str, pin: str, address: str, device_token: str | None = None) -> SignedIn:
        """Check the PIN (paced per trusted device, else per name and address); start a session."""
        known = self.users.find(name)
        trusted = known is not None and self.sessions.device_trusted(device_token, known.id)
        keys: list[Key] = ([("device", f"{token_hash(device_token or '')}/{known.id}")] if trusted
                           else [("addr", address), ("user", name.casefold())])
        wait = self.limiter.retry_after_s(keys)
        if wait:
            raise SignInRefused(429, f"too many failed sign-ins: try again in {wait} s", retry_after_s=wait)
        user = self.users.authenticate(name, pin)
        if user is None:
            self.limiter.failed(keys)
            raise SignInRefused(401, "wrong name or PIN")
        self.limiter.succeeded(keys)
        return self._start_session(user, device_token)

    def create_owner(self, name: str, pin: str, device_token: str | None = None) -> SignedIn:
        """First run: create the owner (the first admin) while the hub has no user, and sign them in on
        this tablet. ``Conflict`` once any user exists (:meth:`UserStore.create_owner`)."""
        return self._start_session(self.users.create_owner(name, pin), device_token)

    @property
    def first_run(self) -> bool:
        """No user yet: the tablet offers to create the owner."""
        return self.users.count() == 0

    def _start_session(self, user: User, device_token: str | None) -> SignedIn:
        self.sign_out()
        token, csrf = self.sessions.create(user.id)
        session.permanent = True
        session["sid"] = token
        return SignedIn(user, csrf, self.sessions.trust_device(device_token, user.id))

    def sign_out(self) -> None:
        """End this session (every copy of its cookie, its Socket.IO connections) and clear the cookie."""
        self._close_sockets(self.sessions.end(session.get("sid")))
        session.clear()

    def end_sessions(self, user_id: str, keep_mine: bool = False, forget_devices: bool = False) -> dict[str, int]:
        """End every session of ``user_id`` (but the caller's own with ``keep_mine``) and close their
        Socket.IO connections; ``forget_devices`` also withdraws their trusted devices."""
        row = self.sessions.lookup(session.get("sid")) if keep_mine else None
        ended = self.sessions.end_user(user_id, keep=row.token_hash if row else None)
        self._close_sockets(ended)
        forgotten = self.sessions.forget_devices(user_id) if forget_devices else 0
        return {"sessions_ended": len(ended), "devices_forgotten": forgotten}

    def csrf_token(self) -> str | None:
        row = self._current()[0]
        return row.csrf if row else None

    @staticmethod
    def _csrf_matches(row: SessionRow | None, token: Any) -> bool:
        return (row is not None and isinstance(token, str)
                and hmac.compare_digest(token.encode(), row.csrf.encode()))

    # Socket.IO connections ----------------------------------------------------------------------------
    def socket_connected(self, sid: str) -> None:
        """Remember which session (if any) the connection ``sid`` was made with."""
        row = self._current()[0]
        if row is not None:
            with self._sockets_lock:
                self._sockets[sid] = (row.token_hash, row.user_id)

    def socket_left(self, sid: str) -> None:
        with self._sockets_lock:
            self._sockets.pop(sid, None)

    def user_removed(self, user_id: str) -> None:
        """Close the Socket.IO connections of a removed user (its sessions went with it)."""
        self._close_sockets_where(lambda token, user: user == user_id)

    def _close_sockets(self, ended: list[str]) -> None:
        if ended:
            hashes = set(ended)
            self._close_sockets_where(lambda token, user: token in hashes)

    def _close_sockets_where(self, match: Callable[[str, str], bool]) -> None:
        with self._sockets_lock:
            sids = [sid for sid, (token, user) in self._sockets.items() if match(token, user)]
            for sid in sids:
                del self._sockets[sid]
        for sid in sids:
            if self.disconnect_socket is not None:
                self.disconnect_socket(sid)

    # checks -----------------------------------------------------------------------------------------
    def refusal(self, required: Role, write: bool, token: Any) -> tuple[int, str] | None:
        """``(status, message)`` when the caller may not do this, else None."""
        if required is Role.DISPLAY and not write:
            return None
        row, who = self._current()
        if not who.signed_in:
            return 401, "sign in first (POST /api/session with your name and PIN)"
        if write and not self._csrf_matches(row, token):
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


def require_role(role: Role) -> Callable:
    """Route decorator: the caller needs ``role`` (reads too); writes also need the CSRF header.
    It only marks the view: the guard :func:`install_guard` put on the app checks the mark before
    any ``/api/`` route runs."""
    def wrap(view: Callable) -> Callable:
        view.required_role = role  # type: ignore[attr-defined]
        return view
    return wrap


def public_write(view: Callable) -> Callable:
    """Route decorator: a write anyone may send (sign-in)."""
    view.required_role = None  # type: ignore[attr-defined]
    return view


def install_guard(app: Flask, auth: Auth) -> None:
    """Check every ``/api/`` request with ``auth`` before its route runs."""

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


DEVICE_COOKIE = "sledhub_device"
"""The trusted-device cookie (:mod:`server.auth.sessions`), sent only to ``/api/session``."""


def configure_session_cookie(app: Flask) -> None:
    """HttpOnly, SameSite=Strict session cookie that lives as long as a sign-in."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_NAME="sledhub_session",
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=SESSION_MAX_AGE_S))
