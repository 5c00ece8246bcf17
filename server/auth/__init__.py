"""Access control: roles, users with hashed PINs, sign-in rate limits, the session cookie, CSRF, and
the role checks of REST routes and Socket.IO control events.

Roles nest: ``admin`` (setup: circuits, roster import, users) ⊇ ``instructor`` (runs classes,
corrections) ⊇ ``display`` (read-only; what anyone gets without signing in).
"""

from server.auth.roles import Role

__all__ = ["Role"]
