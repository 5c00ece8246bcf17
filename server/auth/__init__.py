"""Access control: roles, users with hashed PINs, sign-in pacing (growing waits; trusted devices
exempt from the per-name count), sessions kept on the hub, CSRF, and the role checks of REST routes
and Socket.IO control events. The design and its figures: ``docs/deploy.md`` (security notes).

Roles nest: ``admin`` (setup: circuits, roster import, users) ⊇ ``instructor`` (runs classes,
corrections) ⊇ ``display`` (read-only; what anyone gets without signing in).
"""

from server.auth.roles import Role

__all__ = ["Role"]
