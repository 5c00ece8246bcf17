"""Compare what the hub stored with the ground truth, and the table ``make accuracy`` prints.

Errors per field: ``time`` from the µs fields (``finish_t_us − start_t_us`` against the true run time;
``start_t_us`` must be the GO signal), ``time_s``/``reaction_s``/``split_s`` from the rounded fields (ms,
allowed 1 ms + the 0.5 ms rounding), ``force``/``power`` in % of the physics (allowed 1 %): :data:`ISSUE_13`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tests.accuracy.truth import Expected

FIELDS_MS = ("time", "time_s", "reaction_s", "split_s")
FIELDS_PCT = ("peak_force_n", "mean_force_n", "peak_power_w", "counts_per_m", "scale_counts_per_n")


@dataclass(frozen=True)
class Limits:
    """How far a field may be off: µs fields (ms), fields rounded to the ms (ms), force/power/calibration (%)."""

    us_ms: float = 1.0
    rounded_ms: float = 1.5          # 1 ms + the 0.5 ms rounding
    pct: float = 1.0

    def of(self, name: str) -> float:
        if name in FIELDS_PCT:
            return self.pct
        return self.us_ms if name in ("start", "time") else self.rounded_ms


ISSUE_13 = Limits()
"""The limits of issue 13 (what ``make accuracy`` judges with)."""


@dataclass
class Outcome:
    """One run: what was expected, what the hub stored, and each field's error (ms or %)."""

    cycle: int
    station_id: str
    case: str
    perturbation: str
    expected: str
    got: str | None               # status stored, None when missing
    copies: int                   # results stored for the attempt (1 is right)
    errors: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)   # a field missing
    texts: dict[str, str] = field(default_factory=dict)   # the worst value of each field, for people

    @property
    def status_right(self) -> bool:
        return self.got == self.expected


def compare(out: Outcome, exp: Expected, row: dict[str, Any], go_us: int) -> None:
    """Fill ``out.errors`` and ``out.problems`` from a stored result ``row``."""
    if exp.status != "OK" or row.get("status") != "OK":
        return
    start, finish = row.get("start_t_us"), row.get("finish_t_us")
    if start is None or finish is None:
        out.problems.append(f"start_t_us/finish_t_us missing: {start}/{finish}")
    else:
        _err(out, "start", abs(start - go_us) / 1e3, f"start_t_us {start} vs GO signal {go_us}")
        _err(out, "time", abs((finish - start) - exp.time_us) / 1e3,
             f"finish_t_us-start_t_us {finish - start} vs {exp.time_us:.0f} µs")
    _rounded(out, "time_s", row.get("time_s"), exp.time_us)
    _rounded(out, "reaction_s", row.get("reaction_s"), exp.reaction_us)
    splits = row.get("splits_s") or []
    for k, truth in enumerate(exp.splits_us):
        _rounded(out, "split_s", splits[k] if k < len(splits) else None, truth)
    metrics = row.get("metrics") or {}
    for name, truth in exp.force.items():
        got = metrics.get(name)
        if got is None:
            out.problems.append(f"{name} missing")
            continue
        _err(out, name, abs(got - truth) / truth * 100, f"{name} {got} vs {truth:.1f}")


def _rounded(out: Outcome, name: str, got_s: float | None, truth_us: float | None) -> None:
    if got_s is None:
        out.problems.append(f"{name} missing (expected {truth_us / 1e6:.4f} s)")
        return
    _err(out, name, abs(got_s * 1e6 - truth_us) / 1e3, f"{name} {got_s} vs {truth_us / 1e6:.4f}")


def _err(out: Outcome, name: str, value: float, text: str) -> None:
    if value >= out.errors.get(name, -1.0):
        out.errors[name] = value
        out.texts[name] = f"{text} (error {value:.3f}{'%' if name in FIELDS_PCT else ' ms'})"


def problems_of(o: Outcome, limits: Limits = ISSUE_13) -> list[str]:
    """What is wrong with a run besides its status: missing fields and fields off by more than ``limits``."""
    return o.problems + [o.texts[n] for n, v in o.errors.items() if v > limits.of(n)]


def _p99(values: list[float]) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, math.ceil(0.99 * len(s)) - 1)]


def table(outcomes: list[Outcome]) -> str:
    """case | runs | statuses right | missing | doubled | max/p99 per field."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.case, o.perturbation), []).append(o)
    groups[("ALL", "all")] = list(outcomes)
    head = ["case", "perturbation", "runs", "status ok", "missing", "doubled"] + \
        [f"{f} ms max/p99" for f in FIELDS_MS] + [f"{f} % max/p99" for f in FIELDS_PCT]
    rows = [head]
    for (case, pert), items in sorted(groups.items(), key=lambda kv: (kv[0][0] == "ALL", kv[0])):
        row = [case, pert, str(len(items)), str(sum(o.status_right for o in items)),
               str(sum(o.got is None for o in items)), str(sum(o.copies > 1 for o in items))]
        for f in (*FIELDS_MS, *FIELDS_PCT):
            vals = [o.errors[f] for o in items if f in o.errors]
            row.append("-" if not vals else f"{max(vals):.3f}/{_p99(vals):.3f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def check_calibrations(results: dict[str, dict[str, Any]], plans) -> list[Outcome]:
    """One ``calibration`` outcome per sled: what the hub's wizards sent against the sensors as built
    (``tests.accuracy.node``): counts per metre and scale within 1 %, offset within 1 count, ``invert``
    exactly when the wheel is wired the other way round."""
    from tests.accuracy.node import ENCODER_TRUE_COUNTS_PER_M, LOAD_CELL_TRUE
    out = []
    for plan in plans:
        if plan.id not in results:
            continue
        wheel, force = results[plan.id]["wheel"], results[plan.id]["force"]
        node, enc = plan.roles["wheel"]
        reversed_wheel = bool(node.sensors[enc].wiring.get("reversed"))
        o = Outcome(-1, plan.id, "calibration", "setup", "DONE", "DONE", 1)
        _err(o, "counts_per_m", abs(wheel["counts_per_m"] - ENCODER_TRUE_COUNTS_PER_M) / ENCODER_TRUE_COUNTS_PER_M * 100,
             f"counts_per_m {wheel['counts_per_m']} vs {ENCODER_TRUE_COUNTS_PER_M}")
        if wheel["invert"] is not reversed_wheel:
            o.problems.append(f"invert {wheel['invert']} for a wheel wired {'reversed' if reversed_wheel else 'right'}")
        true_scale = LOAD_CELL_TRUE["scale_counts_per_n"]
        _err(o, "scale_counts_per_n", abs(force["scale_counts_per_n"] - true_scale) / true_scale * 100,
             f"scale_counts_per_n {force['scale_counts_per_n']} vs {true_scale}")
        if abs(force["offset_counts"] - LOAD_CELL_TRUE["offset_counts"]) > 1:
            o.problems.append(f"offset_counts {force['offset_counts']} vs {LOAD_CELL_TRUE['offset_counts']}")
        out.append(o)
    return out


def failed(outcomes: list[Outcome], limits: Limits = ISSUE_13) -> list[Outcome]:
    return [o for o in outcomes if not o.status_right or o.copies != 1 or problems_of(o, limits)]


def describe(o: Outcome, limits: Limits = ISSUE_13) -> str:
    return (f"heat {o.cycle} {o.station_id} {o.case} {o.perturbation}: expected {o.expected}, got {o.got} "
            f"x{o.copies}; {'; '.join(problems_of(o, limits))}")
