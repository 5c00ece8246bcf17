"""Calibration wizards as pure state machines: named states, the user actions each state allows, and
what the hub must send to the node. No I/O, no clock: the service feeds them readings, the node's
acknowledgements and the time (``now_s``, hub monotonic seconds), and sends the :class:`Command` s they
return (see :mod:`server.setup.service`).

- :class:`LoadCellWizard` — *zero* (tare: mean raw counts with no load) → *known weight* (scale)
  → optional *second weight* (linearity check, error in %) → *save* (``calibrate`` with
  ``offset_counts`` and ``scale_counts_per_n``). Mode ``zero`` re-zeroes only (keeps the scale).
- :class:`EncoderWizard` — *start mark* → *pull a measured distance* toward the athlete → *save*
  (``calibrate`` with ``counts_per_m`` and ``invert``).
- :class:`BeamWizard` — *break the beam* N times (each break short and followed by a restore, then the
  beam must rest clear): an alignment check; a beam that reads the wrong way round is detected and
  flipped on the node (``configure`` ``{"invert": true}``) with the user's OK.

Every wizard: ``act(action, params, now_s)`` for a user action (``cancel`` always works until the end),
``on_sample`` / ``on_event`` for the sensor's telemetry and events, ``on_ack`` for the answer to the
command it asked for, ``tick(now_s)`` for time-outs; each returns the commands to send. ``view()`` is
what ``/setup`` shows. A finished wizard (``DONE``) holds its :class:`Outcome` to store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from server.setup import calibration as cal
from server.setup.calibration import CalibrationError


class WizardError(Exception):
    """A user action that cannot be done: ``status`` 400 (bad input) or 409 (not now)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Command:
    """A command for the wizard's sensor (``cmd`` and ``params`` of ``docs/protocol.md``)."""

    cmd: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a finished wizard found: ``params`` (what the node now runs with) and how it was measured."""

    kind: str
    params: dict[str, Any]
    report: dict[str, Any]


class State(StrEnum):
    UNLOAD = "UNLOAD"        # load cell: take the load off, then zero
    ZEROING = "ZEROING"
    WEIGHT = "WEIGHT"        # hang a known weight, enter its mass
    WEIGHING = "WEIGHING"
    CHECK = "CHECK"          # optional second weight
    CHECKING = "CHECKING"
    MARK = "MARK"            # encoder: sled on the start mark
    PULLING = "PULLING"
    WATCH = "WATCH"          # beam: break it N times
    INVERTED = "INVERTED"    # beam reads the wrong way round: offer to flip it
    SAVING = "SAVING"        # command sent, waiting for the node's ack
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({State.DONE, State.FAILED, State.CANCELLED})


@dataclass
class Wizard:
    """Common parts: state, what to tell the user, progress, steps, cancel, ack handling."""

    id: str
    node_id: str
    sensor_id: str
    started_s: float
    state: State = State.DONE
    message: str = ""
    problem: str | None = None
    progress: float | None = None
    outcome: Outcome | None = None
    version: int = 0
    updated_s: float = 0.0
    _step: int = field(default=0, init=False, repr=False)

    kind: ClassVar[str] = ""
    STEPS: ClassVar[tuple[tuple[str, str, frozenset[State]], ...]] = ()
    """(key, title, the states in which this step is the active one), in order."""
    ACTIONS: ClassVar[dict[State, tuple[str, ...]]] = {}
    """The user actions each state allows (``cancel`` is always allowed before the end)."""

    # -- user actions -----------------------------------------------------------------------------
    def act(self, action: str, params: dict[str, Any], now_s: float) -> list[Command]:
        if self.state in TERMINAL:
            raise WizardError(409, f"this calibration has ended ({self.state.value.lower()}); start a new one")
        if action == "cancel":
            self._go(State.CANCELLED, now_s, "Cancelled: nothing was changed on the sensor.")
            return []
        if action not in self.ACTIONS.get(self.state, ()):
            allowed = ", ".join(self.actions()) or "none"
            raise WizardError(409, f"'{action}' is not possible now (step {self.state.value}; possible: {allowed})")
        return getattr(self, f"_on_{action}")(params, now_s)

    def actions(self) -> list[str]:
        return [] if self.state in TERMINAL else [*self.ACTIONS.get(self.state, ()), "cancel"]

    # -- inputs from the sensor and the node --------------------------------------------------------
    def on_sample(self, value: float | None, raw: int | None, now_s: float,
                  t_us: int | None = None) -> list[Command]:
        """One telemetry sample: ``value`` as the node computed it, ``raw`` counts, ``t_us`` node clock."""
        return []

    def on_event(self, kind: str, t_us: int, detail: dict[str, Any] | None, now_s: float) -> list[Command]:
        return []

    def on_ack(self, ok: bool, result: dict[str, Any] | None, error: str | None, now_s: float) -> list[Command]:
        """The node's answer to the command this wizard asked for (``error``: a sentence for people)."""
        if self.state is not State.SAVING:
            return []
        if not ok:
            self._go(State.FAILED, now_s, "The sensor did not take the new settings; nothing was stored.",
                     problem=error or "The node refused the command.")
            return []
        return self._saved(result or {}, now_s)

    def tick(self, now_s: float) -> list[Command]:
        return []

    # -- helpers ----------------------------------------------------------------------------------
    def _saved(self, result: dict[str, Any], now_s: float) -> list[Command]:
        raise NotImplementedError

    def step_spec(self) -> tuple[tuple[str, str, frozenset[State]], ...]:
        return self.STEPS

    def _go(self, state: State, now_s: float, message: str, *, problem: str | None = None,
            progress: float | None = None) -> None:
        self.state, self.message, self.problem, self.progress = state, message, problem, progress
        self._step = next((i for i, s in enumerate(self.step_spec()) if state in s[2]), self._step)
        self._touch(now_s)

    def _touch(self, now_s: float) -> None:
        self.version += 1
        self.updated_s = now_s

    def live(self) -> dict[str, Any]:
        return {}

    def steps(self) -> list[dict[str, str]]:
        """Each step's status: done, active, pending, or failed/cancelled where the wizard ended."""
        here = {State.FAILED: "failed", State.CANCELLED: "cancelled"}.get(self.state, "active")
        out = []
        for i, (key, title, _) in enumerate(self.step_spec()):
            if self.state is State.DONE or i < self._step:
                status = "done"
            else:
                status = here if i == self._step else "pending"
            out.append({"key": key, "title": title, "status": status})
        return out

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "node_id": self.node_id, "sensor_id": self.sensor_id,
            "state": self.state.value, "ended": self.state in TERMINAL, "steps": self.steps(),
            "message": self.message, "problem": self.problem,
            "progress": None if self.progress is None else round(self.progress, 3),
            "actions": self.actions(), "live": self.live(),
            "result": None if self.outcome is None else {**self.outcome.params, **self.outcome.report},
        }


