"""Ground-truth heats for the property tests: athletes, sleds and node clocks, drawn by hypothesis.

A heat has 1–3 stations (lanes and sleds) armed and started together. For each station we draw a
start mode, a false-start policy and an outcome (ok, false start, fast reaction, wrong direction,
limb re-breaks, DNF), simulate what the athlete and the sensors do in *true* hub time, and write
down what the engine must report. Every sensor sits on a node whose clock is offset by up to ±5 s;
the hub estimates the offset from ping/pong exchanges (``offset = (t1 + t4) / 2 - tn``, smallest
round trip of up to 16) and corrects the node's edge times with it — as the hub does — leaving the
engine a residual error of at most ±150 µs per node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from server.engine import (EngineEvent, FalseStartPolicy, LaneStationConfig, ResultStatus, SledStationConfig,
                           StartMode)
from tests.engine.sled_model import SledModel, simulate

M = StartMode
ARM_US = 1_000_000
GO_CMD_US = 2_000_000
CAP_S = 30.0
BODY_M = 0.3          # depth of the athlete's body through a beam


@dataclass
class Expected:
    """What the engine must report for one attempt (times in true hub µs, relative to the start)."""

    attempt_id: str
    status: ResultStatus
    reason: str
    time_us: float | None = None
    splits_us: list[float | None] = field(default_factory=list)
    reaction_us: float | None = None
    reaction_tol_us: float = 1_000
    false_start: str | None = None
    outcome: str = "ok"            # what the generator made happen (for hypothesis.event statistics)


@dataclass
class Station:
    config: LaneStationConfig | SledStationConfig
    events: list[tuple[float, str, EngineEvent]]    # (true hub µs, node id, event with the true time)
    expected: Expected

    def __repr__(self) -> str:  # short: hypothesis prints failing examples
        gates = [(round(t), e.role, e.kind) for t, _, e in self.events if e.role not in ("wheel", "force")]
        return f"Station({self.config!r}, {len(self.events)} events, gates={gates}, {self.expected!r})"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


@dataclass
class Heat:
    stations: list[Station]
    go_delay_us: int
    offsets_us: dict[str, tuple[int, int]]          # node → (true offset, hub's estimate)

    def t_go_us(self, cfg) -> int:
        return GO_CMD_US + round(cfg.countdown_s * 1e6) + self.go_delay_us

    def hub_events(self) -> list[EngineEvent]:
        """Events as the engine sees them: node clock, then corrected with the hub's estimate."""
        out = []
        for t_true, node, ev in (e for s in self.stations for e in s.events):
            true_off, est = self.offsets_us[node]
            t_node = round(t_true) - true_off
            out.append(EngineEvent(ev.station_id, ev.role, ev.kind, t_node + est, ev.value, ev.raw))
        return out


@st.composite
def node_clock(draw) -> tuple[int, int]:
    """(true offset, hub estimate) for one node: t_node = t_hub - offset."""
    offset = draw(st.integers(-5_000_000, 5_000_000))
    pings = draw(st.lists(st.tuples(st.integers(300, 600), st.integers(300, 600)), min_size=1, max_size=16))
    up, down = min(pings, key=sum)
    t1 = 10_000_000
    tn = t1 + up - offset
    t4 = t1 + up + down
    return offset, (t1 + t4) // 2 - tn


# -- lanes ------------------------------------------------------------------------------------------
def _pass(sid: str, role: str, t: float, v: float, out: list, rebreak_s: float | None = None,
          dual: bool = False, knee_s: float = 0.0) -> None:
    """The body passes gate ``role`` at ``t`` (µs): break/restore, optional limb re-break, dual beams."""
    restore = t + BODY_M / v * 1e6
    out.append((t, role, EngineEvent(sid, role, "break", 0)))
    out.append((restore, role, EngineEvent(sid, role, "restore", 0)))
    if rebreak_s is not None:
        out.append((restore + rebreak_s * 1e6, role, EngineEvent(sid, role, "break", 0)))
        out.append((restore + rebreak_s * 1e6 + 30_000, role, EngineEvent(sid, role, "restore", 0)))
    if dual:   # beam A (knee height) breaks knee_s early; beam B (torso) is the passage
        out[-2 if rebreak_s is None else -4] = (t - knee_s * 1e6, role, EngineEvent(sid, role, "break", 0))
        out.append((t, role + ".b", EngineEvent(sid, role + ".b", "break", 0)))
        out.append((restore, role + ".b", EngineEvent(sid, role + ".b", "restore", 0)))
        out.append((t - 400_000, role + ".b", EngineEvent(sid, role + ".b", "break", 0)))  # arm swing, B only
        out.append((t - 370_000, role + ".b", EngineEvent(sid, role + ".b", "restore", 0)))


