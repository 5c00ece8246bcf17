"""Station configurations (frozen dataclasses, validated on construction) and small helpers.

Every option is documented where it is defined; units are in the names. ``ValueError`` with a clear
message is raised for an invalid configuration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

from server.engine.enums import GO_MODES, LANE_MODES, SLED_MODES, FalseStartPolicy, StartMode

ROLE_RE = re.compile(r"^(start|finish|turn|split[1-9][0-9]*)$")
SPLIT_RE = re.compile(r"^split[1-9][0-9]*$")
DUAL_B_SUFFIX = ".b"
"""Beam B of an engine-paired dual-beam gate ``g`` arrives with role ``g + ".b"``."""


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")


def _window(name: str, window: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in window)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
        raise ValueError(f"{name} must be (low_s, high_s) with 0 <= low_s <= high_s, got {window!r}")
    return (lo, hi)


def _common(cfg: "SledStationConfig | LaneStationConfig", modes: frozenset[StartMode], kind: str) -> None:
    """Validate and normalise the options both station kinds share."""
    if not isinstance(cfg.station_id, str) or not cfg.station_id:
        raise ValueError("station_id must be a non-empty string")
    object.__setattr__(cfg, "start_mode", StartMode(cfg.start_mode))
    object.__setattr__(cfg, "false_start_policy", FalseStartPolicy(cfg.false_start_policy))
    if cfg.start_mode not in modes:
        allowed = ", ".join(sorted(m.value for m in modes))
        raise ValueError(f"{kind} station {cfg.station_id!r}: start_mode {cfg.start_mode.value} "
                         f"is not available (use one of {allowed})")
    _positive("time_cap_s", cfg.time_cap_s)
    _non_negative("countdown_s", cfg.countdown_s)
    _non_negative("min_reaction_s", cfg.min_reaction_s)
    object.__setattr__(cfg, "reaction_window_s", _window("reaction_window_s", cfg.reaction_window_s))


@dataclass(frozen=True)
class SledStationConfig:
    """A reverse sled pull station: a load cell (role ``force``) and a wheel encoder (role ``wheel``).

    Positive encoder positions point toward the athlete, the right direction for a reverse pull.
    """

    station_id: str
    distance_m: float                    # target distance from the rest position (m), e.g. 10, 15, 20
    start_mode: StartMode = StartMode.GO_COUNTDOWN
    time_cap_s: float = 60.0             # DNF when not finished this long after GO (s)
    false_start_policy: FalseStartPolicy = FalseStartPolicy.VOID_REARM
    force_threshold_n: float = 150.0     # force above this before GO is a false start (N)
    motion_threshold_m: float = 0.02     # encoder travel beyond this before GO is a false start (m)
    sled_mass_kg: float | None = None    # sled plus plates (kg); reported with the result
    countdown_s: float = 3.0             # GO signal this long after the go command (s), plus go_delay
    reaction_window_s: tuple[float, float] = (1.0, 3.0)  # REACTION_RANDOM: allowed go_delay range (s)
    min_reaction_s: float = 0.100        # REACTION_RANDOM: a faster reaction is a false start (s)
    split_distances_m: tuple[float, ...] = ()  # intermediate distances timed as splits (m)
    velocity_window_s: float = 0.05      # velocity = Δposition/Δtime over at least this span (s)
    wrong_way_limit_m: float = 1.0       # sled moved this far away from the athlete → DQ (m)
    rest_position_m: float = 0.0         # position assumed before the first encoder sample (m)
    curve_points: int = 100              # at most this many points in the result's curves

    def __post_init__(self) -> None:
        _common(self, SLED_MODES, "sled")
        _positive("distance_m", self.distance_m)
        _positive("force_threshold_n", self.force_threshold_n)
        _positive("motion_threshold_m", self.motion_threshold_m)
        _positive("velocity_window_s", self.velocity_window_s)
        _positive("wrong_way_limit_m", self.wrong_way_limit_m)
        if self.sled_mass_kg is not None:
            _positive("sled_mass_kg", self.sled_mass_kg)
        if not math.isfinite(self.rest_position_m):
            raise ValueError("rest_position_m must be finite")
        splits = tuple(float(d) for d in self.split_distances_m)
        if any(not 0 < d < self.distance_m for d in splits) or list(splits) != sorted(set(splits)):
            raise ValueError("split_distances_m must be increasing and strictly between 0 and distance_m")
        object.__setattr__(self, "split_distances_m", splits)
        if not isinstance(self.curve_points, int) or self.curve_points < 2:
            raise ValueError("curve_points must be an integer >= 2")


@dataclass(frozen=True)
class LaneStationConfig:
    """A backward-shuffle lane timed by beam gates (roles ``start``, ``finish``, ``split1..n``, ``turn``).

    The route is the ordered list of gate passages after the start; see :func:`lane_route`.
    """

    station_id: str
    start_mode: StartMode = StartMode.GO_COUNTDOWN
    split_roles: tuple[str, ...] = ()    # split gates passed in this order between start and finish
    shuttle_legs: int = 1                # legs between the start line and the turn line (1 = straight)
    time_cap_s: float = 60.0             # DNF this long after GO / after the start (s)
    holdoff_s: float = 0.5               # per-gate: breaks this soon after a counted break are ignored (s)
    false_start_policy: FalseStartPolicy = FalseStartPolicy.VOID_REARM
    hold_s: float = 3.0                  # HOLD_IN_BEAM: minimum time standing in the start beam (s)
    countdown_s: float = 3.0             # GO signal this long after the go command (s), plus go_delay
    reaction_window_s: tuple[float, float] = (1.0, 3.0)  # REACTION_RANDOM: allowed go_delay range (s)
    min_reaction_s: float = 0.100        # REACTION_RANDOM: a faster reaction is a false start (s)
    dual_beam_roles: frozenset[str] = frozenset()  # gates paired in the engine: `g` AND `g.b` broken
    start_gate: bool = True              # a start gate exists (required by HOLD_IN_BEAM, FLY_THROUGH)
    route: tuple[str, ...] = ()          # explicit passages after the start (overrides the default)
    reverse_check: bool = True           # DQ a run that passes the first leg's gates backwards

    def __post_init__(self) -> None:
        _common(self, LANE_MODES, "lane")
        _non_negative("holdoff_s", self.holdoff_s)
        _positive("hold_s", self.hold_s)
        object.__setattr__(self, "split_roles", tuple(self.split_roles))
        object.__setattr__(self, "route", tuple(self.route))
        object.__setattr__(self, "dual_beam_roles", frozenset(self.dual_beam_roles))
        if not isinstance(self.shuttle_legs, int) or self.shuttle_legs < 1:
            raise ValueError("shuttle_legs must be an integer >= 1")
        for role in (*self.split_roles, *self.route, *self.dual_beam_roles):
            if not ROLE_RE.match(role):
                raise ValueError(f"unknown gate role {role!r} (use start, finish, turn, split1..n)")
        if any(not SPLIT_RE.match(r) for r in self.split_roles):
            raise ValueError("split_roles may only name split gates (split1..n)")
        if self.split_roles and self.shuttle_legs > 1 and not self.route:
            raise ValueError("split gates on a shuttle need an explicit route")
        if not self.start_gate and self.start_mode not in GO_MODES:
            raise ValueError(f"{self.start_mode.value} needs a start gate")
        if "start" in self.route[:1]:
            raise ValueError("route lists the passages after the start; do not begin it with 'start'")


def lane_route(cfg: LaneStationConfig) -> tuple[str, ...]:
    """The full ordered list of gate passages of a run, the start passage first (if a start gate exists).

    Default: straight lane ``start, split1..n, finish``; a shuttle of N legs alternates ``turn`` (far
    line) and ``start`` (near line) at the end of legs 1..N-1 and ends at ``finish``.
    """
    if cfg.route:
        after = cfg.route
    elif cfg.shuttle_legs == 1:
        after = (*cfg.split_roles, "finish")
    else:
        after = (*("turn" if leg % 2 else "start" for leg in range(1, cfg.shuttle_legs)), "finish")
    return (("start",) if cfg.start_gate else ()) + tuple(after)


def first_leg(route: tuple[str, ...]) -> tuple[str, ...]:
    """The route up to and including its first non-split passage after the start."""
    for i, role in enumerate(route[1:], start=1):
        if not SPLIT_RE.match(role):
            return route[: i + 1]
    return route


class UniformSource(Protocol):
    """Anything with ``uniform(a, b)``, e.g. an injected ``random.Random``."""

    def uniform(self, a: float, b: float) -> float: ...


def draw_go_delay_us(cfg: SledStationConfig | LaneStationConfig, rng: UniformSource) -> int:
    """Draw a GO delay (µs) for a REACTION_RANDOM station from its window with the caller's ``rng``.

    Returns 0 for other modes. The engine itself never draws random numbers.
    """
    if cfg.start_mode is not StartMode.REACTION_RANDOM:
        return 0
    lo_s, hi_s = cfg.reaction_window_s
    return int(round(rng.uniform(lo_s, hi_s) * 1_000_000))


StationConfig = SledStationConfig | LaneStationConfig

__all__ = ["SledStationConfig", "LaneStationConfig", "StationConfig", "lane_route", "first_leg",
           "draw_go_delay_us", "DUAL_B_SUFFIX"]
