"""Calibration arithmetic, done on the hub from the raw counts every node sends (pure, no I/O).

Load cell (HX711 counts → newtons, the bridge's ``force_n = (counts - offset_counts) / scale_counts_per_n``):

- **tare**: ``offset_counts`` = the mean raw counts with nothing on the harness;
- **scale**: hang a known mass ``m``: ``scale_counts_per_n = (raw_mean - offset_counts) / (m × g)``
  with ``g`` = 9.80665 m/s² (standard gravity);
- **linearity**: hang a second mass ``m2``: the error is how far the force the new calibration reads
  is from ``m2 × g``, in percent of ``m2 × g``.

Encoder: pull the sled a measured distance toward the athlete;
``counts_per_m = |Δcounts| / distance_m`` with the raw counts of the telemetry samples, and
``invert = Δcounts < 0`` (positive positions must point toward the athlete).

Zero drift: with the station idle and nothing pulling, the force the load cell reads now is its drift
since the tare (``(raw_mean_now - offset_counts) / scale_counts_per_n``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

STANDARD_GRAVITY_M_S2 = 9.80665


class CalibrationError(ValueError):
    """The measurement cannot give a calibration; the message says what to do."""


@dataclass(frozen=True)
class SampleStats:
    """Mean, (population) standard deviation and range of a run of raw readings."""

    n: int
    mean: float
    std: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"n": self.n, "mean": round(self.mean, 3), "std": round(self.std, 3), "low": self.low,
                "high": self.high}


def sample_stats(values: Iterable[float]) -> SampleStats:
    """Statistics of ``values`` (at least one)."""
    data = [float(v) for v in values]
    if not data:
        raise CalibrationError("no readings: is the sensor sending?")
    mean = math.fsum(data) / len(data)
    var = math.fsum((v - mean) ** 2 for v in data) / len(data)
    return SampleStats(len(data), mean, math.sqrt(var), min(data), max(data))


def force_of_mass_n(mass_kg: float) -> float:
    """The weight of ``mass_kg`` hanging still, in newtons."""
    return mass_kg * STANDARD_GRAVITY_M_S2


def check_mass(mass_kg: object) -> float:
    """``mass_kg`` as a float in (0, 1000] kg, or CalibrationError."""
    if isinstance(mass_kg, bool) or not isinstance(mass_kg, (int, float)) or not math.isfinite(mass_kg):
        raise CalibrationError("enter the weight's mass in kg (a number)")
    if not 0 < mass_kg <= 1000:
        raise CalibrationError("the weight's mass must be more than 0 and at most 1000 kg")
    return float(mass_kg)


def scale_counts_per_n(raw_mean: float, offset_counts: float, mass_kg: float, *, min_counts: float = 50.0) -> float:
    """Counts per newton from one known mass; CalibrationError when the reading barely moved."""
    delta = raw_mean - offset_counts
    if abs(delta) < min_counts:
        raise CalibrationError(f"the reading changed by only {abs(delta):.0f} counts: is the weight hanging "
                               "from the load cell (and is it wired to E+/E-/A+/A-)?")
    return delta / force_of_mass_n(check_mass(mass_kg))


def force_n(raw: float, offset_counts: float, scale: float) -> float:
    """Newtons for ``raw`` counts under a calibration."""
    return (raw - offset_counts) / scale


def linearity_error_pct(raw_mean: float, offset_counts: float, scale: float, mass_kg: float) -> float:
    """How far (percent, signed) the calibration reads a second known mass from its true weight."""
    expected = force_of_mass_n(check_mass(mass_kg))
    return (force_n(raw_mean, offset_counts, scale) - expected) / expected * 100.0


def check_distance_m(distance_m: object) -> float:
    """``distance_m`` (a measured pull) as a float in [0.5, 100] m, or CalibrationError."""
    if isinstance(distance_m, bool) or not isinstance(distance_m, (int, float)) or not math.isfinite(distance_m):
        raise CalibrationError("enter the measured distance in metres (a number)")
    if not 0.5 <= distance_m <= 100:
        raise CalibrationError("pull at least 0.5 m (and at most 100 m) for a good measurement")
    return float(distance_m)


def wheel_counts_per_m(delta_counts: int, distance_m: float, *, min_counts: int = 20) -> tuple[float, bool]:
    """``(counts_per_m, invert)`` from a pull of ``distance_m`` toward the athlete that moved ``delta_counts``."""
    distance_m = check_distance_m(distance_m)
    if abs(delta_counts) < min_counts:
        raise CalibrationError(f"the wheel moved only {abs(delta_counts)} counts: does it touch the floor, "
                               "and are A and B wired?")
    return abs(delta_counts) / distance_m, delta_counts < 0


def zero_drift_n(raw_mean: float, offset_counts: float, scale: float) -> float:
    """The force read with no load: how far the zero has drifted since the tare (N)."""
    return force_n(raw_mean, offset_counts, scale)