# -- load cell ------------------------------------------------------------------------------------------
SAMPLING = frozenset({State.ZEROING, State.WEIGHING, State.CHECKING})


@dataclass
class LoadCellWizard(Wizard):
    """Tare, known weight, optional second weight, save. ``mode`` ``"full"`` or ``"zero"`` (re-zero only,
    needs ``scale_counts_per_n``, the scale the node runs with)."""

    mode: str = "full"
    scale_counts_per_n: float | None = None
    samples_needed: int = 16
    sample_timeout_s: float = 4.0
    max_spread_pct: float = 2.0          # a weight reading must stay within this (std, % of the signal)
    max_zero_noise_n: float = 5.0        # re-zero: the no-load reading must stay within this (std, N)
    linearity_limit_pct: float = 2.0     # the second weight must read within this of its weight
    offset_counts: float | None = None
    tare: cal.SampleStats | None = None
    weight: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    _samples: list[int] = field(default_factory=list, init=False, repr=False)
    _sampling_since_s: float = field(default=0.0, init=False, repr=False)
    _mass_kg: float = field(default=0.0, init=False, repr=False)

    kind: ClassVar[str] = "load_cell"
    ACTIONS: ClassVar[dict[State, tuple[str, ...]]] = {
        State.UNLOAD: ("measure",), State.WEIGHT: ("measure",), State.CHECK: ("measure", "skip")}

    def __post_init__(self) -> None:
        if self.mode not in ("full", "zero"):
            raise WizardError(400, "mode must be 'full' or 'zero'")
        if self.mode == "zero" and not self.scale_counts_per_n:
            raise WizardError(409, "this load cell has no scale yet: run the full calibration first")
        self._go(State.UNLOAD, self.started_s, self._waiting_text(State.UNLOAD))

    def step_spec(self) -> tuple[tuple[str, str, frozenset[State]], ...]:
        steps = [("zero", "Zero (tare)", frozenset({State.UNLOAD, State.ZEROING}))]
        if self.mode == "full":
            steps += [("weight", "Known weight", frozenset({State.WEIGHT, State.WEIGHING})),
                      ("check", "Second weight (linearity)", frozenset({State.CHECK, State.CHECKING}))]
        return (*steps, ("save", "Save to the sensor", frozenset({State.SAVING})))

    def _on_measure(self, params: dict[str, Any], now_s: float) -> list[Command]:
        if self.state is not State.UNLOAD:
            try:
                self._mass_kg = cal.check_mass(params.get("mass_kg"))
            except CalibrationError as exc:
                raise WizardError(400, str(exc)) from None
        nxt = {State.UNLOAD: State.ZEROING, State.WEIGHT: State.WEIGHING, State.CHECK: State.CHECKING}[self.state]
        self._samples = []
        self._sampling_since_s = now_s
        self._go(nxt, now_s, "Measuring: keep everything still…", progress=0.0)
        return []

    def _on_skip(self, params: dict[str, Any], now_s: float) -> list[Command]:
        return self._save(now_s)

    def on_sample(self, value: float | None, raw: int | None, now_s: float,
                  t_us: int | None = None) -> list[Command]:
        if self.state not in SAMPLING or raw is None:
            return []
        self._samples.append(raw)
        self._sampling_since_s = now_s
        self.progress = min(1.0, len(self._samples) / self.samples_needed)
        self._touch(now_s)
        if len(self._samples) < self.samples_needed:
            return []
        stats = cal.sample_stats(self._samples)
        return {State.ZEROING: self._zeroed, State.WEIGHING: self._weighed,
                State.CHECKING: self._checked}[self.state](stats, now_s)

    def tick(self, now_s: float) -> list[Command]:
        if self.state in SAMPLING and now_s - self._sampling_since_s > self.sample_timeout_s:
            back = {State.ZEROING: State.UNLOAD, State.WEIGHING: State.WEIGHT, State.CHECKING: State.CHECK}
            self._go(back[self.state], now_s, self._waiting_text(back[self.state]),
                     problem=f"No readings from the load cell for {self.sample_timeout_s:g} s: is the node online? "
                             "Then press the button again.")
        return []

    def _waiting_text(self, state: State) -> str:
        return {State.UNLOAD: "Take everything off the harness and let the sled rest. Then press Zero.",
                State.WEIGHT: "Hang a known weight from the harness so it hangs freely, enter its mass and "
                              "press Measure.",
                State.CHECK: "Optional check: hang a second, different weight, enter its mass and press Measure "
                             "— or skip to save."}[state]

    def _zeroed(self, stats: cal.SampleStats, now_s: float) -> list[Command]:
        if self.mode == "zero" and self.scale_counts_per_n:
            noise_n = stats.std / abs(self.scale_counts_per_n)
            if noise_n > self.max_zero_noise_n:
                self._go(State.UNLOAD, now_s, self._waiting_text(State.UNLOAD),
                         problem=f"The reading moved by ±{noise_n:.1f} N while zeroing: keep the sled and harness "
                                 "still, then press Zero again.")
                return []
        self.tare, self.offset_counts = stats, stats.mean
        if self.mode == "zero":
            return self._save(now_s)
        self._go(State.WEIGHT, now_s, self._waiting_text(State.WEIGHT))
        return []

    def _steady(self, stats: cal.SampleStats, back: State, now_s: float) -> bool:
        signal = abs(stats.mean - (self.offset_counts or 0.0))
        spread_pct = 100.0 * stats.std / signal if signal else 0.0
        if spread_pct > self.max_spread_pct:
            self._go(back, now_s, self._waiting_text(back),
                     problem=f"The reading moved (±{spread_pct:.1f} %) while measuring: let the weight hang still, "
                             "then press Measure again.")
            return False
        return True

    def _weighed(self, stats: cal.SampleStats, now_s: float) -> list[Command]:
        if not self._steady(stats, State.WEIGHT, now_s):
            return []
        try:
            scale = cal.scale_counts_per_n(stats.mean, self.offset_counts or 0.0, self._mass_kg,
                                           min_counts=max(50.0, 20 * (self.tare.std if self.tare else 0.0)))
        except CalibrationError as exc:
            self._go(State.WEIGHT, now_s, self._waiting_text(State.WEIGHT), problem=str(exc)[0].upper() + str(exc)[1:])
            return []
        self.scale_counts_per_n = scale
        self.weight = {"mass_kg": self._mass_kg, "force_n": round(cal.force_of_mass_n(self._mass_kg), 2),
                       "stats": stats.to_dict()}
        self._go(State.CHECK, now_s, self._waiting_text(State.CHECK))
        return []

    def _checked(self, stats: cal.SampleStats, now_s: float) -> list[Command]:
        if not self._steady(stats, State.CHECK, now_s):
            return []
        assert self.scale_counts_per_n is not None
        err = cal.linearity_error_pct(stats.mean, self.offset_counts or 0.0, self.scale_counts_per_n, self._mass_kg)
        passed = abs(err) <= self.linearity_limit_pct
        self.check = {"mass_kg": self._mass_kg, "error_pct": round(err, 2), "passed": passed,
                      "limit_pct": self.linearity_limit_pct, "stats": stats.to_dict()}
        if passed:
            return self._save(now_s)
        self._go(State.CHECK, now_s, "Measure the second weight again, or save anyway.",
                 problem=f"The second weight reads {err:+.1f} % off (limit ±{self.linearity_limit_pct:g} %): check the "
                         "load cell is mounted straight and both weights hang freely.")
        return []

    def _save(self, now_s: float) -> list[Command]:
        params = {"offset_counts": round(self.offset_counts or 0.0, 3)}
        if self.mode == "full":
            params["scale_counts_per_n"] = self.scale_counts_per_n
        self._go(State.SAVING, now_s, "Saving the calibration on the sensor…")
        return [Command("calibrate", params)]

    def _saved(self, result: dict[str, Any], now_s: float) -> list[Command]:
        params = {"offset_counts": round(self.offset_counts or 0.0, 3), "scale_counts_per_n": self.scale_counts_per_n}
        report = {"mode": self.mode, "tare": self.tare.to_dict() if self.tare else None, "weight": self.weight,
                  "check": self.check, "g_m_s2": cal.STANDARD_GRAVITY_M_S2}
        self.outcome = Outcome(self.kind, params, report)
        done = "Zeroed." if self.mode == "zero" else "Calibrated: the load cell now reads in newtons."
        self._go(State.DONE, now_s, done)
        return []

    def live(self) -> dict[str, Any]:
        out: dict[str, Any] = {"samples": len(self._samples) if self.state in SAMPLING else 0,
                               "samples_needed": self.samples_needed}
        if self.offset_counts is not None:
            out["offset_counts"] = round(self.offset_counts, 1)
        if self.scale_counts_per_n and self.mode == "full" and self.weight:
            out["scale_counts_per_n"] = round(self.scale_counts_per_n, 4)
        if self.check:
            out["linearity_error_pct"] = self.check["error_pct"]
        return out


