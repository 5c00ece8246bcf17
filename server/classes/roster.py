"""The roster: member fields, validation, and CSV import/export (pure: text in, rows out).

CSV columns (header row required, any order, case-insensitive): ``name`` (required), ``nickname``
(shown on the wall instead of the name; optional) and ``opt_out`` (``yes``/``no``, ``true``/``false``,
``1``/``0``, empty = no: keep the member off leaderboards). Import is all-or-nothing: any bad row
rejects the whole file with one message per row, ``"line 7: nickname: at most 24 characters"``.
Rows match existing members by name (case-insensitive) and update them; new names are created.

Export writes the same columns. A cell that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``) is written with a leading ``'``; import removes that quote again.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Iterable

from server.errors import InvalidInput

NAME_MAX = 80
NICKNAME_MAX = 24
"""Wall tiles have room for about 24 characters."""
MAX_ROWS = 2000
COLUMNS = ("name", "nickname", "opt_out")
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class MemberFields:
    """A member as entered: ``name`` is unique (case-insensitive) in the roster."""

    name: str
    nickname: str = ""
    opt_out: bool = False


def display_name(name: str, nickname: str) -> str:
    """What the wall shows: the nickname, or the name when there is none."""
    return nickname or name


def check_name(value: Any, where: str = "name") -> tuple[str, str | None]:
    text = value.strip() if isinstance(value, str) else None
    if not text:
        return "", f"{where}: required, a non-empty text"
    if len(text) > NAME_MAX:
        return "", f"{where}: at most {NAME_MAX} characters"
    return text, None


def check_nickname(value: Any, where: str = "nickname") -> tuple[str, str | None]:
    if value is None:
        return "", None
    if not isinstance(value, str):
        return "", f"{where}: expected a text"
    text = value.strip()
    if len(text) > NICKNAME_MAX:
        return "", f"{where}: at most {NICKNAME_MAX} characters"
    return text, None


def parse_member(data: Any, partial: bool = False) -> dict[str, Any]:
    """Validate a JSON member (``partial``: only the fields present, for PATCH); returns the fields."""
    if not isinstance(data, dict):
        raise InvalidInput("a member must be a JSON object", ["body: expected an object"])
    errors = [f"{k}: unknown field (known: name, nickname, opt_out)" for k in sorted(set(data) - set(COLUMNS))]
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        out["name"], err = check_name(data.get("name"))
        errors += [err] if err else []
    if "nickname" in data:
        out["nickname"], err = check_nickname(data["nickname"])
        errors += [err] if err else []
    if "opt_out" in data:
        if not isinstance(data["opt_out"], bool):
            errors.append("opt_out: expected true or false")
        out["opt_out"] = data["opt_out"]
    if errors:
        raise InvalidInput("invalid member: " + "; ".join(errors), errors)
    return out


def parse_csv(text: str) -> list[MemberFields]:
    """Parse a roster CSV; raises :class:`InvalidInput` with one error per bad line."""
    text = text.lstrip("\ufeff")  # spreadsheets like to start UTF-8 files with a BOM
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InvalidInput("the CSV file is empty", ["line 1: expected a header row: name,nickname,opt_out"])
    columns = [h.strip().lower() for h in header]
    problems = _header_problems(columns)
    if problems:
        raise InvalidInput("bad CSV header: " + "; ".join(problems), problems)
    rows, errors, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(rows) >= MAX_ROWS:
            errors.append(f"line {line}: more than {MAX_ROWS} members in one file")
            break
        cells = dict(zip(columns, row))
        member, row_errors = _row(cells, len(row) > len(columns), line)
        name = _unquote(cells.get("name", ""))
        if name:
            key = name.casefold()
            if key in seen:
                row_errors.append(f"line {line}: name: {name!r} is already on line {seen[key]}")
            seen.setdefault(key, line)
        errors += row_errors
        if member is not None and not row_errors:
            rows.append(member)
    if errors:
        raise InvalidInput(f"{len(errors)} problem(s) in the CSV file, nothing imported", errors)
    return rows


def _header_problems(columns: list[str]) -> list[str]:
    problems = [f"line 1: unknown column {c!r} (columns: name, nickname, opt_out)" for c in columns
                if c not in COLUMNS]
    problems += [f"line 1: column {c!r} appears twice" for c in sorted(set(columns)) if columns.count(c) > 1]
    if "name" not in columns:
        problems.append("line 1: the 'name' column is missing")
    return problems


def _row(cells: dict[str, str], too_long: bool, line: int) -> tuple[MemberFields | None, list[str]]:
    errors = [f"line {line}: more cells than header columns"] if too_long else []
    name, err = check_name(_unquote(cells.get("name", "")), f"line {line}: name")
    errors += [err] if err else []
    nickname, err = check_nickname(_unquote(cells.get("nickname", "")), f"line {line}: nickname")
    errors += [err] if err else []
    flag = cells.get("opt_out", "").strip().lower()
    if flag not in _TRUE | _FALSE:
        errors.append(f"line {line}: opt_out: expected yes or no, got {cells.get('opt_out')!r}")
    if errors:
        return None, errors
    return MemberFields(name, nickname, flag in _TRUE), []


def _unquote(cell: str) -> str:
    cell = cell.strip()
    if cell.startswith("'") and cell[1:2] in _FORMULA_START:
        return cell[1:]
    return cell


def safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ gets a quote so it is not run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(members: Iterable[MemberFields]) -> str:
    """The roster as CSV text (header + one row per member, ``opt_out`` as yes/no)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for m in members:
        writer.writerow([safe_cell(m.name), safe_cell(m.nickname), "yes" if m.opt_out else "no"])
    return out.getvalue()
