"""Sign-in sessions kept on the hub, and the devices users have signed in from.

A session is a random token (32 bytes, URL-safe) in the browser's signed session cookie; the hub
stores only its SHA-256 with the user, the session's CSRF token and when it expires (12 h after
sign-in, :data:`SESSION_MAX_AGE_S`). A request whose token has no row is signed out, so deleting the
row ends the session at once, wherever copies of the cookie are: sign-out deletes one row, a PIN
change or "sign out everywhere" all of a user's rows.

A trusted device is a second random token in its own long-lived cookie (``sledhub_device``, 400
days), set on every successful sign-in; the hub keeps its SHA-256 per user who signed in with it.
:mod:`server.auth.ratelimit` lets a trusted device sign that user in past the per-name delay, so
guessing a name's PIN from elsewhere never locks its owner out of their own tablet.

Times are wall-clock seconds (``time.time``), injected.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from server.store.db import Database

SESSION_MAX_AGE_S = 12 * 3600
"""A sign-in lasts 12 hours (a long teaching day), then the tablet asks for the PIN again."""
DEVICE_MAX_AGE_S = 400 * 24 * 3600
"""A device stays trusted 400 days after its last sign-in (the longest cookie browsers keep)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    user_id: str
    csrf: str
    expires_at: float


class SessionStore:
    """Sessions and trusted devices in SQLite (tables ``sessions`` and ``trusted_devices``)."""

    def __init__(self, db: Database, wall_clock: Callable[[], float] = time.time):
        self.db = db
        self._wall = wall_clock

    # sessions ---------------------------------------------------------------------------------------
    def create(self, user_id: str) -> tuple[str, str]:
        """Start a session for ``user_id``; returns ``(token, csrf)``. Drops expired sessions too."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._wall()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            conn.execute("INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                         (token_hash(token), user_id, csrf, now, now + SESSION_MAX_AGE_S))
        return token, csrf

    def lookup(self, token: object) -> SessionRow | None:
        """The live session of ``token`` (None: unknown, ended or expired)."""
        if not isinstance(token, str) or not token:
            return None
        rows = self.db.query("SELECT token_hash, user_id, csrf, expires_at FROM sessions WHERE token_hash = ?",
                             (token_hash(token),))
        if not rows or rows[0]["expires_at"] <= self._wall():
            return None
        return SessionRow(rows[0]["token_hash"], rows[0]["user_id"], rows[0]["csrf"], rows[0]["expires_at"])

    def end(self, token: object) -> list[str]:
        """End one session; returns the token hashes ended (empty if there was none)."""
        row = self.lookup(token)
        if row is None:
            return []
        self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (row.token_hash,))
        return [row.token_hash]

    def end_user(self, user_id: str, keep: str | None = None) -> list[str]:
        """End every session of ``user_id`` but the one with token hash ``keep``; returns the hashes ended."""
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT token_hash FROM sessions WHERE user_id = ? AND token_hash != ?",
                                (user_id, keep or "")).fetchall()
            conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?", (user_id, keep or ""))
        return [r["token_hash"] for r in rows]

    # trusted devices --------------------------------------------------------------------------------
    def device_trusted(self, device_token: object, user_id: str) -> bool:
        """True when ``user_id`` has signed in from the device holding ``device_token`` (recently enough)."""
        if not isinstance(device_token, str) or not device_token:
            return False
        rows = self.db.query("SELECT last_used_at FROM trusted_devices WHERE token_hash = ? AND user_id = ?",
                             (token_hash(device_token), user_id))
        return bool(rows) and rows[0]["last_used_at"] + DEVICE_MAX_AGE_S > self._wall()

    def trust_device(self, device_token: object, user_id: str) -> str:
        """Remember that ``user_id`` signed in from this device; returns its token (a new one if it had none)."""
        if not isinstance(device_token, str) or not 20 <= len(device_token) <= 100:
            device_token = secrets.token_urlsafe(32)
        now = self._wall()
        self.db.execute("INSERT INTO trusted_devices (token_hash, user_id, created_at, last_used_at) VALUES (?,?,?,?)"
                        " ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used_at = excluded.last_used_at",
                        (token_hash(device_token), user_id, now, now))
        return device_token

    def forget_devices(self, user_id: str) -> int:
        """Trust no device for ``user_id`` any more (a lost tablet); returns how many were trusted."""
        return self.db.execute("DELETE FROM trusted_devices WHERE user_id = ?", (user_id,)).rowcount
