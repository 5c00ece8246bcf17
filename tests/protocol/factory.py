"""Valid v1 messages as Python objects, for the protocol tests (override any field by keyword)."""

from __future__ import annotations

import json
from typing import Any

NODE = "sled1"
BOOT = "b1"

SENSORS = [
    {"id": "lc1", "kind": "load_cell", "unit": "N", "rate_hz": 80, "wiring": {"dout": 5, "sck": 6},
     "calibration": {"offset_counts": 8123, "counts_per_n": 104.2}},
    {"id": "enc1", "kind": "encoder", "unit": "m", "rate_hz": None, "wiring": {"a": 17, "b": 27}},
    {"id": "gate1", "kind": "beam", "unit": None, "rate_hz": None, "wiring": {"pin": 22}},
    {"id": "gate2", "kind": "dual_beam", "unit": None, "rate_hz": None, "wiring": {"a": 23, "b": 24}},
]


def topic(msg_type: str, node: str = NODE) -> str:
    return f"sledhub/v1/node/{node}/{msg_type}"


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def status(**kw) -> dict:
    return {"v": 1, "node": NODE, "state": "online", "boot_id": BOOT, **kw}


def desc(**kw) -> dict:
    return {"v": 1, "node": NODE, "boot_id": BOOT, "fw": "sledhub-bridge 0.1.0",
            "sensors": [dict(s) for s in SENSORS], **kw}


def evt(seq: int = 0, **kw) -> dict:
    return {"v": 1, "boot_id": BOOT, "seq": seq, "sensor": "gate1", "kind": "break", "t_us": 1_000_000, **kw}


def tel(seq: int = 0, n: int = 4, **kw) -> dict:
    samples = [[1_000_000 + 12_500 * i, 10.0 * i, 8123 + 1042 * i] for i in range(n)]
    return {"v": 1, "boot_id": BOOT, "seq": seq, "sensor": "lc1", "kind": "force", "samples": samples, **kw}


def ack(**kw) -> dict:
    return {"v": 1, "id": "c17", "ok": True, "result": {"offset_counts": 8200}, **kw}


def health(**kw) -> dict:
    return {"v": 1, "boot_id": BOOT, "uptime_s": 12.5, "dropped_events": 0, "dropped_samples": 3,
            "hx711_overruns": 1, "hx711_faults": 0, "encoder_errors": 0, "outbox_depth": 2, **kw}


def pong(**kw) -> dict:
    return {"v": 1, "boot_id": BOOT, "n": 7, "t_us": 5_000_000, **kw}


VALID = {"status": status, "desc": desc, "evt": evt, "tel": tel, "ack": ack, "health": health, "clock/pong": pong}


def send(proto, msg_type: str, obj: Any, rx_us: int = 0, node: str = NODE) -> list:
    """Feed one message into ``proto`` and return what it accepted."""
    payload = obj if isinstance(obj, bytes) else encode(obj)
    return proto.handle(topic(msg_type, node), payload, rx_us)
