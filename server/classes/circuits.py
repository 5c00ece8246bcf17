"""Circuit templates: which stations a class uses, with what parameters, in what intervals.

A circuit is a list of *circuit stations*. Each is a sled pull or a shuffle lane set: one or more
stations of the store (``station_ids``, all of the same kind) used side by side, so a lane set of four
lanes runs four members at once. Each carries the parameters the timing engine uses for it
(``distance_m``, ``start_mode``, ``time_cap_s``, ``false_start_policy``; names and values as in
``server.engine``).

Intervals (one shared clock for the whole class, see :mod:`server.classes.session`):

- ``work_s`` (default **20 s**): one effort. Beginners' backward intervals are 15–30 s; 20 s covers a
  10–20 m reverse pull or a 20–30 m backward shuffle with margin. The WORK interval is
  ``countdown_s + work_s`` long and ends early once every station has its result.
- ``rest_s`` (default **20 s**): the transition after an effort, while the next members step up (and,
  after the last heat of a round, while pods walk to their next station).
- ``countdown_s`` (default **3 s**): GO command to GO signal, as the stations' countdown.
- ``rounds`` (default: one per circuit station, so every pod visits every station once): in each
  round every pod stands at one circuit station; pods move on one station per round.
- ``auto_go`` (default **true**): after a transition the next heat starts by itself; when false the
  class waits in READY for the instructor's GO.
- ``pods`` (default **null** = one pod per circuit station): how many groups the members are dealt
  into. Fewer pods than stations leaves stations free each round; more pods than stations puts two
  pods at one station, taking turns (more heats).
- ``rotation`` (default **"forward"**) and ``rotation_step`` (default **1**): after each round every
  pod moves ``rotation_step`` stations on in circuit order ("forward": station 1 → 2) or back
  ("backward": station 2 → 1). A step sharing a factor with the number of stations (2 of 4) would
  bring pods back to a station they used before every station is visited, so it is refused when the
  class has rounds enough to notice.

A member runs ``rounds`` efforts in total (more when a pod is larger than its station's lanes: the
pod then needs several heats at that station). 30 members at 4 stations with 2 rounds of 20/20 s take
about 2 x 4 x 43 s ≈ 6 min with four single stations of pods of 7–8, or less with lane sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import gcd
from typing import Any, Mapping

from server.engine.enums import LANE_MODES, SLED_MODES, FalseStartPolicy, StartMode
from server.errors import InvalidInput
from server.fields import clean_text, number_in

DEFAULT_WORK_S = 20.0
DEFAULT_REST_S = 20.0
DEFAULT_COUNTDOWN_S = 3.0
DEFAULT_DISTANCE_M = {"sled": 15.0, "lane": 20.0}
"""Default distances: a 15 m reverse pull, a 20 m backward shuffle."""

LIMITS = {
    "work_s": (5.0, 120.0), "rest_s": (0.0, 600.0), "countdown_s": (0.0, 10.0),
    "distance_m": (1.0, 100.0), "time_cap_s": (1.0, 120.0),
}
MAX_ROUNDS = 20
MAX_STATIONS = 12
MAX_PODS = 24
ROTATIONS = ("forward", "backward")
MAX_LANES = 8
NAME_MAX = 60
NOTES_MAX = 500

KIND_MODES = {"sled": SLED_MODES, "lane": LANE_MODES}
DRILL_WORDS = {"sled": "Reverse sled pull", "lane": "Backward shuffle"}
"""A circuit station's drill as a coach says it; an unnamed station is called this and its stations'
names ("Backward shuffle · Lane 1 + Lane 2")."""
MODE_WORDS = {
    StartMode.GO_COUNTDOWN.value: "GO with countdown", StartMode.REACTION_RANDOM.value: "random-delay reaction start",
    StartMode.HOLD_IN_BEAM.value: "hold in the start beam", StartMode.FLY_THROUGH.value: "fly-through start",
    StartMode.FIRST_MOVEMENT.value: "time from first movement",
}
"""Start modes as a coach says them (the builder shows these; messages name them)."""
POLICY_WORDS = {FalseStartPolicy.VOID_REARM.value: "void it and go again",
                FalseStartPolicy.WARN_KEEP.value: "warn and keep timing"}
"""False-start policies as a coach says them."""


@dataclass(frozen=True)
class CircuitStation:
    """One stop of the circuit: a sled pull or a lane set (``station_ids`` side by side)."""

    name: str
    kind: str                               # "sled" | "lane"
    station_ids: tuple[str, ...]            # store stations used together (capacity = their number)
    distance_m: float
    start_mode: str = StartMode.GO_COUNTDOWN.value
    time_cap_s: float = DEFAULT_WORK_S      # DNF after this long (s); at most work_s
    false_start_policy: str = FalseStartPolicy.VOID_REARM.value

    @property
    def capacity(self) -> int:
        return len(self.station_ids)

    def params(self) -> dict[str, Any]:
        """The engine parameters this circuit sets on each of its stations (a lane's length comes from
        its gates, so ``distance_m`` of a lane set is for people only)."""
        out = {"start_mode": self.start_mode, "time_cap_s": self.time_cap_s,
               "false_start_policy": self.false_start_policy}
        return {"distance_m": self.distance_m, **out} if self.kind == "sled" else out


@dataclass(frozen=True)
class Circuit:
    """A saved, reusable class template."""

    name: str
    stations: tuple[CircuitStation, ...]
    rounds: int
    work_s: float = DEFAULT_WORK_S
    rest_s: float = DEFAULT_REST_S
    countdown_s: float = DEFAULT_COUNTDOWN_S
    auto_go: bool = True
    notes: str = ""
    pods: int | None = None                 # None: one pod per circuit station
    rotation: str = "forward"               # "forward" | "backward": which way pods move each round
    rotation_step: int = 1                  # stations moved per round
    station_params: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        params = {sid: {**cs.params(), "countdown_s": self.countdown_s} for cs in self.stations for sid in cs.station_ids}
        object.__setattr__(self, "station_params", params)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("station_params")
        for st in data["stations"]:
            st["station_ids"] = list(st["station_ids"])
        return data

    @property
    def pod_count(self) -> int:
        """How many pods the members are dealt into."""
        return self.pods or len(self.stations)

    @property
    def rotation_move(self) -> int:
        """Circuit stations a pod moves each round: positive forward, negative backward."""
        return self.rotation_step if self.rotation == "forward" else -self.rotation_step

    def circuit_station_of(self, station_id: str) -> CircuitStation | None:
        return next((cs for cs in self.stations if station_id in cs.station_ids), None)


def parse_circuit(data: Any, station_kinds: Mapping[str, str],
                  station_names: Mapping[str, str] | None = None) -> Circuit:
    """Validate a circuit given as JSON data; ``station_kinds`` maps existing station ids to their kind,
    ``station_names`` (optional) to the names the gym gave them, which the messages use.

    Raises :class:`InvalidInput` listing every problem as ``"<field path>: <what a coach should do>"``
    ("stations[1].time_cap_s: the time cap (30 s) is longer than work (20 s) ..."): the path tells a
    page which field to show it next to, the rest is for people.
    """
    names = station_names or {}
    errors: list[str] = []
    if not isinstance(data, dict):
        raise InvalidInput("a circuit must be a JSON object", ["body: expected an object"])
    _unknown_keys(data, {"name", "stations", "rounds", "work_s", "rest_s", "countdown_s", "auto_go", "notes",
                         "pods", "rotation", "rotation_step"}, "", errors)
    name = _text(data.get("name"), "name", NAME_MAX, errors)
    work_s = _number(data.get("work_s", DEFAULT_WORK_S), "work_s", "work", "s", errors)
    rest_s = _number(data.get("rest_s", DEFAULT_REST_S), "rest_s", "rest", "s", errors)
    countdown_s = _number(data.get("countdown_s", DEFAULT_COUNTDOWN_S), "countdown_s", "the countdown", "s", errors)
    auto_go = data.get("auto_go", True)
    if not isinstance(auto_go, bool):
        errors.append("auto_go: choose whether the next heat starts by itself (true or false)")
    notes = data.get("notes", "")
    if not isinstance(notes, str) or len(notes) > NOTES_MAX:
        errors.append(f"notes: keep the notes to {NOTES_MAX} characters")
    stations = _stations(data.get("stations"), station_kinds, names, work_s, errors)
    rounds = data.get("rounds", len(stations) or 1)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= MAX_ROUNDS:
        errors.append(f"rounds: rounds must be a whole number from 1 to {MAX_ROUNDS} (got {rounds!r})")
    pods, rotation, step = _pods_and_rotation(data, len(stations), rounds, errors)
    if errors:
        raise InvalidInput("invalid circuit: " + "; ".join(errors), errors)
    return Circuit(name=name, stations=tuple(stations), rounds=rounds, work_s=work_s, rest_s=rest_s,
                   countdown_s=countdown_s, auto_go=auto_go, notes=notes, pods=pods, rotation=rotation,
                   rotation_step=step)


def _pods_and_rotation(data: dict, station_count: int, rounds: Any, errors: list[str]) -> tuple[int | None, str, int]:
    """``pods`` (None: one per station), ``rotation`` and ``rotation_step``, with messages a coach reads."""
    pods = data.get("pods")
    if pods is not None and (isinstance(pods, bool) or not isinstance(pods, int) or not 1 <= pods <= MAX_PODS):
        errors.append(f"pods: split the class into 1 to {MAX_PODS} pods, or one pod per station (got {pods!r})")
        pods = None
    rotation = data.get("rotation", "forward")
    if rotation not in ROTATIONS:
        errors.append(f"rotation: pods move 'forward' (station 1 to 2) or 'backward' (station 2 to 1), not {rotation!r}")
        rotation = "forward"
    step = data.get("rotation_step", 1)
    most = max(station_count - 1, 1)
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= most:
        errors.append(f"rotation_step: with {station_count} station{'s' if station_count != 1 else ''} pods move "
                      + ("1 station a round" if most == 1 else f"1 to {most} stations a round") + f" (got {step!r})")
        return pods, rotation, 1
    if station_count > 1 and isinstance(rounds, int) and not isinstance(rounds, bool):
        visits = station_count // gcd(step, station_count)
        if visits < station_count and rounds > visits:
            errors.append(f"rotation_step: moving {step} of {station_count} stations a round, each pod is back where it "
                          f"started after {visits} rounds without visiting every station: move "
                          + " or ".join(str(k) for k in range(1, station_count) if gcd(k, station_count) == 1)
                          + f" station(s) a round, or keep to {visits} rounds")
    return pods, rotation, step


def _stations(raw: Any, station_kinds: Mapping[str, str], names: Mapping[str, str], work_s: float | None,
              errors: list[str]) -> list[CircuitStation]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STATIONS:
        errors.append(f"stations: a circuit needs 1 to {MAX_STATIONS} stations")
        return []
    out, used = [], {}
    for i, item in enumerate(raw):
        where = f"stations[{i}]"
        station = _station(item, where, station_kinds, names, work_s, errors)
        ids = item.get("station_ids") if isinstance(item, dict) else None
        for sid in dict.fromkeys(ids) if isinstance(ids, list) and all(isinstance(x, str) for x in ids) else ():
            if sid in used:
                errors.append(f"{where}.station_ids: {names.get(sid, sid)} is already used by station {used[sid] + 1}"
                              " of this circuit (each sled or lane can be in one station only)")
            used.setdefault(sid, i)
        if station is not None:
            out.append(station)
    return out


def _station(item: Any, where: str, station_kinds: Mapping[str, str], names: Mapping[str, str],
             work_s: float | None, errors: list[str]) -> CircuitStation | None:
    if not isinstance(item, dict):
        errors.append(f"{where}: expected an object")
        return None
    before = len(errors)
    _unknown_keys(item, {"name", "kind", "station_ids", "distance_m", "start_mode", "time_cap_s",
                         "false_start_policy"}, where + ".", errors)
    kind = item.get("kind")
    if kind not in KIND_MODES:
        errors.append(f"{where}.kind: choose a sled pull ('sled') or a shuffle lane ('lane'), not {kind!r}")
        return None
    ids = item.get("station_ids")
    if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_LANES or not all(isinstance(s, str) for s in ids)
            or len(set(ids)) != len(ids)):
        errors.append(f"{where}.station_ids: pick 1 to {MAX_LANES} {kind}s for this station")
        ids = []
    for sid in ids:
        if sid not in station_kinds:
            errors.append(f"{where}.station_ids: no station {sid!r} (add it on the setup page first)")
        elif station_kinds[sid] != kind:
            errors.append(f"{where}.station_ids: {names.get(sid, sid)} is a {station_kinds[sid]}, not a {kind}")
    default_name = f"{DRILL_WORDS[kind]} · {' + '.join(names.get(sid, sid) for sid in ids)}"[:NAME_MAX]
    name = _text(item.get("name", default_name), where + ".name", NAME_MAX, errors)
    distance_m = _number(item.get("distance_m", DEFAULT_DISTANCE_M[kind]), where + ".distance_m", "the distance",
                         "m", errors, limit="distance_m")
    cap_default = min(work_s, LIMITS["time_cap_s"][1]) if work_s else DEFAULT_WORK_S
    time_cap_s = _number(item.get("time_cap_s", cap_default), where + ".time_cap_s", "the time cap", "s", errors,
                         limit="time_cap_s")
    if time_cap_s is not None and work_s is not None and time_cap_s > work_s:
        errors.append(f"{where}.time_cap_s: the time cap ({time_cap_s:g} s) is longer than work ({work_s:g} s): "
                      f"make it {work_s:g} s or less, or lengthen work")
    start_mode = item.get("start_mode", StartMode.GO_COUNTDOWN.value)
    modes = sorted(m.value for m in KIND_MODES[kind])
    if start_mode not in modes:
        can = ", ".join(MODE_WORDS[m] for m in modes)
        errors.append(f"{where}.start_mode: {MODE_WORDS.get(start_mode, repr(start_mode))} does not work on a {kind}"
                      f" (a {kind} can use: {can})")
    policy = item.get("false_start_policy", FalseStartPolicy.VOID_REARM.value)
    policies = sorted(p.value for p in FalseStartPolicy)
    if policy not in policies:
        errors.append(f"{where}.false_start_policy: {policy!r} is not a false-start rule (choose "
                      + " or ".join(f"{p} = {POLICY_WORDS[p]}" for p in policies) + ")")
    if len(errors) > before:
        return None
    return CircuitStation(name=name, kind=kind, station_ids=tuple(ids), distance_m=distance_m,
                          start_mode=start_mode, time_cap_s=time_cap_s, false_start_policy=policy)


def copy_name(name: str, taken: set[str]) -> str:
    """The name of a copy of circuit ``name``: "Name (copy)", "Name (copy 2)", … whichever is not in
    ``taken`` (case-folded names), cut to fit :data:`NAME_MAX`.

    >>> copy_name("Tue 6 am", {"tue 6 am", "tue 6 am (copy)"})
    'Tue 6 am (copy 2)'
    """
    n = 1
    while True:
        tail = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[:NAME_MAX - len(tail)].rstrip() + tail
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def circuit_from_dict(data: dict[str, Any]) -> Circuit:
    """Rebuild a stored (already validated) circuit."""
    stations = tuple(CircuitStation(**{**s, "station_ids": tuple(s["station_ids"])}) for s in data["stations"])
    return Circuit(**{**data, "stations": stations})


def _unknown_keys(data: dict, known: set[str], where: str, errors: list[str]) -> None:
    for key in sorted(set(data) - known):
        errors.append(f"{where}{key}: unknown field (known: {', '.join(sorted(known))})")


def _text(value: Any, where: str, max_len: int, errors: list[str]) -> str:
    text = clean_text(value, max_len)
    if text is None:
        errors.append(f"{where}: give it a name (1 to {max_len} characters)")
        return ""
    return text


def _number(value: Any, where: str, what: str, unit: str, errors: list[str], limit: str | None = None) -> float | None:
    """``value`` as a float when it is a number within ``LIMITS``; else a message naming ``what`` in ``unit``."""
    lo, hi = LIMITS[limit or where]
    if not number_in(value, lo, hi):
        got = f"{value:g} {unit}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
        errors.append(f"{where}: {what} must be {lo:g} to {hi:g} {unit} (got {got})")
        return None
    return float(value)
