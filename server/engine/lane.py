"""Backward-shuffle lane station: beam gates ``start``, ``finish``, ``split1..n``, ``turn``.

Rules, in hub-clock time (details in ``docs/timing.md``):

* GO_COUNTDOWN / REACTION_RANDOM: time starts at the GO signal. Any start-gate edge between the go
  command and the GO signal is a false start (kept under WARN_KEEP, that edge is the start passage and
  the reaction is negative). Otherwise the first start-gate edge after GO (leaving the beam or
  breaking it) is the start passage and gives the reaction time; in REACTION_RANDOM a reaction under
  ``min_reaction_s`` is a false start.
* HOLD_IN_BEAM: the athlete breaks the start beam and keeps it broken for ``hold_s``; leaving earlier
  re-arms the hold. Once held, time starts at the restore (leaving the beam).
* FLY_THROUGH: time starts at the start-gate break.
* After the start the gates must be passed in route order. A split gate may be missed (recorded as
  None, with a warning); any other out-of-order break does not count (warning). The run finishes
  on the last passage of the route.
* Wrong direction: if the gates of the first leg are broken in reverse order, ending with a break of
  the start gate (FLY_THROUGH after arming; GO modes after GO), the attempt is DQ.
* Re-breaks within ``holdoff_s`` of a gate's counted break never count as passages.
"""

from __future__ import annotations

from typing import Any

from server.engine.config import DUAL_B_SUFFIX, LaneStationConfig, first_leg, lane_route
from server.engine.enums import AttemptState, FalseStartReason, Reason, StartMode
from server.engine.gates import Edge, Gate, Offer, RouteMatcher
from server.engine.machine import Attempt, AttemptEvent, fire
from server.engine.outputs import EngineEvent, Progress
from server.engine.station import Sink, StationRuntime, Timer, TimerKind, us_to_s
from server.engine.timeline import PRIO_DEADLINE, Entry, Handler

S = AttemptState