# -- encoder ----------------------------------------------------------------------------------------------
@dataclass
class EncoderWizard(Wizard):
    """Start mark, pull a measured distance, save ``counts_per_m`` and ``invert``.

    ``latest_counts``: the raw count of the sensor's newest sample (by node time ``latest_t_us``), if
    any; else the earliest sample after *start*, by node time, is the start (at most one count off).
    Samples may arrive out of order (QoS 1 retries, a node's outbox): the newest by node time counts,
    never the last to arrive. ``counts_per_m``: what the node uses now (for the live distance
    estimate)."""

    latest_counts: int | None = None
    counts_per_m: float | None = None
    latest_t_us: int | None = None
    start_counts: int | None = None
    start_t_us: int | None = None
    start_from_first_sample: bool = False
    result_counts_per_m: float | None = None
    invert: bool = False
    distance_m: float | None = None

    kind: ClassVar[str] = "encoder"
    STEPS: ClassVar = (("mark", "Start mark", frozenset({State.MARK})),
                       ("pull", "Pull a measured distance", frozenset({State.PULLING})),
                       ("save", "Save to the sensor", frozenset({State.SAVING})))
    ACTIONS: ClassVar[dict[State, tuple[str, ...]]] = {State.MARK: ("start",), State.PULLING: ("finish", "restart")}

    def __post_init__(self) -> None:
        self._go(State.MARK, self.started_s, "Mark a start line on the floor and put the sled's rear edge on it. "
                                             "Then press Start.")

    def _on_start(self, params: dict[str, Any], now_s: float) -> list[Command]:
        self.start_counts, self.start_t_us = self.latest_counts, self.latest_t_us
        self.start_from_first_sample = False
        self._go(State.PULLING, now_s, "Pull the sled toward the athlete's end over a distance you measure with a "
                                       "tape (10 m is good). Enter the distance and press Done.")
        return []

    def _on_restart(self, params: dict[str, Any], now_s: float) -> list[Command]:
        self.start_counts, self.start_t_us = None, None
        self.__post_init__()
        self._touch(now_s)
        return []

    def _on_finish(self, params: dict[str, Any], now_s: float) -> list[Command]:
        try:
            distance = cal.check_distance_m(params.get("distance_m"))
        except CalibrationError as exc:
            raise WizardError(400, str(exc)) from None
        if self.start_counts is None or self.latest_counts is None:
            self.problem = "No wheel readings yet: is the wheel turning, and is the node online?"
            self._touch(now_s)
            return []
        try:
            cpm, invert = cal.wheel_counts_per_m(self.latest_counts - self.start_counts, distance)
        except CalibrationError as exc:
            self.problem = str(exc)[0].upper() + str(exc)[1:]
            self._touch(now_s)
            return []
        self.result_counts_per_m, self.invert, self.distance_m = cpm, invert, distance
        self._go(State.SAVING, now_s, "Saving the wheel calibration on the sensor…")
        return [Command("calibrate", {"counts_per_m": round(cpm, 4), "invert": invert})]

    def on_sample(self, value: float | None, raw: int | None, now_s: float,
                  t_us: int | None = None) -> list[Command]:
        if raw is None:
            return []
        if t_us is None or self.latest_t_us is None or t_us >= self.latest_t_us:
            self.latest_counts, self.latest_t_us = raw, t_us
        if self.state is State.PULLING:
            earlier = t_us is not None and self.start_t_us is not None and t_us < self.start_t_us
            if self.start_counts is None or (self.start_from_first_sample and earlier):
                self.start_counts, self.start_t_us = raw, t_us
                self.start_from_first_sample = True
            self._touch(now_s)
        return []

    def _saved(self, result: dict[str, Any], now_s: float) -> list[Command]:
        params = {"counts_per_m": round(self.result_counts_per_m or 0.0, 4), "invert": self.invert}
        report = {"distance_m": self.distance_m, "delta_counts": (self.latest_counts or 0) - (self.start_counts or 0),
                  "start_counts": self.start_counts, "end_counts": self.latest_counts}
        self.outcome = Outcome(self.kind, params, report)
        flipped = " The wheel counted backwards, so the sensor now flips its sign." if self.invert else ""
        self._go(State.DONE, now_s, "Calibrated: distances are now in metres." + flipped +
                 " Now pull the sled back to its start line.")
        return []

    def live(self) -> dict[str, Any]:
        moved = None
        if self.start_counts is not None and self.latest_counts is not None:
            moved = self.latest_counts - self.start_counts
        out: dict[str, Any] = {"counts": moved}
        if moved is not None and self.counts_per_m:
            out["distance_m_now_calibration"] = round(moved / self.counts_per_m, 3)
        if self.result_counts_per_m:
            out["counts_per_m"] = round(self.result_counts_per_m, 4)
            out["invert"] = self.invert
        return out


