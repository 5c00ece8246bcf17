"""Sled metrics from the recorded samples of one pull: pure functions over plain lists.

Positions are encoder samples ``(t_us, x_m)``, one per decoded edge, so they are not equally spaced
in time. Velocity is a secant over at least ``window_us`` (Δx/Δt between sample ``k`` and the latest
sample at least the window before it), assigned to the midpoint of the two times: for a constant
acceleration the secant slope equals the velocity at that midpoint, so smoothing does not shift the
curve in time. Force samples (~80 Hz) are interpolated linearly to whatever instant is needed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Run:
    """The samples and bounds of one pull.

    ``pos_t``/``pos_x``: encoder samples (µs, m) including the rest sample before the start;
    ``f_t``/``f_n``: force samples (µs, N); ``start_us``/``end_us``: the timed window;
    ``p0_m``: rest position; ``finish_m``: absolute finish position when the pull finished, else None.
    """

    pos_t: list[int]
    pos_x: list[float]
    f_t: list[int]
    f_n: list[float]
    start_us: int
    end_us: int
    p0_m: float
    finish_m: float | None


def interp(ts: list[int] | list[float], vs: list[float], t: float) -> float | None:
    """Linear interpolation of ``vs`` over ``ts`` at ``t``, clamped at both ends; None without data."""
    n = len(ts)
    if n == 0:
        return None
    i = bisect_right(ts, t)
    if i == 0:
        return vs[0]
    if i >= n:
        return vs[-1]
    t0, t1 = ts[i - 1], ts[i]
    return vs[i - 1] + (vs[i] - vs[i - 1]) * (t - t0) / (t1 - t0)


def resample(ts: list[int] | list[float], vs: list[float], queries: list[float] | list[int]) -> list[float]:
    """``interp`` at every one of the *sorted* ``queries`` in one merge pass."""
    n = len(ts)
    if n == 0:
        return []
    out: list[float] = []
    t_first, t_last = ts[0], ts[-1]
    i = 0
    for q in queries:
        if q <= t_first:
            out.append(vs[0])
        elif q >= t_last:
            out.append(vs[-1])
        else:
            while ts[i + 1] < q:
                i += 1
            t0 = ts[i]
            out.append(vs[i] + (vs[i + 1] - vs[i]) * (q - t0) / (ts[i + 1] - t0))
    return out


def windowed_velocity(ts: list[int], xs: list[float], window_us: int) -> tuple[list[float], list[float]]:
    """Velocity (m/s) at secant midpoints (µs, float) over at least ``window_us`` per secant."""
    vt: list[float] = []
    vv: list[float] = []
    j = 0
    for k in range(1, len(ts)):
        tk = ts[k]
        while j + 1 < k and tk - ts[j + 1] >= window_us:
            j += 1
        dt = tk - ts[j]
        if dt > 0:
            vt.append((tk + ts[j]) / 2)
            vv.append((xs[k] - xs[j]) / dt * 1e6)
    return vt, vv


def trajectory(run: Run) -> tuple[list[int], list[float]]:
    """Encoder samples from the last one at/before the start to the end, the finish point exact."""
    i0 = max(0, bisect_right(run.pos_t, run.start_us) - 1)
    if run.finish_m is not None:
        i1 = min(len(run.pos_t) - 1, bisect_left(run.pos_t, run.end_us))
        ts, xs = run.pos_t[i0:i1 + 1], run.pos_x[i0:i1 + 1]
        ts[-1], xs[-1] = run.end_us, run.finish_m
        return ts, xs
    i1 = bisect_right(run.pos_t, run.end_us)
    return run.pos_t[i0:i1], run.pos_x[i0:i1]


def _force_stats(run: Run) -> dict[str, float | None]:
    a = bisect_left(run.f_t, run.start_us)
    b = bisect_right(run.f_t, run.end_us)
    window = run.f_n[a:b]
    if not window:
        return {"peak_force_n": None, "mean_force_n": None, "time_to_peak_force_s": None}
    k = max(range(len(window)), key=window.__getitem__)
    return {"peak_force_n": round(window[k], 1), "mean_force_n": round(sum(window) / len(window), 1),
            "time_to_peak_force_s": round((run.f_t[a + k] - run.start_us) / 1e6, 3)}


def _work_j(run: Run, ts: list[int], xs: list[float]) -> float | None:
    """∫F·dx by trapezoids over the encoder intervals (force interpolated to each sample time)."""
    if not run.f_t or len(ts) < 2:
        return None
    f = resample(run.f_t, run.f_n, [max(ts[0], run.start_us), *ts[1:]])
    work = 0.0
    for k in range(1, len(ts)):
        work += 0.5 * (f[k - 1] + f[k]) * (xs[k] - xs[k - 1])
    return round(work, 1)


def _curve(run: Run, vt: list[float], vv: list[float], points: int) -> dict[str, list[float]]:
    span = run.end_us - run.start_us
    times = [run.start_us + span * i / (points - 1) for i in range(points)] if span > 0 else [run.start_us]
    velocity = resample(vt, vv, times) if vt else [0.0] * len(times)
    return {"t_s": [round((t - run.start_us) / 1e6, 4) for t in times],
            "force_n": [round(f, 1) for f in resample(run.f_t, run.f_n, times)],
            "velocity_m_s": [round(v, 3) for v in velocity]}


def sled_metrics(run: Run, window_us: int, curve_points: int, sled_mass_kg: float | None
                 ) -> tuple[dict[str, float | None], dict[str, list[float]]]:
    """``(metrics, curve)`` of a pull; see :class:`server.engine.outputs.AttemptResult`."""
    ts, xs = trajectory(run)
    vt_all, vv_all = windowed_velocity(ts, xs, window_us)
    lo, hi = bisect_left(vt_all, run.start_us), bisect_right(vt_all, run.end_us)
    vt, vv = vt_all[lo:hi], vv_all[lo:hi]
    elapsed_s = (run.end_us - run.start_us) / 1e6
    distance_m = (xs[-1] - run.p0_m) if xs else 0.0
    metrics: dict[str, float | None] = _force_stats(run)
    metrics["distance_m"] = round(distance_m, 3)
    metrics["mean_velocity_m_s"] = round(distance_m / elapsed_s, 3) if elapsed_s > 0 else None
    metrics["peak_velocity_m_s"] = round(max(vv), 3) if vv else None
    if run.f_t and vv:
        f_at_v = resample(run.f_t, run.f_n, vt)
        metrics["peak_power_w"] = round(max(f * v for f, v in zip(f_at_v, vv)), 1)
    else:
        metrics["peak_power_w"] = None
    metrics["work_j"] = _work_j(run, ts, xs)
    metrics["sled_mass_kg"] = sled_mass_kg
    points = min(curve_points, max(2, len(ts)))
    return metrics, _curve(run, vt_all, vv_all, points)