@st.composite
def lane_station(draw, sid: str, go_delay_us: int) -> Station:
    mode = draw(st.sampled_from([M.GO_COUNTDOWN, M.REACTION_RANDOM, M.HOLD_IN_BEAM, M.FLY_THROUGH]))
    policy = draw(st.sampled_from(list(FalseStartPolicy)))
    legs = draw(st.sampled_from([1, 1, 2, 3]))
    n_splits = draw(st.integers(0, 2)) if legs == 1 else 0
    outcomes = ["ok", "ok", "rebreaks", "dnf"]
    outcomes += ["false_start"] if mode in (M.GO_COUNTDOWN, M.REACTION_RANDOM) else []
    outcomes += ["fast_reaction"] if mode is M.REACTION_RANDOM else []
    outcomes += ["wrong_direction"] if mode is not M.HOLD_IN_BEAM else []
    outcome = draw(st.sampled_from(outcomes))
    dual = draw(st.booleans()) and legs == 1
    cfg = LaneStationConfig(
        sid, start_mode=mode, split_roles=tuple(f"split{i}" for i in range(1, n_splits + 1)), shuttle_legs=legs,
        time_cap_s=CAP_S, holdoff_s=0.5, false_start_policy=policy, hold_s=2.0,
        countdown_s=1.0 if mode is M.REACTION_RANDOM else 3.0, reaction_window_s=(1.0, 3.0),
        dual_beam_roles=frozenset({"finish"}) if dual else frozenset())
    v = draw(st.floats(1.5, 3.0))
    length_m = min(draw(st.floats(8.0, 25.0)), 20.0 * v / legs)   # finishes well inside the cap
    split_at = [(i + draw(st.floats(0.2, 0.8))) / (n_splits + 1) for i in range(1, n_splits + 1)]
    t_go = GO_CMD_US + round(cfg.countdown_s * 1e6) + go_delay_us
    ev: list = []
    exp = Expected(f"{sid}-a", ResultStatus.OK, "finished", outcome=outcome)
    in_beam = draw(st.booleans())
    # -- the start ------------------------------------------------------------------------------
    if mode in (M.GO_COUNTDOWN, M.REACTION_RANDOM):
        start_t = t_go
        if outcome == "false_start":
            t0 = t_go - draw(st.floats(0.1, 0.9)) * 1e6
        elif outcome == "fast_reaction":
            t0 = t_go + draw(st.floats(0.02, 0.09)) * 1e6
        else:
            t0 = t_go + draw(st.floats(0.12, 0.6)) * 1e6
        if outcome != "wrong_direction":
            if in_beam:
                ev += [(ARM_US - 500_000, "start", EngineEvent(sid, "start", "break", 0)),
                       (t0, "start", EngineEvent(sid, "start", "restore", 0))]
            else:
                _pass(sid, "start", t0, v, ev)
            exp.reaction_us = t0 - t_go
    elif mode is M.HOLD_IN_BEAM:
        enter = ARM_US + draw(st.floats(0.2, 2.0)) * 1e6
        t0 = start_t = enter + (2.0 + draw(st.floats(0.05, 2.0))) * 1e6
        ev += [(enter, "start", EngineEvent(sid, "start", "break", 0)),
               (t0, "start", EngineEvent(sid, "start", "restore", 0))]
    else:
        t0 = start_t = ARM_US + draw(st.floats(0.5, 5.0)) * 1e6
        if outcome != "wrong_direction":
            _pass(sid, "start", t0, v, ev)
    # -- the route --------------------------------------------------------------------------------
    rebreak = (lambda: draw(st.floats(0.02, 0.1))) if outcome == "rebreaks" else (lambda: None)
    passages: list[tuple[str, float]] = []        # (role, true µs) of the route after the start
    if legs == 1:
        passages = [(f"split{i + 1}", t0 + f * length_m / v * 1e6) for i, f in enumerate(split_at)]
        passages.append(("finish", t0 + length_m / v * 1e6))
    else:
        t = t0
        for leg in range(1, legs + 1):
            t += length_m / v * 1e6 + (400_000 if leg > 1 else 0)
            line = "turn" if leg % 2 else "start"
            passages.append(("finish" if leg == legs else line, t))
            if leg == legs:   # the finish beam sits beside the line's own gate, which breaks too
                _pass(sid, line, t + 2_000, v, ev)
    if outcome == "wrong_direction":
        first_leg = passages[: n_splits + 1] if legs == 1 else passages[:1]
        reverse = [("start", t0)] + [(role, t) for role, t in first_leg]
        t_end = reverse[-1][1]
        for role, t in reverse:   # mirrored in time: the far gate first, the start gate last
            _pass(sid, role, t0 + (t_end - t), v, ev, dual=dual and role == "finish", knee_s=0.03)
        exp.status, exp.reason, exp.reaction_us = ResultStatus.DQ, "wrong_direction", None
        return Station(cfg, [(t, f"{sid}/{r.split('.')[0]}", e) for t, r, e in ev], exp)
    if outcome == "dnf":
        passages = passages[:-1]
    for role, t in passages:
        _pass(sid, role, t, v, ev, rebreak(), dual=dual and role == "finish", knee_s=draw(st.floats(0.01, 0.07)))
    _lane_expectation(exp, outcome, policy, start_t, passages, mode)
    return Station(cfg, [(t, f"{sid}/{r.split('.')[0]}", e) for t, r, e in ev], exp)


