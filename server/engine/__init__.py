"""sledhub timing engine: pure, deterministic timing of sled pulls and beam-gate lanes.

Timestamped events in, state and results out. No I/O, no threads, no clock, no randomness: every
time is hub-clock integer microseconds passed in by the caller (node edge times corrected by the
measured clock offset). Rules for instructors and integrators: ``docs/timing.md``.

Public API
----------
Inputs::

    EngineEvent(station_id: str, role: str, kind: str, t_us: int,
                value: float | None = None, raw: int | None = None)
        # sled: role "force" kind "force" value N; role "wheel" kind "position" value m
        #       (positive = toward the athlete; samples need not be equally spaced)
        # lane: roles "start" "finish" "turn" "split1".."splitN" kinds "break" / "restore";
        #       beam B of an engine-paired dual-beam gate g: role "g.b" (list g in dual_beam_roles)

    SledStationConfig(station_id, distance_m, start_mode=GO_COUNTDOWN, time_cap_s=60.0,
                      false_start_policy=VOID_REARM, force_threshold_n=150.0, motion_threshold_m=0.02,
                      sled_mass_kg=None, countdown_s=3.0, reaction_window_s=(1.0, 3.0),
                      min_reaction_s=0.100, split_distances_m=(), velocity_window_s=0.05,
                      wrong_way_limit_m=1.0, rest_position_m=0.0, curve_points=100)
    LaneStationConfig(station_id, start_mode=GO_COUNTDOWN, split_roles=(), shuttle_legs=1,
                      time_cap_s=60.0, holdoff_s=0.5, false_start_policy=VOID_REARM, hold_s=3.0,
                      countdown_s=3.0, reaction_window_s=(1.0, 3.0), min_reaction_s=0.100,
                      dual_beam_roles=frozenset(), start_gate=True, route=(), reverse_check=True)
    draw_go_delay_us(cfg, rng) -> int      # REACTION_RANDOM delay from the caller's rng.uniform
    lane_route(cfg) -> tuple[str, ...]     # the gate passages a lane run must make, in order

Engine::

    engine = TimingEngine(lateness_us=300_000, progress_interval_us=100_000)
    engine.configure_station(cfg) -> None          # add / replace (not while an attempt is active)
    engine.remove_station(station_id) -> None      # an active attempt is ABORTED
    engine.ingest(ev) -> bool                      # buffer; False if duplicate/late/unknown/invalid
    engine.ingest_many(events) -> int
    engine.arm(station_ids, attempt_ids: dict[station, str], t_us, heat_id=None) -> str  # heat id
    engine.go(station_or_heat, t_us, go_delay_us=0) -> dict[station, int]   # GO-signal times
    engine.stop(station_or_heat, t_us) -> None
    engine.abort(station_or_heat, t_us, reason="aborted") -> None
    engine.advance(now_us) -> list[Output]
    engine.peek_finish(ev) -> ProvisionalFinish | None   # a finish shown at once, before the record
    engine.watermark_us, engine.state_of(station_id), engine.attempt_id_of(station_id),
    engine.pending_events, engine.stations, engine.stats (counters)

``advance(now_us)`` moves the watermark to ``now_us - lateness_us`` (never backwards) and processes,
in one total order of time and content, every buffered event, command and timer at or before it.
Commands are stamped by the caller (hub time, after the watermark, else ValueError) and take effect
at their ``t_us`` in that order, so their state changes are reported once the watermark passes them;
a command whose guard fails then is reported as :class:`CommandRejected`. Static mistakes (unknown
station or heat, missing attempt id, a REACTION_RANDOM delay outside the window) raise ValueError.
An event whose ``t_us`` is at or before the watermark when it is ingested is reported as
:class:`LateEvent` (unless it duplicates a processed event) and not used. Duplicates (same station,
role, kind, t_us, value, raw) are dropped.
``Progress`` comes at most once per running station per ``advance`` and per ``progress_interval_us``.

Outputs (dataclasses, each with ``to_dict()`` → JSON-ready dict with a ``type`` key)::

    AttemptStateChanged(station_id, attempt_id, state: AttemptState, t_us, reason, heat_id, rearmed_from)
    Progress(station_id, attempt_id, t_us, elapsed_s, distance_m, force_n, velocity_m_s, power_w, splits)
    AttemptFinished(result: AttemptResult)
    FalseStartDetected(station_id, attempt_id, t_us, reason: FalseStartReason, policy, voided, detail)
    LateEvent(event: EngineEvent, watermark_us)
    CommandRejected(command, station_id, t_us, reason, attempt_id)
    HeatStateChanged(heat_id, state: HeatState, t_us)

    AttemptResult(station_id, attempt_id, status: ResultStatus, reason, start_t_us, finish_t_us,
                  time_s, reaction_s, splits_s, metrics, curve, warnings, heat_id, false_start)

Enums: StartMode, FalseStartPolicy, ResultStatus, AttemptState, HeatState, FalseStartReason, Reason.
A VOID_REARM false start ends the attempt as FALSE_START and arms a new attempt at the same station
with id ``"<original id>~<try>"`` (``AttemptStateChanged.rearmed_from`` names the voided one).
"""

from server.engine.config import (LaneStationConfig, SledStationConfig, StationConfig, draw_go_delay_us,
                                  lane_route)
from server.engine.engine import TimingEngine
from server.engine.enums import (AttemptState, FalseStartPolicy, FalseStartReason, HeatState, Reason,
                                 ResultStatus, StartMode)
from server.engine.fsm import Transition
from server.engine.machine import TRANSITIONS, AttemptEvent
from server.engine.outputs import (AttemptFinished, AttemptResult, AttemptStateChanged, CommandRejected,
                                   EngineEvent, FalseStartDetected, HeatStateChanged, LateEvent, Output,
                                   Progress, ProvisionalFinish)

__all__ = [
    "TimingEngine", "EngineEvent", "SledStationConfig", "LaneStationConfig", "StationConfig",
    "draw_go_delay_us", "lane_route", "StartMode", "FalseStartPolicy", "ResultStatus", "AttemptState",
    "HeatState", "FalseStartReason", "Reason", "AttemptEvent", "Transition", "TRANSITIONS",
    "AttemptStateChanged", "Progress", "AttemptFinished", "AttemptResult", "FalseStartDetected",
    "LateEvent", "CommandRejected", "HeatStateChanged", "Output", "ProvisionalFinish",
]
