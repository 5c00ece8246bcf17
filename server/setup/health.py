"""Sensor health and the warnings an instructor sees before a class (pure: facts in, verdicts out).

Per sensor: online/offline (the node's retained status and Last Will, or silence: no answer to the hub's
clock pings for ``silent_after_s``), last seen, samples per second
against the rate its descriptor promises, sequence gaps of its node (loss %), the node's clock offset and
jitter, a load cell's zero drift since its tare (measured while its station is idle), encoder errors and
sensor faults. Per station: roles without a sensor. Every finding is a :class:`Finding` with a level
(``error``: the station cannot time correctly; ``warning``: it can, but check it) and a sentence
for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLE_LABELS = {"force": "load cell", "wheel": "wheel encoder", "start": "start gate", "finish": "finish gate",
               "turn": "turn gate"}
KIND_LABELS = {"load_cell": "load cell", "encoder": "wheel encoder", "beam": "beam gate", "dual_beam": "dual-beam gate"}


def role_label(role: str) -> str:
    if role.startswith("split") and role[5:].isdigit():
        return f"split {role[5:]} gate"
    return ROLE_LABELS.get(role, role)


@dataclass(frozen=True)
class Thresholds:
    """When a number becomes a warning. Defaults suit a LAN with Pi Zero nodes."""

    rate_ratio_min: float = 0.8          # samples/s delivered below this share of the promised rate
    rate_settle_s: float = 6.0           # ... judged only after the node has been online this long
    loss_pct_max: float = 1.0            # sequence gaps above this % of the node's evt/tel messages
    loss_min_messages: int = 100         # ... judged only once this many were expected
    clock_sync_grace_s: float = 10.0     # online this long without a clock answer: unsynced
    clock_error_us_max: int = 10_000     # the offset in use may be off by more than this (half its round trip);
    #                                      its jitter (spread of recent offsets) is shown, not judged: the
    #                                      hub uses the least-delayed answer, so a jittery link still syncs well
    drift_n_max: float = 20.0            # a load cell reading this far from zero with no load (N)
    encoder_errors_window_s: float = 300.0  # new impossible quadrature transitions within this (s)
    fault_recent_s: float = 30.0         # a sensor fault event within this (s)
    silent_after_s: float = 6.0          # an "online" node that answered nothing for this long is offline (s):
    #                                      the hub pings every online node's clock (2 s by default), so 3 pings


@dataclass(frozen=True)
class Finding:
    level: str            # "error" | "warning"
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class SensorFacts:
    """What the hub knows of one sensor right now (assembled by the service)."""

    node_id: str
    sensor_id: str
    kind: str                                # sensor kind from the descriptor ("" if not described)
    node_state: str = "unknown"              # online | offline | unknown
    described: bool = True                   # the node's descriptor lists this sensor
    last_seen_s_ago: float | None = None
    online_for_s: float | None = None        # since the node's last status online
    rate_hz: float | None = None             # promised by the descriptor
    samples_per_s: float = 0.0               # delivered (last few seconds)
    gaps: int = 0                            # the node's sequence gaps
    seq_messages: int = 0                    # the node's evt/tel messages received
    clock: dict[str, Any] = field(default_factory=dict)   # ClockSync.describe(node)
    calibration: dict[str, Any] = field(default_factory=dict)  # from the descriptor
    zero_drift_n: float | None = None        # measured with the station idle, None if not measurable
    encoder_errors: int | None = None        # the node's counter (since boot)
    encoder_errors_new: int = 0              # ... increase within the window
    fault: str | None = None
    fault_age_s: float | None = None


def calibrated(kind: str, calibration: dict[str, Any]) -> bool | None:
    """Load cells: has a scale; encoders: has counts_per_m; None for kinds without a calibration."""
    if kind == "load_cell":
        return bool(calibration.get("scale_counts_per_n")) and not calibration.get("uncalibrated", False)
    if kind == "encoder":
        return bool(calibration.get("counts_per_m"))
    return None


def loss_pct(gaps: int, received: int) -> float | None:
    total = gaps + received
    return None if total == 0 else 100.0 * gaps / total


def _clock(f: SensorFacts) -> dict[str, Any]:
    def ms(key: str) -> float | None:
        v = f.clock.get(key)
        return None if v is None else round(v / 1000, 2)
    return {"synced": f.clock.get("offset_us") is not None, "offset_ms": ms("offset_us"),
            "jitter_ms": ms("jitter_us"), "error_bound_ms": ms("error_bound_us")}


def sensor_health(f: SensorFacts, th: Thresholds = Thresholds()) -> dict[str, Any]:
    """Numbers and warnings of one sensor (JSON-ready)."""
    warnings = _sensor_warnings(f, th)
    ratio = None
    if f.rate_hz:
        ratio = round(f.samples_per_s / f.rate_hz, 2)
    loss = loss_pct(f.gaps, f.seq_messages)
    levels = {w.level for w in warnings}
    return {
        "status": "error" if "error" in levels else "warning" if warnings else "ok",
        "online": node_state(f, th) == "online", "state": node_state(f, th), "last_seen_s_ago": f.last_seen_s_ago,
        "rate": {"expected_hz": f.rate_hz, "measured_hz": round(f.samples_per_s, 1), "ratio": ratio},
        "loss_pct": None if loss is None else round(loss, 2), "gaps": f.gaps, "clock": _clock(f),
        "calibrated": calibrated(f.kind, f.calibration),
        "zero_drift_n": None if f.zero_drift_n is None else round(f.zero_drift_n, 1),
        "encoder_errors": f.encoder_errors, "fault": f.fault,
        "warnings": [w.to_dict() for w in warnings],
    }


def effective_state(state: str, quiet_s: float | None, th: Thresholds) -> str:
    """A node's registry ``state`` (``online``, ``offline`` by its status or Last Will, ``unknown``), or
    ``silent`` (counts as offline) when it is online by its last status but has not answered for
    ``silent_after_s`` (``quiet_s``: seconds since it was last heard): gone, its Last Will follows
    ~1.5 × its keepalive after the link died."""
    return "silent" if state == "online" and quiet_s is not None and quiet_s > th.silent_after_s else state


def silent(f: SensorFacts, th: Thresholds) -> bool:
    return node_state(f, th) == "silent"


def node_state(f: SensorFacts, th: Thresholds) -> str:
    return effective_state(f.node_state, f.last_seen_s_ago, th)


def _sensor_warnings(f: SensorFacts, th: Thresholds) -> list[Finding]:
    if f.node_state != "online":
        state = "offline" if f.node_state == "offline" else "not connected yet"
        return [Finding("error", "node_offline", f"its node '{f.node_id}' is {state}")]
    if silent(f, th):
        return [Finding("error", "node_offline", f"its node '{f.node_id}' has not answered for "
                                                 f"{f.last_seen_s_ago:.0f} s (switched off, or out of Wi-Fi range?)")]
    if not f.described:
        return [Finding("error", "sensor_missing", f"node '{f.node_id}' no longer has a sensor '{f.sensor_id}'")]
    out: list[Finding] = []
    if calibrated(f.kind, f.calibration) is False:
        out.append(Finding("error", "uncalibrated", "not calibrated yet (run the calibration on /setup)"))
    if f.fault is not None and f.fault_age_s is not None and f.fault_age_s <= th.fault_recent_s:
        out.append(Finding("error", "sensor_fault", f"reported a fault: {f.fault.replace('_', ' ')}"))
    settled = f.online_for_s is not None and f.online_for_s >= th.rate_settle_s
    if f.rate_hz and settled and f.samples_per_s < th.rate_ratio_min * f.rate_hz:
        out.append(Finding("warning", "low_rate", f"delivers {f.samples_per_s:.0f} readings/s of the "
                                                  f"{f.rate_hz:g} it should"))
    loss = loss_pct(f.gaps, f.seq_messages)
    if loss is not None and f.gaps + f.seq_messages >= th.loss_min_messages and loss > th.loss_pct_max:
        out.append(Finding("warning", "message_loss", f"{loss:.1f} % of its node's messages were lost "
                                                      "(weak Wi-Fi?)"))
    out += _clock_warnings(f, th)
    if f.zero_drift_n is not None and abs(f.zero_drift_n) > th.drift_n_max:
        out.append(Finding("warning", "zero_drift", f"reads {f.zero_drift_n:+.0f} N with no load: zero it again "
                                                    "(Re-zero on /setup)"))
    if f.kind == "encoder" and f.encoder_errors_new > 0:
        out.append(Finding("warning", "encoder_errors", f"{f.encoder_errors_new} encoder errors in the last "
                                                        f"{th.encoder_errors_window_s / 60:.0f} min: check the "
                                                        "wheel's cable and connector"))
    return out


def _clock_warnings(f: SensorFacts, th: Thresholds) -> list[Finding]:
    if f.clock.get("offset_us") is None:
        if f.online_for_s is not None and f.online_for_s >= th.clock_sync_grace_s:
            return [Finding("warning", "clock_unsynced", f"node '{f.node_id}' has not answered a clock check: "
                                                         "times may be off by the network delay")]
        return []
    bound = f.clock.get("error_bound_us")
    if bound is not None and bound > th.clock_error_us_max:
        return [Finding("warning", "clock_error", f"its times may be off by up to {bound / 1000:.0f} ms "
                                                  "(slow or busy network to its node)")]
    return []


REQUIRED_ROLES = {"sled": ("force", "wheel"), "lane": ("finish",)}


def missing_roles(kind: str, config: dict[str, Any], bound: set[str]) -> list[str]:
    """Roles a station needs and has no sensor for: sled force and wheel; lane finish, its splits, the
    start gate (unless ``start_gate`` is false) and the turn gate of a shuttle."""
    need = list(REQUIRED_ROLES.get(kind, ()))
    if kind == "lane":
        if config.get("start_gate", True):
            need.insert(0, "start")
        need += [r for r in config.get("split_roles", ()) if r not in need]
        if int(config.get("shuttle_legs", 1) or 1) > 1:
            need.append("turn")
    return [r for r in need if r not in bound]