def _lane_expectation(exp: Expected, outcome: str, policy: FalseStartPolicy, start_t: float,
                      passages: list[tuple[str, float]], mode: StartMode) -> None:
    voided = policy is FalseStartPolicy.VOID_REARM
    if outcome == "false_start":
        exp.false_start = "start_beam"
        if voided:
            exp.status, exp.reason, exp.reaction_us = ResultStatus.FALSE_START, "false_start_start_beam", None
            return
    if outcome == "fast_reaction":
        exp.false_start = "reaction"
        if voided:
            exp.status, exp.reason = ResultStatus.FALSE_START, "false_start_reaction"
            return
    if outcome == "dnf":
        exp.status, exp.reason, exp.reaction_us = ResultStatus.DNF, "time_cap", exp.reaction_us
        return
    exp.time_us = passages[-1][1] - start_t
    exp.splits_us = [t - start_t for _, t in passages[:-1]]


# -- sleds ------------------------------------------------------------------------------------------
@st.composite
def sled_station(draw, sid: str, go_delay_us: int) -> Station:
    mode = draw(st.sampled_from([M.GO_COUNTDOWN, M.REACTION_RANDOM, M.FIRST_MOVEMENT]))
    policy = draw(st.sampled_from(list(FalseStartPolicy)))
    outcomes = ["ok", "ok", "force_false_start", "motion_false_start", "wrong_direction", "dnf"]
    outcomes += ["fast_reaction"] if mode is M.REACTION_RANDOM else []
    outcome = draw(st.sampled_from(outcomes))
    distance = draw(st.sampled_from([5.0, 10.0]))
    cfg = SledStationConfig(
        sid, distance, start_mode=mode, time_cap_s=CAP_S, false_start_policy=policy,
        force_threshold_n=5000.0 if outcome == "motion_false_start" else 150.0, motion_threshold_m=0.02,
        countdown_s=1.0 if mode is M.REACTION_RANDOM else 3.0, reaction_window_s=(1.0, 3.0),
        split_distances_m=(distance / 2,) if draw(st.booleans()) else ())
    model = SledModel(mass_kg=draw(st.floats(60, 140)), friction_mu=draw(st.floats(0.3, 0.5)),
                      peak_force_n=draw(st.floats(900, 1300)), step_m=draw(st.sampled_from([0.004, 0.005, 0.008])),
                      stop_after_m=distance * 0.6 if outcome == "dnf" else None)
    t_go = GO_CMD_US + round(cfg.countdown_s * 1e6) + go_delay_us
    if outcome == "motion_false_start":
        t_pull = t_go - draw(st.floats(1.0, 1.5)) * 1e6
    elif outcome == "fast_reaction":
        t_pull = t_go + draw(st.floats(0.0, 0.015)) * 1e6
    else:
        t_pull = t_go + draw(st.floats(0.1, 1.5)) * 1e6
    trace = simulate(model, t_pull, distance + 0.3, (*cfg.split_distances_m, distance), max_s=CAP_S + 5)
    sign = -1 if outcome == "wrong_direction" else 1
    ev = [(t, EngineEvent(sid, "wheel", "position", 0, sign * x)) for t, x in trace.edges]
    phase = draw(st.floats(0, 12_499))
    t = ARM_US - 1_000_000 + phase
    while t < trace.end_us + 500_000:
        f = 15.0 + trace.force_at(t)
        ev.append((t, EngineEvent(sid, "force", "force", 0, f)))
        t += 12_500
    spike_at = GO_CMD_US + draw(st.floats(0.1, 0.8)) * 1e6
    if outcome == "force_false_start":
        ev.append((spike_at, EngineEvent(sid, "force", "force", 0, 400.0)))
        ev = [e for e in ev if not (e[1].role == "force" and abs(e[0] - spike_at) < 6_000 and e[1].value != 400.0)]
    exp = _sled_expectation(sid, cfg, outcome, policy, trace, t_go, t_pull)
    return Station(cfg, [(t, sid, e) for t, e in ev], exp)


