"""A result's reason in words, for the tablet and the wall (pure): why an attempt is not ``OK``, in a
coach's terms — "time cap 25 s — stopped at 10.5 m", "false start 0.08 s before GO", "wrong
direction", "aborted by instructor". Every result carries it as ``reason_text`` (None when OK).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.engine.enums import FalseStartReason, Reason, ResultStatus

FALSE_START_WHAT = {
    FalseStartReason.FORCE: "pulled",
    FalseStartReason.MOTION: "sled moved",
    FalseStartReason.START_BEAM: "left the start beam",
    FalseStartReason.REACTION: "reacted too fast",
}
"""What the athlete did to false-start, in words."""

ABORT_WORDS = {
    "stop all": "aborted: STOP ALL",
    "class moved on": "aborted: the class moved on",
    "class stopped": "aborted: the class stopped",
    Reason.STATION_REMOVED.value: "aborted: station removed",
    Reason.STOPPED_BEFORE_START.value: "stopped before the start",
}
"""Abort reasons the hub gives (free text otherwise), in words."""


@dataclass(frozen=True)
class Why:
    """What a result's words are made from. Times in s, distances in m; None where not known."""

    status: ResultStatus
    reason: str
    time_cap_s: float | None = None
    distance_m: float | None = None         # how far the sled came (sleds; None for lanes)
    false_start: FalseStartReason | None = None
    early_s: float | None = None            # how long before the GO signal the false start was
    reaction_s: float | None = None         # GO signal → reaction
    min_reaction_s: float | None = None
    warnings: list[str] = field(default_factory=list)


def reason_text(why: Why) -> str | None:
    """The reason in words, or None for an ``OK`` result."""
    if why.status is ResultStatus.OK:
        return None
    if why.status is ResultStatus.DNF:
        return _dnf(why)
    if why.status is ResultStatus.FALSE_START:
        return _false_start(why)
    if why.status is ResultStatus.DQ:
        return _dq(why)
    reason = why.reason.strip()
    if reason in ABORT_WORDS:
        return ABORT_WORDS[reason]
    if not reason:
        return "aborted"
    return reason if reason.startswith("aborted") else f"aborted: {reason.replace('_', ' ')}"


def _reached(distance_m: float | None) -> str:
    return "" if distance_m is None else f" at {distance_m:.1f} m"


def _dnf(why: Why) -> str:
    if why.reason == Reason.TIME_CAP.value:
        cap = f"time cap {why.time_cap_s:g} s" if why.time_cap_s is not None else "time cap"
        if why.distance_m is None:
            return f"{cap} — did not reach the finish"
        return f"{cap} — stopped{_reached(why.distance_m)}"
    if why.reason == Reason.MANUAL_STOP.value:
        return f"stopped by the instructor{_reached(why.distance_m)}"
    return f"did not finish: {why.reason.replace('_', ' ')}" if why.reason else "did not finish"


def _false_start(why: Why) -> str:
    what = FALSE_START_WHAT.get(why.false_start) if why.false_start is not None else None
    if why.early_s is not None and why.early_s > 0:
        text = f"false start {why.early_s:.2f} s before GO"
    elif why.reaction_s is not None and why.min_reaction_s is not None:
        return f"false start: reacted {why.reaction_s:.2f} s after GO (under {why.min_reaction_s:.2f} s)"
    else:
        text = "false start"
    return f"{text} ({what})" if what else text


def _dq(why: Why) -> str:
    if why.reason != Reason.WRONG_DIRECTION.value:
        return f"disqualified: {why.reason.replace('_', ' ')}" if why.reason else "disqualified"
    how = next((w.split(":", 1)[1].strip() for w in why.warnings if w.startswith("wrong_direction:")), "")
    return f"wrong direction — {how}" if how else "wrong direction"
