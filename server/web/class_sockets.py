"""Socket.IO control events for the instructor tablet: thin, role-checked, acknowledged.

Each event takes one JSON object with the session's CSRF token in ``csrf`` (from ``GET
/api/session``) and answers through the Socket.IO acknowledgement: ``{"ok": true, "class": <view>}``,
or ``{"ok": false, "status": 400|401|403|404|409, "error": "..."}``. A refused event changes nothing.

The connection's session is the cookie it connected with: connect (or reconnect) after signing in.
Its session is looked up again for every event; when it ends (sign-out, a PIN change, "sign out
everywhere") the hub sends ``signed_out`` and closes the connection. A refused event is answered as
:func:`server.web.errors.error_ack` answers every domain error.

| event | payload (besides ``csrf``) |
|---|---|
| ``class:start``, ``class:go``, ``class:pause``, ``class:resume``, ``class:skip``, ``class:finish``,\
  ``class:arm`` | ``class_id`` |
| ``class:stop_all`` | (nothing) |
| ``class:checkin`` | ``class_id``, ``member_ids`` |
| ``class:checkout`` | ``class_id``, ``member_id`` |
| ``class:assign`` | ``class_id``, ``station_id``, ``member_id`` (null empties), ``round_no``?, ``heat_no``? |
| ``class:stop_station``, ``class:abort_station`` | ``class_id``, ``station_id`` |
"""

from __future__ import annotations

import logging

from typing import Any, Callable

from flask_socketio import SocketIO

from server.auth.guard import Auth
from server.auth.roles import Role
from server.errors import DomainError, InvalidInput
from server.fields import is_int
from server.store.errors import StoreUnavailable
from server.web.errors import error_ack
from server.classes.service import ClassService
from server.classes.session import Event

Call = Callable[[ClassService, dict], Any]

log = logging.getLogger(__name__)


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{key} is required", [f"{key}: required, a text"])
    return value


def _event(event: Event) -> Call:
    return lambda svc, d: svc.control(_text(d, "class_id"), event)


def _checkin(svc: ClassService, d: dict) -> Any:
    ids = d.get("member_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(m, str) for m in ids):
        raise InvalidInput("member_ids is required", ["member_ids: a non-empty list of member ids"])
    return svc.check_in(_text(d, "class_id"), ids)


def _assign(svc: ClassService, d: dict) -> Any:
    member = d.get("member_id")
    if member is not None and not isinstance(member, str):
        raise InvalidInput("member_id must be a text or null", ["member_id: a member id or null"])
    numbers = [d.get(k) for k in ("round_no", "heat_no")]
    if any(n is not None and not is_int(n) for n in numbers):
        raise InvalidInput("round_no/heat_no must be integers", ["round_no, heat_no: integers"])
    return svc.assign(_text(d, "class_id"), _text(d, "station_id"), member, *numbers)


def _stop_station(svc: ClassService, d: dict) -> Any:
    svc.stop_station(_text(d, "class_id"), _text(d, "station_id"))
    return svc.view(_text(d, "class_id"))


CONTROL_EVENTS: dict[str, tuple[Role, Call]] = {
    "class:start": (Role.INSTRUCTOR, lambda svc, d: svc.start(_text(d, "class_id"))),
    "class:go": (Role.INSTRUCTOR, _event(Event.GO)),
    "class:pause": (Role.INSTRUCTOR, _event(Event.PAUSE)),
    "class:resume": (Role.INSTRUCTOR, _event(Event.RESUME)),
    "class:skip": (Role.INSTRUCTOR, _event(Event.SKIP)),
    "class:finish": (Role.INSTRUCTOR, _event(Event.FINISH)),
    "class:arm": (Role.INSTRUCTOR, lambda svc, d: svc.arm(_text(d, "class_id"))),
    "class:stop_all": (Role.INSTRUCTOR, lambda svc, d: svc.stop_all()),
    "class:checkin": (Role.INSTRUCTOR, _checkin),
    "class:checkout": (Role.INSTRUCTOR, lambda svc, d: svc.check_out(_text(d, "class_id"), _text(d, "member_id"))),
    "class:assign": (Role.INSTRUCTOR, _assign),
    "class:stop_station": (Role.INSTRUCTOR, _stop_station),
    "class:abort_station": (Role.INSTRUCTOR,
                            lambda svc, d: svc.abort_station(_text(d, "class_id"), _text(d, "station_id"))),
}
"""Every control event: the role it needs and what it does."""


def register_control_events(socketio: SocketIO, service: ClassService, auth: Auth) -> None:
    def disconnect(sid: str) -> None:
        """A session ended: close its connection (the page reconnects as a display)."""
        socketio.emit("signed_out", {}, to=sid)
        socketio.server.disconnect(sid, namespace="/")

    auth.disconnect_socket = disconnect
    for name, (role, call) in CONTROL_EVENTS.items():
        socketio.on_event(name, _handler(role, call, service, auth))


def _handler(role: Role, call: Call, service: ClassService, auth: Auth) -> Callable:
    def handle(data: Any = None) -> dict[str, Any]:
        refused = auth.socket_refusal(role, data)
        if refused:
            return refused
        try:
            return {"ok": True, "class": call(service, data)}
        except DomainError as exc:
            return error_ack(exc)
        except StoreUnavailable as exc:  # the database refused the write: nothing changed, as over HTTP
            return {"ok": False, "status": 503, "error": exc.message, "reason": exc.reason}
        except Exception as exc:  # every control gets an answer, never silence
            log.exception("control event failed")
            return {"ok": False, "status": 500, "error": f"the hub could not do that: {exc}"}
    return handle
