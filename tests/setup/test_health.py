"""Sensor health verdicts and the roles a station is missing (pure)."""

from __future__ import annotations

from dataclasses import replace

from server.setup.health import SensorFacts, Thresholds, missing_roles, sensor_health

CLOCK = {"offset_us": -1_700_000, "jitter_us": 800, "error_bound_us": 1500}
CELL = {"scale_counts_per_n": 1850.0, "offset_counts": 61234.0, "uncalibrated": False}
GOOD = SensorFacts("sled3", "force", "load_cell", node_state="online", last_seen_s_ago=0.1, online_for_s=60,
                   rate_hz=80, samples_per_s=79.5, gaps=0, seq_messages=5000, clock=CLOCK, calibration=CELL,
                   zero_drift_n=1.2)


def codes(f: SensorFacts, th: Thresholds = Thresholds()) -> list[str]:
    return [w["code"] for w in sensor_health(f, th)["warnings"]]


def test_a_healthy_load_cell():
    h = sensor_health(GOOD)
    assert h["status"] == "ok" and h["warnings"] == [] and h["online"] is True
    assert h["rate"] == {"expected_hz": 80, "measured_hz": 79.5, "ratio": 0.99}
    assert h["loss_pct"] == 0.0 and h["calibrated"] is True and h["zero_drift_n"] == 1.2
    assert h["clock"] == {"synced": True, "offset_ms": -1700.0, "jitter_ms": 0.8, "error_bound_ms": 1.5}


def test_offline_and_silent_nodes_are_errors_and_nothing_else_is_judged():
    h = sensor_health(replace(GOOD, node_state="offline", samples_per_s=0))
    assert h["status"] == "error" and [w["code"] for w in h["warnings"]] == ["node_offline"] and not h["online"]
    silent = sensor_health(replace(GOOD, last_seen_s_ago=6.5, samples_per_s=0))
    assert silent["state"] == "silent" and not silent["online"]
    assert silent["warnings"][0]["code"] == "node_offline" and "not answered for 6 s" in silent["warnings"][0]["message"]
    assert codes(replace(GOOD, node_state="unknown")) == ["node_offline"]
    assert codes(replace(GOOD, described=False)) == ["sensor_missing"]


def test_each_number_becomes_a_warning_past_its_threshold():
    assert codes(replace(GOOD, calibration={"scale_counts_per_n": None, "uncalibrated": True})) == ["uncalibrated"]
    assert codes(replace(GOOD, samples_per_s=60)) == ["low_rate"]
    assert codes(replace(GOOD, samples_per_s=60, online_for_s=3)) == []  # not judged right after connecting
    assert codes(replace(GOOD, gaps=120, seq_messages=5000)) == ["message_loss"]
    assert codes(replace(GOOD, gaps=2, seq_messages=20)) == []  # too few to judge
    assert codes(replace(GOOD, clock={})) == ["clock_unsynced"]
    assert codes(replace(GOOD, clock={}, online_for_s=5)) == []
    assert codes(replace(GOOD, clock={**CLOCK, "error_bound_us": 15_000})) == ["clock_error"]
    assert codes(replace(GOOD, clock={**CLOCK, "jitter_us": 80_000})) == []  # shown, not judged
    assert codes(replace(GOOD, zero_drift_n=-35.0)) == ["zero_drift"]
    assert codes(replace(GOOD, fault="saturated_high", fault_age_s=3)) == ["sensor_fault"]
    assert codes(replace(GOOD, fault="saturated_high", fault_age_s=300)) == []
    wheel = SensorFacts("sled3", "wheel", "encoder", node_state="online", last_seen_s_ago=0.2, online_for_s=60,
                        clock=CLOCK, calibration={"counts_per_m": 250, "invert": False}, encoder_errors=7,
                        encoder_errors_new=3)
    assert codes(wheel) == ["encoder_errors"]
    assert sensor_health(replace(wheel, encoder_errors_new=0))["status"] == "ok"
    assert codes(replace(GOOD, zero_drift_n=-35.0), Thresholds(drift_n_max=50)) == []


def test_missing_roles_of_sleds_lanes_and_shuttles():
    assert missing_roles("sled", {"distance_m": 10}, {"force"}) == ["wheel"]
    assert missing_roles("lane", {}, {"finish"}) == ["start"]
    assert missing_roles("lane", {"start_gate": False}, {"finish"}) == []
    assert missing_roles("lane", {"split_roles": ["split1", "split2"]}, {"start", "split1", "finish"}) == ["split2"]
    assert missing_roles("lane", {"shuttle_legs": 3}, {"start", "finish"}) == ["turn"]
