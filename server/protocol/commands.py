"""Hub → node commands: build them (``make_command``) and check them (``check_command``, the hand
mirror of ``docs/schemas/cmd.json``, also usable by a node or simulator on what it receives).

Commands go to ``sledhub/v1/node/<id>/cmd`` at QoS 1, never retained; the node answers on ``ack``
with the same ``id``.
"""

from __future__ import annotations

import math
import secrets
from typing import Any, NamedTuple

from firmware_bridge import wire
from server.protocol.messages import COUNT_MAX, is_id, topic
from server.protocol.validate import Reject, _id, _number, _version

COMMANDS = ("tare", "calibrate", "set_rate", "configure", "rebirth")
MAX_CONFIGURE_KEYS = 32
CALIBRATE_KEYS = ("scale_counts_per_n", "offset_counts", "counts_per_m", "invert")
_MISSING = object()


class OutboundCommand(NamedTuple):
    """What to publish: ``(cmd_id, topic, payload)``; publish at QoS 1, not retained."""

    cmd_id: str
    topic: str
    payload: bytes


def _positive(params: dict[str, Any], key: str, required: bool) -> None:
    if key not in params:
        if required:
            raise Reject("missing_field", f"params.{key}")
        return
    if not _number(params[key], f"params.{key}") > 0:
        raise Reject("bad_field", f"params.{key}")


def _finite(params: dict[str, Any], key: str) -> float:
    value = _number(params[key], f"params.{key}")
    if not math.isfinite(value):
        raise Reject("bad_number", f"params.{key}")
    return value


def _check_calibrate(params: dict[str, Any]) -> None:
    """The values the hub computed (docs/protocol.md §8): a load cell takes ``scale_counts_per_n`` (≠ 0)
    and/or ``offset_counts``, an encoder ``counts_per_m`` (> 0) and/or ``invert``. Which pair fits is
    the node's call (the hub does not know the sensor's kind here): it answers a misfit with an error."""
    if not any(key in params for key in CALIBRATE_KEYS):
        raise Reject("missing_field", "params: one of " + ", ".join(CALIBRATE_KEYS))
    for key in params:
        if key not in CALIBRATE_KEYS:
            raise Reject("bad_field", f"params.{key}"[:80])
    if "scale_counts_per_n" in params and _finite(params, "scale_counts_per_n") == 0:
        raise Reject("bad_field", "params.scale_counts_per_n")
    if "offset_counts" in params:
        _finite(params, "offset_counts")
    if "counts_per_m" in params and not _finite(params, "counts_per_m") > 0:
        raise Reject("bad_field", "params.counts_per_m")
    if "invert" in params and type(params["invert"]) is not bool:
        raise Reject("bad_field", "params.invert")


def _check_params(cmd: str, params: dict[str, Any] | None) -> None:
    if cmd == "tare":
        if params is not None and "samples" in params:
            n = params["samples"]
            if type(n) is float and n.is_integer():
                n = int(n)
            if type(n) is not int or not 1 <= n <= 255:
                raise Reject("bad_field", "params.samples")
        return
    if cmd == "rebirth":
        if params:
            raise Reject("bad_field", "params")
        return
    if params is None:
        raise Reject("missing_field", "params")
    if cmd == "calibrate":
        _check_calibrate(params)
    elif cmd == "set_rate":
        _positive(params, "rate_hz", required=True)
    elif cmd == "configure":
        if not 1 <= len(params) <= MAX_CONFIGURE_KEYS:
            raise Reject("bad_field", "params")
        for key, value in params.items():
            if not is_id(key):
                raise Reject("bad_field", f"params.{key}"[:80])
            if not (value is None or type(value) in (str, bool, int, float)):
                raise Reject("bad_field", f"params.{key}")


def check_command(obj: Any) -> None:
    """Raise :class:`Reject` unless ``obj`` (a parsed ``cmd`` payload) is a valid v1 command."""
    if type(obj) is not dict:
        raise Reject("bad_json", "not a JSON object")
    _version(obj)
    _id(obj, "id")
    cmd = obj.get("cmd", _MISSING)
    if type(cmd) is not str or cmd not in COMMANDS:
        raise Reject("missing_field" if cmd is _MISSING else "bad_field", "cmd")
    if "sensor" in obj:
        _id(obj, "sensor")
        if cmd == "rebirth":
            raise Reject("bad_field", "sensor")
    elif cmd != "rebirth":
        raise Reject("missing_field", "sensor")
    params = obj.get("params", _MISSING)
    if params is _MISSING:
        params = None
    elif type(params) is not dict:
        raise Reject("bad_field", "params")
    _check_params(cmd, params)


def new_command_id() -> str:
    """A fresh command id (``c`` + 10 hex digits)."""
    return "c" + secrets.token_hex(5)


def make_command(node: str, cmd: str, sensor: str | None = None, params: dict[str, Any] | None = None, *,
                 cmd_id: str | None = None) -> OutboundCommand:
    """Build command ``cmd`` for ``node``; ValueError (with the reason) if it is not a valid v1 command.

    ``cmd_id`` defaults to :func:`new_command_id`; the node's ``ack`` carries it back.
    """
    cmd_id = new_command_id() if cmd_id is None else cmd_id
    msg: dict[str, Any] = {"v": 1, "id": cmd_id, "cmd": cmd}
    if sensor is not None:
        msg["sensor"] = sensor
    if params is not None:
        msg["params"] = params
    try:
        check_command(msg)
        payload = wire.encode(msg)
    except Reject as r:
        raise ValueError(f"invalid {cmd!r} command for {node!r}: {r.reason} ({r.detail})") from None
    except ValueError as exc:  # NaN or Infinity in params
        raise ValueError(f"invalid {cmd!r} command for {node!r}: {exc}") from None
    return OutboundCommand(cmd_id, topic(node, "cmd"), payload)


def make_ping(node: str, n: int) -> tuple[str, bytes]:
    """Clock ping ``n`` for ``node``: ``(topic, payload)``; publish at QoS 0."""
    if type(n) is not int or not 0 <= n <= COUNT_MAX:
        raise ValueError(f"bad ping number {n!r}")
    return topic(node, "clock/ping"), b'{"v":1,"n":%d}' % n
