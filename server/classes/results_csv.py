"""A class's results as CSV for the gym's records (pure): one row per result, oldest first.

Columns (``RESULT_COLUMNS``): ``finished_at`` (UTC, ISO 8601), ``station`` (the gym's name for it),
``athlete`` (as shown that day), ``status`` (OK, DNF, DQ, FALSE_START, ABORTED, RERUN), ``reason``
(why, e.g. ``time_cap``), ``time_s`` (s, 3 decimals; empty without a time), ``reaction_s`` (s),
``distance_m`` (m), ``peak_force_n`` (N), ``peak_power_w`` (W), ``corrected`` (the correction's kind
and reason, empty if none). Cells a spreadsheet would run as a formula are quoted
(:func:`~server.classes.roster.safe_cell`).

>>> print(results_csv([{"finished_at": 0, "station_id": "sled1", "athlete": "=Ava", "status": "OK",
...     "reason": "finished", "time_s": 7.5, "reaction_s": None, "metrics": {"peak_force_n": 310.2},
...     "correction": {"kind": "edit_time", "reason": "timing error"}}], {"sled1": "Sled 1"}), end="")
finished_at,station,athlete,status,reason,time_s,reaction_s,distance_m,peak_force_n,peak_power_w,corrected\r
1970-01-01T00:00:00Z,Sled 1,'=Ava,OK,finished,7.500,,,310.2,,edit_time: timing error\r
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any, Iterable, Mapping

from server.classes.roster import safe_cell

RESULT_COLUMNS = ("finished_at", "station", "athlete", "status", "reason", "time_s", "reaction_s", "distance_m",
                  "peak_force_n", "peak_power_w", "corrected")


def results_csv(results: Iterable[Mapping[str, Any]], station_names: Mapping[str, str]) -> str:
    """``results`` (result dicts as the API gives them) as CSV text, oldest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESULT_COLUMNS)
    for r in sorted(results, key=lambda r: r.get("finished_at") or 0):
        metrics = r.get("metrics") or {}
        fix = r.get("correction") or {}
        writer.writerow([
            datetime.fromtimestamp(r.get("finished_at") or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            safe_cell(station_names.get(r["station_id"], r["station_id"])), safe_cell(r.get("athlete") or ""),
            r.get("status", ""), safe_cell(r.get("reason") or ""), _num(r.get("time_s"), 3), _num(r.get("reaction_s"), 3),
            _num(metrics.get("distance_m"), 2), _num(metrics.get("peak_force_n"), 1), _num(metrics.get("peak_power_w"), 1),
            safe_cell(f"{fix['kind']}: {fix.get('reason', '')}" if fix else ""),
        ])
    return out.getvalue()


def _num(value: Any, places: int) -> str:
    return "" if value is None or isinstance(value, bool) else f"{float(value):.{places}f}"
