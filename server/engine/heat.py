"""Heats: attempts armed together by one ``arm`` call, started together by one ``go``.

A heat's state is derived from its members' attempt states by :func:`heat_state` (a pure function),
so it can never disagree with them. Members are replaced when a station re-arms after a voided
false start (same station, new attempt id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.engine.enums import TERMINAL_STATES, AttemptState, HeatState

_RUNNING_STATES = frozenset({AttemptState.RUNNING, AttemptState.READY})


def heat_state(states: list[AttemptState]) -> HeatState:
    """DONE when all members are terminal; else RUNNING if any runs (or awaits its athlete after GO);
    else COUNTDOWN if any counts down; else ARMED."""
    if all(s in TERMINAL_STATES for s in states):
        return HeatState.DONE
    if any(s in _RUNNING_STATES for s in states):
        return HeatState.RUNNING
    if any(s is AttemptState.COUNTDOWN for s in states):
        return HeatState.COUNTDOWN
    return HeatState.ARMED


@dataclass
class Heat:
    """Member attempts by station and their last known states."""

    heat_id: str
    attempt_ids: dict[str, str]
    states: dict[str, AttemptState] = field(default_factory=dict)
    state: HeatState | None = None

    def update(self, station_id: str, attempt_id: str, state: AttemptState) -> HeatState | None:
        """Record a member's state; returns the new heat state if it changed."""
        self.attempt_ids[station_id] = attempt_id
        self.states[station_id] = state
        return self.refresh()

    def remove(self, station_id: str) -> HeatState | None:
        """Drop a member (its arm was rejected, or its station was removed)."""
        self.attempt_ids.pop(station_id, None)
        self.states.pop(station_id, None)
        return self.refresh()

    def refresh(self) -> HeatState | None:
        """Re-derive the state once every member has reported; returns it if it changed."""
        if not self.attempt_ids or len(self.states) < len(self.attempt_ids):
            return None
        new = heat_state(list(self.states.values()))
        if new is self.state:
            return None
        self.state = new
        return new