def _sled_expectation(sid: str, cfg: SledStationConfig, outcome: str, policy: FalseStartPolicy, trace,
                      t_go: int, t_pull: float) -> Expected:
    exp = Expected(f"{sid}-a", ResultStatus.OK, "finished", outcome=outcome)
    voided = policy is FalseStartPolicy.VOID_REARM
    fs = {"force_false_start": "force", "motion_false_start": "motion", "fast_reaction": "reaction"}.get(outcome)
    if fs is not None:
        exp.false_start = fs
        if voided:
            exp.status, exp.reason = ResultStatus.FALSE_START, f"false_start_{fs}"
            return exp
    if outcome == "wrong_direction":
        exp.status, exp.reason = ResultStatus.DQ, "wrong_direction"
        return exp
    if outcome == "dnf":
        exp.status, exp.reason = ResultStatus.DNF, "time_cap"
        return exp
    moving_at_go = fs == "motion"   # FIRST_MOVEMENT then times from GO, like the GO modes
    start = trace.edges[0][0] if cfg.start_mode is M.FIRST_MOVEMENT and not moving_at_go else t_go
    exp.time_us = trace.crossings[cfg.distance_m] - start
    exp.splits_us = [trace.crossings[d] - start for d in cfg.split_distances_m]
    if fs is None and cfg.start_mode is not M.FIRST_MOVEMENT:
        crossing = next(t for t, f in trace.forces if f + 15.0 > cfg.force_threshold_n)
        exp.reaction_us, exp.reaction_tol_us = crossing - t_go, 3_000
    elif fs is None:
        exp.reaction_us = start - t_go
    return exp


@st.composite
def heats(draw, kinds: tuple[str, ...] = ("lane", "sled"), max_stations: int = 3) -> Heat:
    go_delay_us = draw(st.integers(1_000_000, 3_000_000))
    n = draw(st.integers(1, max_stations))
    stations = []
    for i in range(n):
        kind = draw(st.sampled_from(kinds))
        strategy = lane_station if kind == "lane" else sled_station
        stations.append(draw(strategy(f"{kind}{i}", go_delay_us)))
    nodes = {node for s in stations for _, node, _ in s.events}
    offsets = {node: draw(node_clock()) for node in sorted(nodes)}
    return Heat(stations, go_delay_us, offsets)
