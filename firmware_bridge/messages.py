"""Payloads of protocol sledhub/v1, node side (pure functions; see docs/architecture.md).

Topics, ids, QoS and the JSON encoding are :mod:`firmware_bridge.wire`, shared with the hub. Every
payload is a JSON object with ``"v": 1``; times are node-clock integer µs (``t_us``).
"""

from __future__ import annotations

from typing import Any

from firmware_bridge import wire

TOPIC_ROOT = wire.TOPIC_ROOT
VERSION = wire.PROTOCOL_VERSION
topic = wire.topic  # topic(node_id, msg_type)
encode = wire.encode  # compact UTF-8 JSON


def status(node_id: str, state: str, boot_id: str) -> dict[str, Any]:
    """``status`` (retained, QoS 1): ``online`` on connect; ``offline`` as Last Will and on clean stop."""
    return {"v": VERSION, "node": node_id, "state": state, "boot_id": boot_id}


def desc(node_id: str, boot_id: str, fw: str, sensors: list[dict[str, Any]]) -> dict[str, Any]:
    """``desc`` (retained, QoS 1): what this node is and what each sensor is set to."""
    return {"v": VERSION, "node": node_id, "boot_id": boot_id, "fw": fw, "sensors": sensors}


def event(boot_id: str, seq: int, sensor: str, kind: str, t_us: int,
          detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """``evt`` (QoS 1): ``break`` / ``restore`` / ``fault`` at node time ``t_us``."""
    msg = {"v": VERSION, "boot_id": boot_id, "seq": seq, "sensor": sensor, "kind": kind, "t_us": t_us}
    if detail:
        msg["detail"] = detail
    return msg


def telemetry(boot_id: str, seq: int, sensor: str, kind: str, samples: list[list[Any]]) -> dict[str, Any]:
    """``tel`` (QoS 0): ``samples`` are ``[t_us, value, raw_counts]``, in order of ``t_us``."""
    return {"v": VERSION, "boot_id": boot_id, "seq": seq, "sensor": sensor, "kind": kind, "samples": samples}


def ack(cmd_id: str, ok: bool, result: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    """``ack`` (QoS 1) of command ``cmd_id``: ``result`` when ok, else ``error``."""
    msg: dict[str, Any] = {"v": VERSION, "id": cmd_id, "ok": ok}
    if ok:
        msg["result"] = result or {}
    else:
        msg["error"] = error or "failed"
    return msg


def pong(boot_id: str, n: int, t_us: int, t_tx_us: int | None = None) -> dict[str, Any]:
    """``clock/pong`` (QoS 0): node clock at receipt of ping ``n``, and just before sending."""
    msg = {"v": VERSION, "boot_id": boot_id, "n": n, "t_us": t_us}
    if t_tx_us is not None:
        msg["t_tx_us"] = t_tx_us
    return msg


HEALTH_COUNTERS = (*wire.HEALTH_COUNTERS, "beam_ignored")


def health(node_id: str, boot_id: str, uptime_s: float, counters: dict[str, int]) -> dict[str, Any]:
    """``health`` (retained, QoS 0, every ``health_interval_s``): counters since boot, and the outbox
    depth now. ``beam_ignored`` counts breaks ignored by hold-off (not part of the required set)."""
    msg: dict[str, Any] = {"v": VERSION, "node": node_id, "boot_id": boot_id, "uptime_s": round(uptime_s, 3)}
    for key in HEALTH_COUNTERS:
        msg[key] = int(counters.get(key, 0))
    return msg
