"""Corrections of finished results (pure): what each one changes, and its validation.

Kinds (every one needs a ``reason``, kept with the before/after rows in the audit trail):

- ``edit_time``: set ``time_s`` (hand timing, a missed gate). The status becomes ``OK`` unless the
  result is ``DQ`` or ``RERUN`` (those stay).
- ``dq``: disqualify: status ``DQ``. Boards leave DQ results out.
- ``rerun``: void the attempt for a re-run: status ``RERUN``; when its class is still running, the
  member runs again at the same station in a heat added right after the current one.
- ``delete``: remove the result (the audit trail keeps the whole row).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from server.errors import Conflict, InvalidInput
from server.fields import number_in

REASON_MAX = 300
TIME_MAX_S = 3600.0
DQ_STATUS = "DQ"
RERUN_STATUS = "RERUN"
OK_STATUS = "OK"
HIDDEN_STATUSES = frozenset({DQ_STATUS, RERUN_STATUS})
"""Statuses boards leave out (besides members who opted out)."""


class CorrectionKind(StrEnum):
    EDIT_TIME = "edit_time"
    DQ = "dq"
    RERUN = "rerun"
    DELETE = "delete"


def parse_reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a correction needs a reason", ["reason: required, a non-empty text"])
    if len(value.strip()) > REASON_MAX:
        raise InvalidInput("reason too long", [f"reason: at most {REASON_MAX} characters"])
    return value.strip()


def parse_time_s(value: Any) -> float:
    if not number_in(value, 0, TIME_MAX_S, above_lo=True):
        raise InvalidInput("invalid time", [f"time_s: expected a number of seconds, 0 < time_s <= {TIME_MAX_S:g}"])
    return round(float(value), 3)


def corrected(kind: CorrectionKind, before: dict[str, Any], reason: str, time_s: float | None = None,
              stamp: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The result row after the correction (``None`` = deleted); raises :class:`Conflict` when pointless.

    ``before`` and the returned row have the ``results`` columns (``detail`` as a dict);
    ``stamp`` (who and when) is recorded in ``detail["correction"]`` so pages can mark the result.
    """
    status = before["status"]
    if kind is CorrectionKind.DELETE:
        return None
    after = dict(before)
    after["detail"] = dict(before.get("detail") or {})
    if kind is CorrectionKind.EDIT_TIME:
        if time_s is None:
            raise InvalidInput("edit_time needs time_s", ["time_s: required"])
        after["time_s"] = time_s
        if status not in HIDDEN_STATUSES:
            after["status"] = OK_STATUS
        after["detail"].setdefault("original_time_s", before.get("time_s"))
    elif kind is CorrectionKind.DQ:
        if status == DQ_STATUS:
            raise Conflict(f"result {before['id']} is already disqualified")
        after["status"] = DQ_STATUS
    elif kind is CorrectionKind.RERUN:
        if status == RERUN_STATUS:
            raise Conflict(f"result {before['id']} is already voided for a re-run")
        after["status"] = RERUN_STATUS
    after["detail"]["correction"] = {"kind": kind.value, "reason": reason, **(stamp or {})}
    after["detail"]["reason_text"] = _reason_text(after["status"], reason, before)
    return after


def _reason_text(status: str, reason: str, before: dict[str, Any]) -> str | None:
    """A corrected result's reason in words: the instructor's reason for a DQ or a re-run, none for a
    result made OK by a hand time, the engine's otherwise."""
    if status == DQ_STATUS:
        return f"disqualified by the instructor: {reason}"
    if status == RERUN_STATUS:
        return f"voided for a re-run: {reason}"
    if status == OK_STATUS:
        return None
    return (before.get("detail") or {}).get("reason_text")
