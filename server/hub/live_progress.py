"""Live progress from the newest data: what a running station's tile shows *now*, not at the watermark.

The engine reports :class:`~server.engine.Progress` at its watermark, the lateness bound (300 ms) behind
the hub clock, so that results are right whatever order the events come in. A wall tile does not need
to wait for that: :class:`LiveProgress` keeps, per running attempt, the newest sensor samples the moment
they arrive (hub-clock µs: the node's time plus its measured clock offset) and makes the frame from
them:

- ``distance_m``: the newest wheel sample (by its time, not by arrival) minus the rest position;
- ``velocity_m_s``: Δposition/Δtime over the station's ``velocity_window_s``, ending at the newest wheel
  sample, as the engine computes it (0 when no wheel sample came for two windows: an encoder sends
  only when it turns);
- ``force_n``: the newest force sample; ``power_w`` = force × velocity;
- ``elapsed_s``: the running clock, hub time now minus the attempt's start (never past the time cap,
  counted from the start).

The engine still decides everything else. Samples are kept from the engine's ``ARMED`` on, but a
station gets live frames only between the engine's ``RUNNING`` state change and the attempt's end (a
terminal state change, or a provisional finish: the ``finish`` event and then the result take over).
The start time is the one the engine reported with ``RUNNING``; the rest position is taken from the
engine's own progress (its distance at the watermark against the wheel sample it was measured from;
until that sample is known, the frame shows the engine's distance); ``splits`` are the engine's.

Out-of-order and repeated samples: samples are kept sorted by time (the newest ``retain_us``), a sample
at a time already held is a duplicate and dropped, an older one only refines the velocity. A value can
still be revised (a reordered sample changes the velocity, the rest position is corrected by the
engine); the wall smooths such corrections (``web/static/live.js``, ``LiveSmoother``).

Pure: no clock (every time is passed in), no I/O; the hub calls it on its pipeline thread.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Iterable

from server.engine import AttemptState, AttemptStateChanged, Progress
from server.engine.enums import ACTIVE_STATES

REST_TOLERANCE_M = 0.002
"""The rest position is re-derived from every engine progress; a change of less than this (the 1 mm
rounding of the engine's distance) is taken as rounding and ignored, so the distance does not jitter."""

FINISHED_KEPT = 256
"""How many ended attempt ids are remembered, so a late engine progress of one never revives it."""


@dataclass(slots=True)
class _Run:
    """One running attempt's live state (times hub-clock µs, positions m, force N)."""

    attempt_id: str
    window_us: int
    cap_us: int | None
    start_us: int | None = None   # None until the engine says RUNNING: samples kept, no frames yet
    wheel_t: list[int] = field(default_factory=list)
    wheel_x: list[float] = field(default_factory=list)
    force: tuple[int, float] | None = None
    rest_m: float | None = None
    engine_distance_m: float | None = None
    splits: list[float | None] = field(default_factory=list)
    watermark_us: int | None = None


class LiveProgress:
    """See the module docstring. ``retain_us``: how far behind the newest wheel sample samples are kept
    (at least the lateness bound plus two velocity windows, so the engine's watermark sample is held)."""

    def __init__(self, retain_us: int = 1_000_000):
        self.retain_us = retain_us
        self._runs: dict[str, _Run] = {}
        self._ended: dict[str, None] = {}

    # what the engine says (watermark) ----------------------------------------------------------------
    def state(self, change: AttemptStateChanged, velocity_window_s: float, time_cap_s: float | None) -> None:
        """An engine state change. An active state (armed … running) starts keeping the station's samples;
        ``RUNNING`` starts its frames (its ``t_us`` is the start); a terminal state ends it."""
        sid = change.station_id
        if change.state not in ACTIVE_STATES:
            self.end(sid, change.attempt_id)
            return
        if change.attempt_id in self._ended:
            return
        run = self._runs.get(sid)
        if run is None or run.attempt_id != change.attempt_id:
            run = self._runs[sid] = _Run(change.attempt_id, round(velocity_window_s * 1_000_000),
                                         None if time_cap_s is None else round(time_cap_s * 1_000_000))
        if change.state is AttemptState.RUNNING and run.start_us is None:
            run.start_us = change.t_us

    def watermark(self, p: Progress) -> None:
        """The engine's progress at its watermark: splits, and the rest position the distance counts from."""
        run = self._runs.get(p.station_id)
        if run is None or run.attempt_id != p.attempt_id:
            return
        run.splits = p.splits  # the engine's own list, made for this progress (copied into each frame)
        run.watermark_us = p.t_us
        run.engine_distance_m = p.distance_m
        if p.distance_m is None or not run.wheel_t:
            return
        i = bisect_left(run.wheel_t, p.t_us + 1) - 1  # the newest sample the engine had processed
        if i < 0:
            return
        rest = run.wheel_x[i] - p.distance_m
        if run.rest_m is None or abs(rest - run.rest_m) > REST_TOLERANCE_M:
            run.rest_m = rest

    def end(self, station_id: str, attempt_id: str | None = None) -> None:
        """The attempt ended, or its finish was seen (``attempt_id`` None: whatever runs there)."""
        run = self._runs.get(station_id)
        if run is not None and attempt_id in (None, run.attempt_id):
            del self._runs[station_id]
            attempt_id = run.attempt_id
        if attempt_id is not None:
            self._ended[attempt_id] = None
            while len(self._ended) > FINISHED_KEPT:
                self._ended.pop(next(iter(self._ended)))

    # what the sensors say (now) ----------------------------------------------------------------------
    def samples(self, station_id: str, role: str, kind: str, samples: Iterable[Any], offset_us: int) -> None:
        """A telemetry batch as the router placed it: ``[(t_us node clock, value, raw), ...]``, hub time
        ``t_us + offset_us``. Only an active (armed … running) attempt's ``wheel`` positions and ``force``
        samples count."""
        run = self._runs.get(station_id)
        if run is None:
            return
        if role == "wheel" and kind == "position":
            self._wheel(run, samples, offset_us)
        elif role == "force" and kind == "force":
            newest = run.force
            for s in samples:
                t, f = s[0] + offset_us, s[1]
                if isinstance(f, (int, float)) and (newest is None or t > newest[0]):
                    newest = (t, float(f))
            run.force = newest

    def _wheel(self, run: _Run, samples: Iterable[Any], offset_us: int) -> None:
        ts, xs = run.wheel_t, run.wheel_x
        for s in samples:
            t, x = s[0] + offset_us, s[1]
            if not isinstance(x, (int, float)):
                continue
            if not ts or t > ts[-1]:        # the common case: in order
                ts.append(t)
                xs.append(float(x))
                continue
            i = bisect_left(ts, t)
            if ts[i] == t:                  # a repeat of a sample held
                continue
            if t >= ts[-1] - self.retain_us:
                ts.insert(i, t)
                xs.insert(i, float(x))
        cut = bisect_left(ts, ts[-1] - self.retain_us) if ts else 0
        if cut:
            del ts[:cut], xs[:cut]

    # frames ---------------------------------------------------------------------------------------------
    def frames(self, now_us: int) -> dict[str, dict[str, Any]]:
        """The frame of every running station (hub time ``now_us``): its running clock moves, so every
        call (every frame slot) has something new to show, whether or not a sample came since the last."""
        return {sid: self._frame(sid, run, run.start_us, now_us)
                for sid, run in self._runs.items() if run.start_us is not None}

    @staticmethod
    def _frame(station_id: str, run: _Run, start_us: int, now_us: int) -> dict[str, Any]:
        """One station's frame: the keys of the engine's ``Progress`` plus ``provisional`` (True),
        ``watermark_us`` (the engine's progress it builds on) and ``now_us``. ``t_us`` is the hub time of
        the newest sample shown (``now_us`` when no sample is shown, e.g. a lane: its clock)."""
        elapsed_us = max(0, now_us - start_us)
        if run.cap_us is not None:
            elapsed_us = min(elapsed_us, run.cap_us)
        distance, velocity = run.engine_distance_m, None
        t_us = now_us
        if run.wheel_t:
            ts, xs = run.wheel_t, run.wheel_x
            t_last, x_last = ts[-1], xs[-1]
            t_us = t_last
            if run.rest_m is not None:
                distance = round(x_last - run.rest_m, 3)
            velocity = 0.0
            if now_us - t_last <= 2 * run.window_us:
                j = max(0, bisect_left(ts, t_last - run.window_us) - 1)
                if t_last > ts[j]:
                    velocity = round((x_last - xs[j]) / (t_last - ts[j]) * 1e6, 3)
        force = None
        if run.force is not None:
            force = round(run.force[1], 1)
            t_us = max(t_us, run.force[0]) if run.wheel_t else run.force[0]
        power = None if force is None or velocity is None else round(force * velocity, 1)
        return {"type": "Progress", "station_id": station_id, "attempt_id": run.attempt_id, "t_us": t_us,
                "elapsed_s": round(elapsed_us / 1e6, 3), "distance_m": distance, "force_n": force,
                "velocity_m_s": velocity, "power_w": power, "splits": list(run.splits), "provisional": True,
                "watermark_us": run.watermark_us, "now_us": now_us}

    def running_attempt(self, station_id: str) -> str | None:
        """The attempt whose frames the station gets now (None: no frames)."""
        run = self._runs.get(station_id)
        return run.attempt_id if run is not None and run.start_us is not None else None