# -- beam gates ----------------------------------------------------------------------------------------
@dataclass
class BeamWizard(Wizard):
    """Break the beam ``passes_needed`` times; each break must last 15 ms to 2 s and end in a restore,
    and the beam must then rest clear for ``settle_s``. A beam that stays broken for ``stuck_s`` is
    misaligned or blocked, or — when it had short *clear* spells while people passed — wired the wrong
    way round (then *fix* flips it on the node). No event at all for ``no_event_timeout_s``: failed."""

    passes_needed: int = 3
    window_s: float | None = None        # dual beam: the node's pairing window (from its descriptor)
    settle_s: float = 1.0
    stuck_s: float = 3.0
    no_event_timeout_s: float = 60.0
    flicker_us: int = 15_000
    max_pass_us: int = 2_000_000
    broken: bool | None = None
    passes: int = 0
    flickers: int = 0
    block_ms: list[float] = field(default_factory=list)
    dual_gap_ms: float | None = None
    polarity_fixed: bool = False
    broken_level: str | None = None
    _broken_us: list[int] = field(default_factory=list, init=False, repr=False)
    _clear_us: list[int] = field(default_factory=list, init=False, repr=False)
    _since_t_us: int | None = field(default=None, init=False, repr=False)
    _since_s: float = field(default=0.0, init=False, repr=False)
    _last_event_s: float | None = field(default=None, init=False, repr=False)
    _stuck_told: bool = field(default=False, init=False, repr=False)

    kind: ClassVar[str] = "beam"
    STEPS: ClassVar = (("watch", "Break the beam", frozenset({State.WATCH, State.INVERTED, State.SAVING})),
                       ("done", "Aligned", frozenset()))
    ACTIONS: ClassVar[dict[State, tuple[str, ...]]] = {State.INVERTED: ("fix",)}

    def __post_init__(self) -> None:
        self._watch(self.started_s)

    def _watch(self, now_s: float) -> None:
        self.passes, self.flickers, self.block_ms = 0, 0, []
        self._broken_us, self._clear_us = [], []
        self._since_s = now_s
        self._go(State.WATCH, now_s, f"Walk through the beam (or pass a hand through it) {self.passes_needed} times. "
                                     "Watch the indicator: it must show BROKEN each time, then CLEAR.",
                 progress=0.0)

    def on_event(self, kind: str, t_us: int, detail: dict[str, Any] | None, now_s: float) -> list[Command]:
        if kind not in ("break", "restore") or self.state is not State.WATCH:
            return []
        self._last_event_s = now_s
        since = self._since_t_us
        if kind == "break":
            if self.broken is False and since is not None:
                self._clear_us.append(t_us - since)
            self._dual_gap(detail)
        elif self.broken and since is not None:
            held = t_us - since
            self._broken_us.append(held)
            if held < self.flicker_us:
                self.flickers += 1
            elif held <= self.max_pass_us:
                self.passes += 1
                self.block_ms.append(round(held / 1000, 1))
        self.broken = kind == "break"
        self._since_t_us, self._since_s = t_us, now_s
        self._stuck_told = False
        self.problem = self._flicker_problem()
        self.progress = min(1.0, self.passes / self.passes_needed)
        self._touch(now_s)
        return []

    def _dual_gap(self, detail: dict[str, Any] | None) -> None:
        edges = (detail or {}).get("edges_us")
        if isinstance(edges, list) and len(edges) == 2 and all(isinstance(e, int) for e in edges):
            gap = abs(edges[0] - edges[1]) / 1000
            self.dual_gap_ms = gap if self.dual_gap_ms is None else max(self.dual_gap_ms, gap)

    def _flicker_problem(self) -> str | None:
        if self.flickers >= 3:
            return (f"The beam flickers ({self.flickers} very short breaks): check the emitter and receiver face each "
                    "other squarely and no sunlight shines into the receiver.")
        return None

    def tick(self, now_s: float) -> list[Command]:
        if self.state is not State.WATCH:
            return []
        if self._last_event_s is None and now_s - self.started_s > self.no_event_timeout_s:
            self._go(State.FAILED, now_s, "Nothing happened on this beam.",
                     problem=f"No break seen in {self.no_event_timeout_s:g} s: check the receiver's output is wired to "
                             "the GPIO in the node's config and the beam is aligned (docs/wiring.md).")
        elif self.broken and now_s - self._since_s > self.stuck_s:
            if self._reads_inverted():
                self._go(State.INVERTED, now_s, "Press Fix to flip the beam's reading on the node.",
                         problem="This beam reads the wrong way round: it says BROKEN while nobody is in it and CLEAR "
                                 "while someone passes.")
            elif not self._stuck_told:
                self._stuck_told = True
                self.problem = (f"The beam has read BROKEN for over {self.stuck_s:g} s: clear the line and turn the "
                                "emitter or receiver until they face each other (the receiver's LED lights up).")
                self._touch(now_s)
        elif self.broken is False and self.passes >= self.passes_needed and now_s - self._since_s >= self.settle_s:
            self._finish(now_s)
        return []

    def _reads_inverted(self) -> bool:
        """Stuck BROKEN at rest after short CLEAR spells that were shorter than its BROKEN spells: people
        passing made it read clear, so its levels are the wrong way round."""
        clear = sorted(self._clear_us)
        if len(clear) < 2 or clear[-1] > self.max_pass_us:
            return False
        held = sorted(self._broken_us)
        return not held or clear[len(clear) // 2] < held[len(held) // 2]

    def _on_fix(self, params: dict[str, Any], now_s: float) -> list[Command]:
        self._go(State.SAVING, now_s, "Flipping the beam's reading on the node…")
        return [Command("configure", {"invert": True})]

    def _saved(self, result: dict[str, Any], now_s: float) -> list[Command]:
        self.polarity_fixed = True
        level = result.get("broken_level")
        self.broken_level = level if level in ("low", "high") else None
        self.broken = None
        self._since_t_us = None
        self._watch(now_s)
        return []

    def _finish(self, now_s: float) -> None:
        params = {"broken_level": self.broken_level} if self.polarity_fixed and self.broken_level else {}
        report = {"passes": self.passes, "block_ms": self.block_ms, "flickers": self.flickers,
                  "dual_gap_ms": self.dual_gap_ms, "polarity_fixed": self.polarity_fixed}
        self.outcome = Outcome(self.kind, params, report)
        gap = f" Upper and lower beams broke {self.dual_gap_ms:.0f} ms apart at most." if self.dual_gap_ms is not None \
            else ""
        self._go(State.DONE, now_s, f"The beam is aligned: {self.passes} clean breaks." + gap, progress=1.0)

    def live(self) -> dict[str, Any]:
        return {"passes": self.passes, "passes_needed": self.passes_needed, "flickers": self.flickers,
                "beam": None if self.broken is None else ("broken" if self.broken else "clear"),
                "dual_gap_ms": self.dual_gap_ms}


WIZARDS: dict[str, type[Wizard]] = {"load_cell": LoadCellWizard, "encoder": EncoderWizard, "beam": BeamWizard,
                                    "dual_beam": BeamWizard}
"""Which wizard calibrates a sensor kind."""
