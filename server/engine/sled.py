"""Reverse sled pull station: load cell (role ``force``) + wheel encoder (role ``wheel``).

Rules, in hub-clock time (details in ``docs/timing.md``):

* Samples are recorded from the go command (seeded with the last sample before it) to the end.
* False start (COUNTDOWN, i.e. between the go command and the GO signal): force above
  ``force_threshold_n`` or encoder travel beyond ``motion_threshold_m`` from the position at the
  go command.
* Reaction (GO_COUNTDOWN, REACTION_RANDOM): the first force sample above the threshold (crossing
  interpolated between samples) or the first encoder sample beyond the motion threshold after GO;
  in REACTION_RANDOM a reaction under ``min_reaction_s`` is a false start.
* FIRST_MOVEMENT: after GO the clock starts at the first forward encoder edge of a movement that
  then reaches ``motion_threshold_m`` without falling back to the rest position. A sled already
  moving at GO (a motion false start kept under WARN_KEEP) is timed from GO.
* Distance counts from the rest position: the last encoder sample before the go command (GO modes)
  or before the GO signal (FIRST_MOVEMENT). The finish is
  the instant the position reaches ``rest + distance_m``, interpolated linearly between the two
  encoder samples that straddle it; splits likewise.
* Direction: the sled moving ``wrong_way_limit_m`` away from the athlete is a DQ (wrong direction);
  smaller backward travel beyond the motion threshold is a warning and does not count as distance.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Callable

from server.engine.config import SledStationConfig
from server.engine.enums import AttemptState, FalseStartReason, StartMode
from server.engine.machine import Attempt
from server.engine.outputs import EngineEvent, Progress
from server.engine.sled_metrics import Run, sled_metrics
from server.engine.station import Sink, StationRuntime, us_to_s
from server.engine.timeline import NO_VALUE, Entry, Handler

S = AttemptState
Rule = Callable[[int, float], None]


def _no_rule(t_us: int, value: float) -> None:
    """Sample rule while nothing is being judged."""


MARK_TOLERANCE_M = 1e-9
"""A mark (split, finish) counts as reached when the distance is within this (m) of it: positions are
``counts / counts_per_m``, so a sled stopping on the line can compute ``x - rest`` a few 1e-15 m short of
``distance_m`` (16.0175 - 1.0175 = 14.999999999999998). 1 nm is far below one encoder count."""

REST_JUMP_M = 1.0
"""With no wheel sample before the go command, a first sample this far (m) from ``rest_position_m``
means the rest position was unknown (the count runs from the node's boot), not that the sled moved."""


class SledStation(StationRuntime):
    """See the module docstring."""

    cfg: SledStationConfig

    def __init__(self, cfg: SledStationConfig, sink: Sink):
        super().__init__(cfg, sink)
        self._thr_n = cfg.force_threshold_n
        self._thr_m = cfg.motion_threshold_m
        self._wrong_m = cfg.wrong_way_limit_m
        self._window_us = round(cfg.velocity_window_s * 1_000_000)
        self._min_reaction_us = (round(cfg.min_reaction_s * 1_000_000)
                                 if cfg.start_mode is StartMode.REACTION_RANDOM else None)
        self.last_pos: tuple[int, float] | None = None
        self.last_force: tuple[int, float] | None = None
        self._reset_run()

    def _reset_run(self) -> None:
        self.recording = False
        self.pos_t: list[int] = []
        self.pos_x: list[float] = []
        self.f_t: list[int] = []
        self.f_n: list[float] = []
        self._pos_rule: Rule = _no_rule
        self._force_rule: Rule = _no_rule
        self.p_ref = 0.0           # position at the go command (false-start reference)
        self.p0 = 0.0              # rest position the distance counts from
        self._marks: list[tuple[float, int]] = []  # (distance, split index or -1 for the finish), ahead
        self._next_mark_m = float("inf")
        self._splits: list[int | None] = [None] * len(self.cfg.split_distances_m)
        self._reaction_pending = False
        self._candidate_us: int | None = None
        self._backward_warned = False
        self._finish_m: float | None = None
        self._rest_check = False  # the first wheel sample after the go command checks the rest position

    def handler_for(self, role: str) -> Handler | None:
        if role == "wheel":
            return self.on_position
        if role == "force":
            return self.on_force
        return None

    # -- sample handlers (hot path) ----------------------------------------------------------------
    def on_position(self, entry: Entry) -> None:
        t, _, _, _, kind, x, _ = entry
        if kind != "position" or x == NO_VALUE:
            self.ignored_events += 1
            return
        if self.recording:
            if self._rest_check:
                self._check_rest(x)
            self.pos_t.append(t)
            self.pos_x.append(x)
            self._pos_rule(t, x)
        self.last_pos = (t, x)

    def _check_rest(self, x: float) -> None:
        """No wheel sample came before the go command (the hub has just started: the count runs from the
        node's boot, so ``rest_position_m`` may mean nothing). A first sample more than ``REST_JUMP_M``
        from it is taken as the rest position instead (at most one count off), so the first pull after a
        restart cannot 'finish' at once. Reconfiguring a station keeps its last samples (``carry_over``)."""
        self._rest_check = False
        if abs(x - self.p_ref) <= REST_JUMP_M:
            return
        if self.p0 == self.p_ref:
            self.p0 = x
        self.p_ref = x
        self.pos_x[0] = x

    def on_force(self, entry: Entry) -> None:
        t, _, _, _, kind, f, _ = entry
        if kind != "force" or f == NO_VALUE:
            self.ignored_events += 1
            return
        if self.recording:
            self.f_t.append(t)
            self.f_n.append(f)
            self._force_rule(t, f)
        self.last_force = (t, f)

    def skim(self, role: str, entries: list[Entry]) -> bool:
        """Not recording, ``on_position``/``on_force`` only keep the last sample and count the ignored
        ones: the same, without a call per sample (idle sleds are most of a gym's telemetry)."""
        if self.recording:
            return False
        kind = "position" if role == "wheel" else "force" if role == "force" else None
        if kind is None:
            return False
        last = None
        for entry in reversed(entries):
            if entry[4] == kind and entry[5] != NO_VALUE:
                last = entry
                break
        self.ignored_events += sum(1 for e in entries if e[4] != kind or e[5] == NO_VALUE)  # as the handlers count
        if last is not None:
            if kind == "position":
                self.last_pos = (last[0], last[5])
            else:
                self.last_force = (last[0], last[5])
        return True

    # -- lifecycle hooks ---------------------------------------------------------------------------
    def on_armed(self, a: Attempt, t_us: int) -> None:
        self._reset_run()

    def on_go_command(self, a: Attempt, t_us: int) -> None:
        self.recording = True
        t_rest, x_rest = self.last_pos if self.last_pos is not None else (t_us, self.cfg.rest_position_m)
        self._rest_check = self.last_pos is None
        self.pos_t.append(t_rest)
        self.pos_x.append(x_rest)
        if self.last_force is not None:
            self.f_t.append(self.last_force[0])
            self.f_n.append(self.last_force[1])
        self.p_ref = x_rest
        self._pos_rule = self._countdown_position
        self._force_rule = self._countdown_force

    def on_go_signal(self, a: Attempt, t_us: int) -> None:
        # GO modes count from the rest position at the go command; FIRST_MOVEMENT from where it is at GO
        self.p0 = self.pos_x[-1] if a.state is S.READY else self.p_ref
        self._marks = [(d, i) for i, d in enumerate(self.cfg.split_distances_m)]
        self._marks.append((self.cfg.distance_m, -1))
        self._next_mark_m = self._marks[0][0]
        if a.state is S.READY and a.false_start is FalseStartReason.MOTION:
            self.p0 = self.p_ref           # already moving (kept false start): timed from GO and rest
            self.start(a, t_us)
            self._pos_rule = self._running_position
            self._force_rule = _no_rule
        elif a.state is S.READY:
            self._pos_rule = self._ready_position
            self._force_rule = _no_rule
        else:
            self._reaction_pending = True
            self._pos_rule = self._running_position
            self._force_rule = self._running_force

    def on_ended(self, a: Attempt) -> None:
        self._reset_run()

    # -- rules --------------------------------------------------------------------------------------
    def _countdown_position(self, t: int, x: float) -> None:
        if abs(x - self.p_ref) > self._thr_m:
            a = self.attempt
            assert a is not None
            if not self.false_start(a, t, FalseStartReason.MOTION, f"sled moved {x - self.p_ref:+.3f} m before GO"):
                self._pos_rule = _no_rule  # flagged (WARN_KEEP): judged once

    def _countdown_force(self, t: int, f: float) -> None:
        if f > self._thr_n:
            a = self.attempt
            assert a is not None
            if not self.false_start(a, t, FalseStartReason.FORCE, f"force {f:.0f} N > {self._thr_n:.0f} N before GO"):
                self._force_rule = _no_rule

    def _running_force(self, t: int, f: float) -> None:
        if self._reaction_pending and f > self._thr_n:
            t_cross = t
            f0 = self.f_n[-2] if len(self.f_n) >= 2 else f
            if f0 <= self._thr_n:
                t0 = self.f_t[-2]
                t_cross = t0 + round((self._thr_n - f0) / (f - f0) * (t - t0))
            a = self.attempt
            assert a is not None and a.go_t_us is not None
            self._reaction(max(a.go_t_us, t_cross))

    def _reaction(self, t: int) -> None:
        self._reaction_pending = False
        self._force_rule = _no_rule
        a = self.attempt
        assert a is not None
        self.record_reaction(a, t, self._min_reaction_us)

    def _running_position(self, t: int, x: float) -> None:
        if self._reaction_pending and abs(x - self.p_ref) > self._thr_m:
            self._reaction(t)
            if self.attempt is None or self.attempt.state is not S.RUNNING:
                return
        d = x - self.p0
        if d >= self._next_mark_m - MARK_TOLERANCE_M:
            self._cross(t, x)
        elif d < -self._thr_m:
            self._backward(t, d)

    def last_inputs(self) -> list[tuple[str, str, int, float]]:
        out = []
        if self.last_pos is not None:
            out.append(("wheel", "position", *self.last_pos))
        if self.last_force is not None:
            out.append(("force", "force", *self.last_force))
        return out

    def carry_over(self, old: StationRuntime) -> None:
        if isinstance(old, SledStation):
            self.last_pos, self.last_force = old.last_pos, old.last_force

    def roles_independent(self) -> bool:
        # not recording (idle, armed): each role only keeps its last value; running with the reaction
        # known: force only feeds the curve, the wheel the distance. Between the go command and the
        # reaction, force and motion race for the false start and the reaction: one order.
        a = self.attempt
        if a is None or not a.is_active or not self.recording:
            return True
        return a.state is S.RUNNING and not self._reaction_pending

    def insert_late(self, role: str, entry: Entry) -> bool:
        """A late force sample while running with the reaction known (force then decides nothing: it
        feeds the curve, peak/mean force and power) goes into the recorded samples in time order. The
        wheel keeps its order (it decides marks and the finish), and so does force while it can still
        decide a false start or the reaction."""
        t, _, _, _, kind, f, _ = entry
        a = self.attempt
        if role != "force" or kind != "force" or f == NO_VALUE or not self.recording or a is None \
                or a.state is not S.RUNNING or self._reaction_pending or not self.f_t or t < self.f_t[0]:
            return False
        i = bisect_right(self.f_t, t)
        self.f_t.insert(i, t)
        self.f_n.insert(i, f)
        return True

    def peek_finish_samples(self, role: str, kind: str, samples: Any, offset_us: int) -> int | None:
        """``peek_finish`` over a batch without an event per sample: only a wheel's positions can finish."""
        a = self.attempt
        if role != "wheel" or kind != "position" or a is None or a.state is not S.RUNNING or a.start_t_us is None:
            return None
        start, p0, need = a.start_t_us, self.p0, self.cfg.distance_m - MARK_TOLERANCE_M
        for t, v, _ in samples:
            if v is not None and not v - p0 < need and t + offset_us > start:
                return int(t + offset_us)
        return None

    def peek_finish(self, ev: EngineEvent) -> int | None:
        start = self._running_since(ev)
        if start is None or ev.role != "wheel" or ev.kind != "position" or ev.value is None:
            return None
        if ev.value - self.p0 < self.cfg.distance_m - MARK_TOLERANCE_M:
            return None
        return ev.t_us - start

    def _backward(self, t: int, d: float) -> None:
        a = self.attempt
        assert a is not None
        if d <= -self._wrong_m:
            self.disqualify(a, t, f"wrong_direction: sled moved {-d:.2f} m away from the athlete")
        elif not self._backward_warned:
            self._backward_warned = True
            a.warnings.append(f"backward_motion: sled moved {-d:.3f} m away from the athlete")

    def _cross(self, t: int, x: float) -> None:
        """Record every mark (splits, finish) the interval ending at ``(t, x)`` crossed."""
        a = self.attempt
        assert a is not None
        t0, x0 = self.pos_t[-2], self.pos_x[-2]
        while self._marks and x - self.p0 >= self._marks[0][0] - MARK_TOLERANCE_M:
            dist, idx = self._marks.pop(0)
            target = self.p0 + dist
            t_c = t0 + round(min(1.0, (target - x0) / (x - x0)) * (t - t0)) if x != x0 else t
            if idx >= 0:
                self._splits[idx] = t_c
                self._next_mark_m = self._marks[0][0]
            else:
                self._finish_m = target
                self.finish(a, t_c)
                return

    def _ready_position(self, t: int, x: float) -> None:
        d = x - self.p0
        if self._candidate_us is None:
            if d > 0:
                self._candidate_us = t
            elif d <= -self._wrong_m:
                self._backward(t, d)
            return
        if d <= 0:
            self._candidate_us = None
        elif d >= self._thr_m:
            a = self.attempt
            assert a is not None
            self.start(a, self._candidate_us)
            self._pos_rule = self._running_position
            self._running_position(t, x)

    def on_hold_elapsed(self, a: Attempt, t_us: int, token: int) -> None:
        """Sleds have no hold start."""

    # -- results and progress -------------------------------------------------------------------------
    def measurements(self, a: Attempt, t_end_us: int) -> tuple[list[float | None], dict[str, Any],
                                                               dict[str, list[float]]]:
        start = a.start_t_us
        splits = [us_to_s(s - start) if s is not None and start is not None else None for s in self._splits]
        if start is None or not self.pos_t:
            return splits, {"distance_m": None, "sled_mass_kg": self.cfg.sled_mass_kg}, {}
        finished = a.state is S.FINISHED
        run = Run(self.pos_t, self.pos_x, self.f_t, self.f_n, start, t_end_us, self.p0,
                  self._finish_m if finished else None)
        metrics, curve = sled_metrics(run, self._window_us, self.cfg.curve_points, self.cfg.sled_mass_kg)
        return splits, metrics, curve

    def progress(self, a: Attempt, watermark_us: int) -> Progress | None:
        if a.state is not S.RUNNING or a.start_t_us is None or not self.pos_t:
            return None
        t_last, x_last = self.pos_t[-1], self.pos_x[-1]
        velocity = 0.0
        if watermark_us - t_last <= 2 * self._window_us:
            j = max(0, bisect_left(self.pos_t, t_last - self._window_us) - 1)
            if t_last > self.pos_t[j]:
                velocity = (x_last - self.pos_x[j]) / (t_last - self.pos_t[j]) * 1e6
        force = self.f_n[-1] if self.f_n else None
        splits = [us_to_s(s - a.start_t_us) if s is not None else None for s in self._splits]
        return Progress(self.station_id, a.attempt_id, watermark_us,
                        round(max(0, watermark_us - a.start_t_us) / 1e6, 3), round(x_last - self.p0, 3),
                        None if force is None else round(force, 1), round(velocity, 3),
                        None if force is None else round(force * velocity, 1), splits)
