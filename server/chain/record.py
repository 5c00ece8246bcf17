"""One shared result as it travels between gyms (pure): its fields, its stable id, its payload.

A gym publishes each committed result, and each later correction of it, as a new *version* of one
record (``docs/protocol.md``, "Results shared with a chain"; schema ``docs/schemas/hub_result.json``):

- ``key`` = ``<gym_id>:<attempt_id>``, the result across the chain;
- ``id`` = ``<gym_id>:<attempt_id>:<version>``, stable for one version (0 first, +1 each time
  the shared record changes: a correction, a new nickname, a deletion, an opt-out), so a
  redelivery is the same message and a correction is a new one that replaces it;
- ``drill`` = ``<station kind>:<course>`` (``"sled:10 m"``, ``"lane:start–finish"``): what makes two
  times comparable across gyms, whose station ids differ;
- ``athlete`` is the wall name (nickname, or first name and initial), ``person`` an opaque key within
  the gym; a member who opted out of boards is never published (the publisher leaves them out).

Times are seconds, ``finished_at`` Unix time (s) on the gym's clock.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from firmware_bridge.wire import ID_PATTERN

GYM_ID = re.compile(ID_PATTERN)
"""Gym and station ids are ids of the wire format (``firmware_bridge.wire``)."""
ATTEMPT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
DELETED = "DELETED"
"""Status of a version that says the gym deleted the result (boards drop it)."""
KINDS = ("sled", "lane")
MAX_TEXT = 120
MAX_TIME_S = 3600.0
MAX_VERSION = 1_000_000
PAYLOAD_VERSION = 1


class RecordError(ValueError):
    """A payload that is not a valid shared result; the message names the field."""


@dataclass(frozen=True)
class ChainRecord:
    """One version of one shared result (see the module docstring)."""

    gym_id: str
    attempt_id: str
    version: int
    club: str
    athlete: str
    person: str
    station_id: str
    drill: str
    status: str
    time_s: float | None
    finished_at: float

    @property
    def key(self) -> str:
        return f"{self.gym_id}:{self.attempt_id}"

    @property
    def id(self) -> str:
        return f"{self.key}:{self.version}"

    def to_payload(self) -> dict[str, Any]:
        """The JSON object published on ``sledhub/v1/hub/results/<station>``."""
        return {"v": PAYLOAD_VERSION, "id": self.id, **asdict(self)}

    def encode(self) -> bytes:
        return json.dumps(self.to_payload(), separators=(",", ":"), ensure_ascii=False).encode()


def drill_of(kind: str, course: str) -> str:
    """``"sled:10 m"`` from a station kind and a course (``server.boards.model.course_of``)."""
    return f"{kind}:{course}"


def _text(data: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str) or (not value and not empty) or len(value) > MAX_TEXT:
        raise RecordError(f"{name}: expected a text of 1..{MAX_TEXT} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise RecordError(f"{name}: must match {pattern.pattern}")
    return value


def _number(value: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise RecordError(f"{name}: expected a number {lo:g}..{hi:g}")
    return float(value)


def parse_payload(raw: bytes) -> ChainRecord:
    """The record in a received payload; :class:`RecordError` naming the first bad field."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RecordError("payload: not JSON") from None
    if not isinstance(data, dict):
        raise RecordError("payload: expected a JSON object")
    if data.get("v") != PAYLOAD_VERSION:
        raise RecordError(f"v: expected {PAYLOAD_VERSION}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
        raise RecordError(f"version: expected an integer 0..{MAX_VERSION}")
    drill = _text(data, "drill")
    if drill.partition(":")[0] not in KINDS:
        raise RecordError(f"drill: expected <kind>:<course> with kind one of {', '.join(KINDS)}")
    time_s = data.get("time_s")
    record = ChainRecord(
        gym_id=_text(data, "gym_id", GYM_ID), attempt_id=_text(data, "attempt_id", ATTEMPT_ID), version=version,
        club=_text(data, "club"), athlete=_text(data, "athlete"), person=_text(data, "person"),
        station_id=_text(data, "station_id", GYM_ID), drill=drill, status=_text(data, "status", re.compile(r"[A-Z_]{1,20}")),
        time_s=None if time_s is None else _number(time_s, "time_s", 0.0, MAX_TIME_S),
        finished_at=_number(data.get("finished_at"), "finished_at", 0.0, 1e11),
    )
    if data.get("id") != record.id:
        raise RecordError("id: expected <gym_id>:<attempt_id>:<version>")
    return record
