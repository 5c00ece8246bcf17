"""Which board the wall shows: one fixed board, or a rotation (the instructor's choice; pure).

Input (``POST /api/display/board``): ``{"board": "class"}``, ``{"board": "station", "station": "sled1"}``
or ``{"board": "rotate", "rotate_s": 12, "boards": [{"board": "class"}, ...]}`` (``boards`` optional:
the default rotation is class overall, each station today, PBs, records, most improved). A chain board
(a hub in a chain, ``server/boards/chain.py``) takes ``drill`` and ``period``:
``{"board": "chain", "drill": "sled:10 m", "period": "month"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from server.boards.chain import PERIODS
from server.boards.service import BOARDS
from server.fields import number_in

ROTATE_S_DEFAULT = 12.0
ROTATE_S_RANGE = (4.0, 600.0)
DRILL_MAX = 120
CHOICE_FIELDS = frozenset({"board", "station", "drill", "period"})


class SelectionError(ValueError):
    """A bad choice; ``errors`` lists each problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class BoardChoice:
    board: str
    station: str | None = None
    drill: str | None = None
    period: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.board == "chain":
            return {"board": self.board, "station": None, "drill": self.drill, "period": self.period}
        return {"board": self.board, "station": self.station}


@dataclass(frozen=True)
class Selection:
    """``boards`` None in rotate mode means the default rotation (it follows station changes)."""

    mode: str = "rotate"
    boards: tuple[BoardChoice, ...] | None = None
    rotate_s: float = ROTATE_S_DEFAULT

    def to_dict(self, default_rotation: list[dict[str, Any]]) -> dict[str, Any]:
        boards = default_rotation if self.boards is None else [c.to_dict() for c in self.boards]
        return {"mode": self.mode, "boards": boards, "rotate_s": self.rotate_s}


def _choice(data: Any, station_ids: set[str], where: str, errors: list[str]) -> BoardChoice | None:
    if not isinstance(data, dict):
        errors.append(f"{where}: expected an object like {{\"board\": \"class\"}}")
        return None
    unknown = sorted(set(data) - CHOICE_FIELDS)
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(unknown)}")
    board, station = data.get("board"), data.get("station")
    if board not in BOARDS:
        errors.append(f"{where}.board: one of {', '.join(BOARDS)}")
        return None
    if board == "chain":
        return _chain_choice(data, where, errors)
    if data.get("drill") is not None or data.get("period") is not None:
        errors.append(f"{where}: only board 'chain' takes a drill and a period")
    if board == "station":
        if station not in station_ids:
            errors.append(f"{where}.station: a station id ({', '.join(sorted(station_ids)) or 'none configured'})")
            return None
    elif station is not None:
        errors.append(f"{where}.station: only board 'station' takes a station")
    return BoardChoice(board, station if board == "station" else None)


def _chain_choice(data: dict[str, Any], where: str, errors: list[str]) -> BoardChoice | None:
    drill, period = data.get("drill"), data.get("period", "month")
    if data.get("station") is not None:
        errors.append(f"{where}.station: board 'chain' takes a drill, not a station")
    if drill is not None and (not isinstance(drill, str) or not 0 < len(drill) <= DRILL_MAX or ":" not in drill):
        errors.append(f"{where}.drill: a drill like \"sled:10 m\" (GET /api/chain/drills), or leave it out")
        return None
    if period not in PERIODS:
        errors.append(f"{where}.period: one of {', '.join(PERIODS)}")
        return None
    return BoardChoice("chain", None, drill, period)


def parse_selection(data: Any, station_ids: Iterable[str]) -> Selection:
    """Validate the instructor's choice; raises :class:`SelectionError` naming every problem."""
    ids = set(station_ids)
    errors: list[str] = []
    if not isinstance(data, dict):
        raise SelectionError(["expected a JSON object"])
    if data.get("board") != "rotate":
        if set(data) - CHOICE_FIELDS:
            errors.append(f"unknown field(s) {', '.join(sorted(set(data) - CHOICE_FIELDS))} "
                          "(rotate_s and boards go with board 'rotate')")
        choice = _choice(data, ids, "selection", errors)
        if errors or choice is None:
            raise SelectionError(errors or ["board: required"])
        return Selection("fixed", (choice,))
    unknown = sorted(set(data) - {"board", "rotate_s", "boards"})
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}")
    rotate_s = data.get("rotate_s", ROTATE_S_DEFAULT)
    lo, hi = ROTATE_S_RANGE
    if not number_in(rotate_s, lo, hi):
        errors.append(f"rotate_s: seconds per board, {lo:g}..{hi:g}")
    boards = data.get("boards")
    choices: tuple[BoardChoice, ...] | None = None
    if boards is not None:
        if not isinstance(boards, list) or not boards:
            errors.append("boards: a non-empty list of {\"board\", \"station\"?} objects")
        else:
            parsed = [_choice(item, ids, f"boards[{i}]", errors) for i, item in enumerate(boards)]
            choices = tuple(c for c in parsed if c is not None)
    if errors:
        raise SelectionError(errors)
    return Selection("rotate", choices, float(rotate_s))