class LaneStation(StationRuntime):
    """See the module docstring."""

    cfg: LaneStationConfig

    def __init__(self, cfg: LaneStationConfig, sink: Sink):
        super().__init__(cfg, sink)
        self.route = lane_route(cfg)
        holdoff_us = round(cfg.holdoff_s * 1_000_000)
        roles = set(self.route) | set(cfg.dual_beam_roles) | ({"start"} if cfg.start_gate else set())
        self.gates = {r: Gate(r, r in cfg.dual_beam_roles, holdoff_us) for r in sorted(roles)}
        self._hold_us = round(cfg.hold_s * 1_000_000)
        self._min_reaction_us = (round(cfg.min_reaction_s * 1_000_000)
                                 if cfg.start_mode is StartMode.REACTION_RANDOM else None)
        leg = first_leg(self.route) if cfg.start_gate else ()
        checks_reverse = cfg.reverse_check and cfg.start_mode is not StartMode.HOLD_IN_BEAM
        self._reverse_route = tuple(reversed(leg)) if checks_reverse and len(leg) >= 2 else ()
        self._reset_run()

    def _reset_run(self) -> None:
        self.forward = RouteMatcher(self.route)
        self.reverse = RouteMatcher(self._reverse_route, allow_skipping_splits=False)
        self.passed_start = not self.cfg.start_gate
        self.hold_since_us: int | None = None
        self._rebreaks_base = sum(g.rebreaks for g in self.gates.values())

    def handler_for(self, role: str) -> Handler | None:
        gate = self.gates.get(role)
        beam = 0
        if gate is None and role.endswith(DUAL_B_SUFFIX):
            gate = self.gates.get(role[: -len(DUAL_B_SUFFIX)])
            beam = 1
            if gate is None or not gate.dual:
                return None
        if gate is None:
            return None
        return lambda entry: self.on_beam(gate, beam, entry)

    # -- beam events ----------------------------------------------------------------------------
    def on_beam(self, gate: Gate, beam: int, entry: Entry) -> None:
        t, kind = entry[0], entry[4]
        if kind != "break" and kind != "restore":
            self.ignored_events += 1
            return
        edge, rebreak = gate.update(beam, kind == "break", t)
        if edge is Edge.NONE:
            return
        a = self.attempt
        if a is not None and a.is_active:
            self._judge(a, gate.role, edge, rebreak, t)

    def _judge(self, a: Attempt, role: str, edge: Edge, rebreak: bool, t: int) -> None:
        state = a.state
        if state is S.RUNNING:
            self._running(a, role, edge, rebreak, t)
        elif state is S.COUNTDOWN:
            if role == "start":
                self._early_start(a, edge, t)
        elif state is S.ARMED:
            self._armed(a, role, edge, rebreak, t)
        elif state is S.HOLDING:
            if role == "start" and edge is Edge.RESTORE:
                self.hold_since_us = None
                self._emit(fire(a, AttemptEvent.BEAM_LEFT, t, Reason.LEFT_BEAM_EARLY))
        elif state is S.READY and role == "start" and edge is Edge.RESTORE:
            self._begin(a, t)

    def _early_start(self, a: Attempt, edge: Edge, t: int) -> None:
        """A start-gate edge before GO: a false start; kept (WARN_KEEP), it is the start passage."""
        if self.false_start(a, t, FalseStartReason.START_BEAM, f"start beam {edge.name.lower()} before GO"):
            return
        if not self.passed_start:
            self.passed_start = True
            self.forward.offer("start", t)
            a.reaction_us = t - (a.go_t_us or t)

    def _armed(self, a: Attempt, role: str, edge: Edge, rebreak: bool, t: int) -> None:
        if a.mode is StartMode.HOLD_IN_BEAM:
            if role == "start" and edge is Edge.BREAK:
                self._enter_hold(a, t)
        elif a.mode is StartMode.FLY_THROUGH and edge is Edge.BREAK and not rebreak:
            if self._reverse_offer(role, t):
                self.disqualify(a, t, "wrong_direction: gates passed in reverse order")
            elif role == "start":
                self._begin(a, t)

    def _running(self, a: Attempt, role: str, edge: Edge, rebreak: bool, t: int) -> None:
        if not self.passed_start:
            if role == "start":
                if edge is Edge.BREAK and self._reverse_offer(role, t):
                    self.disqualify(a, t, "wrong_direction: gates passed in reverse order")
                    return
                self.passed_start = True
                self.forward.offer("start", t)
                self.record_reaction(a, t, self._min_reaction_us)
            elif edge is Edge.BREAK and not rebreak:
                self._reverse_offer(role, t)
            return
        if edge is not Edge.BREAK or rebreak:
            return
        outcome, skipped = self.forward.offer(role, t)
        if outcome is Offer.MATCHED:
            a.warnings.extend(f"missed_gate:{r}" for r in skipped)
            if self.forward.done:
                self.finish(a, t)
        elif outcome is Offer.AHEAD:
            a.warnings.append(f"gate_order:{role}_before_{self.forward.expected()}")

    def peek_finish(self, ev: EngineEvent) -> int | None:
        start = self._running_since(ev)
        if start is None or ev.kind != "break" or not self.passed_start:
            return None
        role = ev.role[: -len(DUAL_B_SUFFIX)] if ev.role.endswith(DUAL_B_SUFFIX) else ev.role
        gate = self.gates.get(role)
        route = self.forward.route
        if gate is None or gate.dual or self.forward.cursor != len(route) - 1 or route[-1] != role:
            return None  # not the last passage, or a dual gate (needs its pair: wait for the record)
        return ev.t_us - start

    def _reverse_offer(self, role: str, t: int) -> bool:
        """Feed a break to the wrong-direction matcher; True when a reverse first leg is complete."""
        rv = self.reverse
        if not rv.route:
            return False
        if rv.last_us is not None and t - rv.last_us > self._cap_us:
            rv.reset()
        outcome, _ = rv.offer(role, t)
        if outcome is not Offer.MATCHED and role == rv.route[0]:
            rv.reset()
            rv.offer(role, t)
        return rv.done

    def _begin(self, a: Attempt, t: int) -> None:
        self.passed_start = True
        self.forward.offer("start", t)
        self.start(a, t)

    def _enter_hold(self, a: Attempt, t: int) -> None:
        self._emit(fire(a, AttemptEvent.BEAM_ENTERED, t, Reason.ENTERED_BEAM))
        self.hold_since_us = t
        self.sink.schedule(t + self._hold_us, PRIO_DEADLINE,
                           Timer(self.station_id, TimerKind.HOLD_ELAPSED, a.serial, t))

    # -- hooks ----------------------------------------------------------------------------------
    def on_armed(self, a: Attempt, t_us: int) -> None:
        self._reset_run()
        start = self.gates.get("start")
        if a.mode is StartMode.HOLD_IN_BEAM and start is not None and start.broken:
            self._enter_hold(a, t_us)

    def on_hold_elapsed(self, a: Attempt, t_us: int, token: int) -> None:
        if a.state is S.HOLDING and self.hold_since_us == token:
            self._emit(fire(a, AttemptEvent.HOLD_ELAPSED, t_us, Reason.HOLD_COMPLETE))

    def on_ended(self, a: Attempt) -> None:
        self.hold_since_us = None

    def _split_times(self, a: Attempt) -> list[float | None]:
        offset = 1 if self.cfg.start_gate else 0
        times = self.forward.times[offset:-1]
        start = a.start_t_us
        return [us_to_s(t - start) if t is not None and start is not None else None for t in times]

    def measurements(self, a: Attempt, t_end_us: int) -> tuple[list[float | None], dict[str, Any],
                                                               dict[str, list[float]]]:
        rebreaks = sum(g.rebreaks for g in self.gates.values()) - self._rebreaks_base
        metrics: dict[str, Any] = {"distance_m": None, "rebreaks_ignored": rebreaks, "route": list(self.route)}
        return self._split_times(a), metrics, {}

    def progress(self, a: Attempt, watermark_us: int) -> Progress | None:
        if a.state is not S.RUNNING or a.start_t_us is None:
            return None
        elapsed_s = round(max(0, watermark_us - a.start_t_us) / 1e6, 3)
        return Progress(self.station_id, a.attempt_id, watermark_us, elapsed_s, None, None, None, None,
                        self._split_times(a))

