"""How the hub's Socket.IO traffic is encoded (measured with ``make bench``, see ``bench/README.md``):
JSON-only packets, a ``frames`` payload encoded once per flush. (TCP_NODELAY and the connections'
timeouts are the server's: :mod:`server.web.serving`.)
"""

from __future__ import annotations

import json
from typing import Any

from socketio.packet import Packet

from server.hub.broadcast import FRAMES_EVENT

_FRAMES_PREFIX = f'["{FRAMES_EVENT}",'


class _FramesJson:
    """``json`` for Socket.IO packets. A ``frames`` payload goes to every page in a packet of its own
    (each with its acknowledgement id): its JSON is made once per flush, not once per page."""

    def __init__(self) -> None:
        self._last: tuple[Any, str] = (None, "")  # (payload object, its JSON); replaced atomically

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if type(obj) is list and len(obj) == 2 and obj[0] == FRAMES_EVENT:
            payload, text = self._last
            if payload is not obj[1]:  # the cache holds a reference, so identity cannot be reused
                text = json.dumps(obj[1], **kwargs)
                self._last = (obj[1], text)
            return _FRAMES_PREFIX + text + "]"
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str) -> Any:
        return json.loads(text)


def hub_packet_class() -> type[Packet]:
    """A Socket.IO packet class for one hub (its own frames cache): JSON only (the hub never sends
    bytes, so no walk through every payload looking for them)."""

    class HubPacket(Packet):
        uses_binary_events = False
        json = _FramesJson()

    return HubPacket

