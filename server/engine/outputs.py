"""The engine's input event and its outputs: plain dataclasses, JSON-serialisable via ``to_dict()``.

Times are hub-clock integer microseconds (``*_t_us``) or seconds (``*_s``), rounded to the
millisecond where they are shown to people.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from server.engine.enums import AttemptState, FalseStartPolicy, FalseStartReason, HeatState, ResultStatus


def _plain(value: Any) -> Any:
    """``value`` with enums as their values and dataclasses as dicts, recursively."""
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _ToDict:
    """Mixin: ``to_dict()`` returns a JSON-ready dict of the dataclass fields plus ``type``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in fields(self):  # type: ignore[arg-type]
            out[f.name] = _plain(getattr(self, f.name))
        return out


@dataclass(frozen=True, slots=True)
class EngineEvent(_ToDict):
    """One timestamped sensor event on the hub clock.

    ``station_id``/``role`` come from the hub's bindings. Kinds: ``force`` (``value`` N) on role
    ``force``; ``position`` (``value`` m, positive toward the athlete) on role ``wheel``; ``break`` /
    ``restore`` on gate roles (``start``, ``finish``, ``turn``, ``split1..n``, and ``<gate>.b`` for the
    second beam of an engine-paired dual-beam gate). ``t_us`` is hub-clock µs (node edge time plus the
    measured clock offset); ``raw`` is the sensor's raw reading (counts), informational.
    """

    station_id: str
    role: str
    kind: str
    t_us: int
    value: float | None = None
    raw: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult(_ToDict):
    """The result of one attempt.

    ``time_s`` is start→finish in seconds rounded to the millisecond (None when there is no finish
    time). ``splits_s`` are cumulative times from the start (None for a missed split gate).
    ``metrics`` (sleds): peak_force_n, mean_force_n, mean_velocity_m_s, peak_velocity_m_s,
    peak_power_w, work_j, time_to_peak_force_s, distance_m, sled_mass_kg; (lanes): distance_m (None),
    rebreaks_ignored, route. ``curve`` (sleds): ``t_s``, ``force_n``, ``velocity_m_s`` lists of at most
    ``curve_points`` points. ``false_start`` is the false-start reason (also under WARN_KEEP).
    ``reason_text``: why it is not OK, in words (:mod:`server.engine.reason_text`; None when OK).
    """

    station_id: str
    attempt_id: str
    status: ResultStatus
    reason: str
    start_t_us: int | None
    finish_t_us: int | None
    time_s: float | None
    reaction_s: float | None
    splits_s: list[float | None] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: dict[str, list[float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    heat_id: str | None = None
    false_start: str | None = None
    reason_text: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptStateChanged(_ToDict):
    """An attempt entered ``state`` at hub time ``t_us`` (``rearmed_from``: voided attempt id)."""

    station_id: str
    attempt_id: str
    state: AttemptState
    t_us: int
    reason: str
    heat_id: str | None = None
    rearmed_from: str | None = None


@dataclass(frozen=True, slots=True)
class Progress(_ToDict):
    """Live values of a running attempt, at most one per station per ``advance`` call.

    ``t_us`` is the watermark the values are valid at; sensor values are None where not measured.
    """

    station_id: str
    attempt_id: str
    t_us: int
    elapsed_s: float
    distance_m: float | None
    force_n: float | None
    velocity_m_s: float | None
    power_w: float | None
    splits: list[float | None]


@dataclass(frozen=True, slots=True)
class ProvisionalFinish(_ToDict):
    """A finish seen the moment its event arrives, before the lateness bound confirms it.

    Returned by :meth:`TimingEngine.peek_finish`, never by ``advance``: screens show it at once; the
    :class:`AttemptFinished` that follows (≈ ``lateness_us`` later) is the result of record and may differ
    (e.g. a late event changed the outcome). ``time_s`` is from the attempt's start to the event
    (sleds: the first encoder sample at or beyond the distance, not yet interpolated).
    """

    station_id: str
    attempt_id: str
    t_us: int
    time_s: float


@dataclass(frozen=True, slots=True)
class AttemptFinished(_ToDict):
    """An attempt has its result."""

    result: AttemptResult


@dataclass(frozen=True, slots=True)
class FalseStartDetected(_ToDict):
    """A false start at ``t_us``; ``voided`` is True under VOID_REARM (the attempt ended)."""

    station_id: str
    attempt_id: str
    t_us: int
    reason: FalseStartReason
    policy: FalseStartPolicy
    voided: bool
    detail: str


@dataclass(frozen=True, slots=True)
class LateEvent(_ToDict):
    """An event that arrived after the watermark had passed its time. ``used``: nothing had happened
    at its station since its time (no event, command or timer), so it was applied at once, exactly as
    if it had come in time (its attempt gets a ``late_event`` warning); otherwise it was not used."""

    event: EngineEvent
    watermark_us: int
    used: bool = False


@dataclass(frozen=True, slots=True)
class CommandRejected(_ToDict):
    """A command whose guard failed when the timeline reached it (e.g. GO for a station not armed);
    ``attempt_id``: the attempt a refused ``arm`` would have started."""

    command: str
    station_id: str
    t_us: int
    reason: str
    attempt_id: str | None = None


@dataclass(frozen=True, slots=True)
class HeatStateChanged(_ToDict):
    """The derived state of a heat changed."""

    heat_id: str
    state: HeatState
    t_us: int


Output = (AttemptStateChanged | Progress | AttemptFinished | FalseStartDetected | LateEvent | ProvisionalFinish
          | CommandRejected | HeatStateChanged)
