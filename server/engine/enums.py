"""Enumerations shared by the timing engine: start modes, policies, states, statuses, reasons.

All are ``StrEnum`` so that they serialise to JSON as their value and compare equal to it.
"""

from __future__ import annotations

from enum import StrEnum


class StartMode(StrEnum):
    """How the clock of an attempt starts (see ``docs/timing.md``)."""

    GO_COUNTDOWN = "GO_COUNTDOWN"      # instructor GO, then a fixed countdown; time starts at the GO signal
    REACTION_RANDOM = "REACTION_RANDOM"  # GO after a caller-drawn random delay; reaction time recorded
    HOLD_IN_BEAM = "HOLD_IN_BEAM"      # lanes: stand in the start beam ≥ hold_s, time starts on leaving
    FLY_THROUGH = "FLY_THROUGH"        # lanes: time starts when the athlete breaks the start gate
    FIRST_MOVEMENT = "FIRST_MOVEMENT"  # sleds: after GO, time starts at the first sustained movement


GO_MODES = frozenset({StartMode.GO_COUNTDOWN, StartMode.REACTION_RANDOM, StartMode.FIRST_MOVEMENT})
"""Modes that need a ``go`` command (and therefore have a false-start window)."""

SLED_MODES = frozenset({StartMode.GO_COUNTDOWN, StartMode.REACTION_RANDOM, StartMode.FIRST_MOVEMENT})
LANE_MODES = frozenset({StartMode.GO_COUNTDOWN, StartMode.REACTION_RANDOM, StartMode.HOLD_IN_BEAM,
                        StartMode.FLY_THROUGH})


class FalseStartPolicy(StrEnum):
    """What a station does with a false start."""

    WARN_KEEP = "WARN_KEEP"    # flag it (output + warning on the result) and keep timing the attempt
    VOID_REARM = "VOID_REARM"  # end the attempt as FALSE_START and arm a fresh attempt at the station


class AttemptState(StrEnum):
    """States of one attempt (the transition table is in :mod:`server.engine.machine`)."""

    IDLE = "IDLE"
    ARMED = "ARMED"
    COUNTDOWN = "COUNTDOWN"
    HOLDING = "HOLDING"
    READY = "READY"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FALSE_START = "FALSE_START"
    DNF = "DNF"
    DQ = "DQ"
    ABORTED = "ABORTED"


TERMINAL_STATES = frozenset({AttemptState.FINISHED, AttemptState.FALSE_START, AttemptState.DNF,
                             AttemptState.DQ, AttemptState.ABORTED})
ACTIVE_STATES = frozenset(AttemptState) - TERMINAL_STATES - {AttemptState.IDLE}


class ResultStatus(StrEnum):
    """Status of a finished attempt; each result also carries a reason."""

    OK = "OK"
    FALSE_START = "FALSE_START"
    DNF = "DNF"
    DQ = "DQ"
    ABORTED = "ABORTED"


STATUS_OF_STATE = {
    AttemptState.FINISHED: ResultStatus.OK,
    AttemptState.FALSE_START: ResultStatus.FALSE_START,
    AttemptState.DNF: ResultStatus.DNF,
    AttemptState.DQ: ResultStatus.DQ,
    AttemptState.ABORTED: ResultStatus.ABORTED,
}


class FalseStartReason(StrEnum):
    """Why a start was false."""

    FORCE = "force"            # sled: force above force_threshold_n before GO
    MOTION = "motion"          # sled: encoder moved more than motion_threshold_m before GO
    START_BEAM = "start_beam"  # lane: the start beam changed before GO
    REACTION = "reaction"      # reaction faster than min_reaction_s (REACTION_RANDOM only)


class Reason(StrEnum):
    """Reason codes carried by state changes and results (abort reasons are free text)."""

    ARMED = "armed"
    REARMED = "rearmed_after_false_start"
    GO_COMMAND = "go_command"
    GO_SIGNAL = "go_signal"
    ENTERED_BEAM = "entered_start_beam"
    LEFT_BEAM_EARLY = "left_start_beam_early"
    HOLD_COMPLETE = "hold_complete"
    STARTED = "started"
    FINISHED = "finished"
    FALSE_START_FORCE = "false_start_force"
    FALSE_START_MOTION = "false_start_motion"
    FALSE_START_BEAM = "false_start_start_beam"
    FALSE_START_REACTION = "false_start_reaction"
    TIME_CAP = "time_cap"
    MANUAL_STOP = "manual_stop"
    STOPPED_BEFORE_START = "stopped_before_start"
    WRONG_DIRECTION = "wrong_direction"
    STATION_REMOVED = "station_removed"


FALSE_START_REASONS = {
    FalseStartReason.FORCE: Reason.FALSE_START_FORCE,
    FalseStartReason.MOTION: Reason.FALSE_START_MOTION,
    FalseStartReason.START_BEAM: Reason.FALSE_START_BEAM,
    FalseStartReason.REACTION: Reason.FALSE_START_REACTION,
}


class HeatState(StrEnum):
    """Derived state of a heat (stations armed together); see :func:`server.engine.heat.heat_state`."""

    ARMED = "ARMED"          # no member has had its GO signal or started yet
    COUNTDOWN = "COUNTDOWN"  # at least one member counts down, none is running
    RUNNING = "RUNNING"      # at least one member is running (or waits for its athlete-driven start)
    DONE = "DONE"            # every member attempt has a result
